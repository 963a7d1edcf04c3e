"""Forms of the submission pages: the file or pasted code, and organizer actions."""

from __future__ import annotations

from django import forms
from django.conf import settings

from grader.notebook import is_notebook
from hackathon.submissions.models import RefusalReason


class SubmitForm(forms.Form):
    file = forms.FileField(
        required=False,
        label="Upload solution.py or a notebook",
        help_text=(
            "One UTF-8 Python file defining class Model with fit and predict, or a Jupyter "
            "notebook (.ipynb) whose code cells do."
        ),
        widget=forms.ClearableFileInput(
            attrs={"accept": ".py,.ipynb,text/x-python,text/plain,application/x-ipynb+json"}
        ),
    )
    code = forms.CharField(
        required=False,
        label="…or paste the code",
        widget=forms.Textarea(attrs={"rows": 16, "spellcheck": "false", "class": "code-input"}),
    )

    def clean(self) -> dict:
        data = super().clean()
        upload = data.get("file")
        code = data.get("code") or ""
        if upload and code.strip():
            raise forms.ValidationError(
                "Upload a file or paste code, not both.", code="invalid_upload"
            )
        if upload:
            limit = (
                settings.NOTEBOOK_MAX_BYTES
                if is_notebook(upload.name or "")
                else settings.SUBMISSION_MAX_BYTES
            )
            if upload.size > limit:
                raise forms.ValidationError(
                    f"{upload.name} is {upload.size:,} bytes; the limit is {limit:,} bytes.",
                    code="too_large",
                )
            raw = upload.read()
            try:
                data["source"] = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise forms.ValidationError(
                    f"{upload.name} is not UTF-8 text (byte {exc.start} is not valid UTF-8).",
                    code="not_text",
                ) from None
            data["filename"] = upload.name
        elif code.strip():
            data["source"] = code.replace("\r\n", "\n")
            data["filename"] = "solution.py"
        else:
            raise forms.ValidationError("Upload solution.py or paste its code.", code="empty")
        return data


def refusal_reason(form: SubmitForm) -> str:
    """The room view's reason for an invalid submit form (models.RefusalReason)."""
    codes = [error.code for errors in form.errors.as_data().values() for error in errors]
    known = [c for c in codes if c in RefusalReason.values]
    return known[0] if known else RefusalReason.INVALID_UPLOAD


class DisqualifyForm(forms.Form):
    reason = forms.CharField(
        max_length=300,
        label="Reason (the team sees it)",
        widget=forms.TextInput(attrs={"placeholder": "e.g. hard-coded test labels"}),
    )
