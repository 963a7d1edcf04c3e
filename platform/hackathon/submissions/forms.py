"""Forms of the submission pages: the file or pasted code, and organizer actions."""

from __future__ import annotations

from django import forms
from django.conf import settings


class SubmitForm(forms.Form):
    file = forms.FileField(
        required=False,
        label="Upload solution.py",
        help_text="One UTF-8 Python file defining class Model with fit and predict.",
        widget=forms.ClearableFileInput(attrs={"accept": ".py,text/x-python,text/plain"}),
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
            raise forms.ValidationError("Upload a file or paste code, not both.")
        if upload:
            if upload.size > settings.SUBMISSION_MAX_BYTES:
                raise forms.ValidationError(
                    f"{upload.name} is {upload.size:,} bytes; the limit is "
                    f"{settings.SUBMISSION_MAX_BYTES:,} bytes."
                )
            raw = upload.read()
            try:
                data["source"] = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise forms.ValidationError(
                    f"{upload.name} is not UTF-8 text (byte {exc.start} is not valid UTF-8)."
                ) from None
            data["filename"] = upload.name
        elif code.strip():
            data["source"] = code.replace("\r\n", "\n")
            data["filename"] = "solution.py"
        else:
            raise forms.ValidationError("Upload solution.py or paste its code.")
        return data


class DisqualifyForm(forms.Form):
    reason = forms.CharField(
        max_length=300,
        label="Reason (the team sees it)",
        widget=forms.TextInput(attrs={"placeholder": "e.g. hard-coded test labels"}),
    )
