"""Organizer forms: author a challenge in the browser, or upload a bundle zip.

The authoring form's inputs for challenge.toml's keys are made from the schema's fields
(`schema.FIELDS`, `schema.WORKLOAD_FIELDS`): type, bounds, default, choices and help come
from there, and the form checks none of the spec's rules itself. It parses what a browser
sends (text into numbers, lists, dates, TOML parameters), turns it into a challenge.toml
document (`authoring.document_from_inputs`) and, when the schema refuses it, puts each
error under the input of its key.
"""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile

from hackathon.challenges.authoring import (
    SPEC_INPUTS,
    InputError,
    document_from_inputs,
    input_for_key,
)
from hackathon.challenges.errors import ChallengeDataError
from hackathon.challenges.schema import DATA_FIELDS, WORKLOAD_FIELDS, Field, SpecInvalid
from hackathon.challenges.schema_kinds import Choice, Flag, Names, Number, When, Whole, Widths
from hackathon.challenges.spec import ChallengeSpec

DATA_CHOICES = [
    ("keep", "Keep the current data"),
    ("csv", "CSV upload (name the target column)"),
    ("npz", "NPZ upload (arrays X and y)"),
    ("generator", "scikit-learn generator"),
    ("semisynthetic", "Semi-synthetic data fitted to a scikit-learn dataset (labels secret)"),
    ("sklearn", "scikit-learn bundled dataset (classic: its labels are public)"),
]

# Inputs that apply to one track or data source: the page shows only those of the choice
# made (static/challenges/authoring.js; without scripts every input shows), and the others
# are left out of the document.
MODEL_TRACK = ("track", "model")
SHOW_WHEN: dict[str, tuple[str, str]] = {
    "metric": MODEL_TRACK,
    "extra_metrics": MODEL_TRACK,
    "gradient_descent_only": MODEL_TRACK,
    "min_loss_curve_points": MODEL_TRACK,
    "data_file": ("data_source", "csv npz"),
    "target_column": ("data_source", "csv"),
    "generator": ("data_source", "generator semisynthetic sklearn"),
    "generator_params": ("data_source", "generator semisynthetic sklearn"),
    **{f.input_name: ("track", "optimizer") for f in WORKLOAD_FIELDS},
}


class DateTimeLocalInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self) -> None:
        super().__init__(format="%Y-%m-%dT%H:%M")


class MultilineField(forms.CharField):
    """Text from a textarea with Unix line ends: browsers send CRLF, files keep LF."""

    def to_python(self, value: object) -> str:
        text = super().to_python(value)
        return text.replace("\r\n", "\n").replace("\r", "\n")


class WordsField(forms.CharField):
    """A list typed as words separated by commas or spaces; whole numbers become numbers
    (layer widths). Whether the words are valid is the schema's to say."""

    def to_python(self, value: object) -> list[Any]:
        words = [w for w in re.split(r"[\s,]+", super().to_python(value)) if w]
        return [int(w) if re.fullmatch(r"-?\d+", w) else w for w in words]

    def prepare_value(self, value: Any) -> Any:
        return ", ".join(map(str, value)) if isinstance(value, list | tuple) else value


class SchemaChoiceField(forms.ChoiceField):
    """A select of the schema's choices; a value outside them is the schema's to refuse."""

    def validate(self, value: Any) -> None:
        pass


def schema_input(field: Field) -> forms.Field:
    """The form input of a challenge.toml field: never required and with no range check of
    its own (an empty input means the default; the schema names what is wrong), bounds as
    the browser's min and max."""
    kind = field.kind
    common: dict[str, Any] = {"required": False, "help_text": field.help, "initial": field.initial}
    if field.label:
        common["label"] = field.label
    if isinstance(kind, Number | Whole):
        attrs = {} if kind.low is None else {"min": kind.low, "max": kind.high}
        made: forms.Field = (forms.IntegerField if isinstance(kind, Whole) else forms.FloatField)(
            **common
        )
        made.widget.attrs.update(attrs)
        return made
    if isinstance(kind, Flag):
        return forms.BooleanField(**common)
    if isinstance(kind, Choice):
        blank = [] if field.default is not None else [("", "—")]
        return SchemaChoiceField(choices=blank + kind.options(), **common)
    if isinstance(kind, Names):
        return WordsField(widget=forms.Textarea(attrs={"rows": 2}), **common)
    if isinstance(kind, Widths):
        return WordsField(**common)
    if isinstance(kind, When):
        return forms.DateTimeField(widget=DateTimeLocalInput(), **common)
    text = forms.CharField(**common)
    if max_length := getattr(kind, "max_length", None):
        text.widget.attrs["maxlength"] = max_length
    return text


def _spec_inputs(*names: str) -> dict[str, forms.Field]:
    return {name: schema_input(SPEC_INPUTS[name]) for name in names}


class ChallengeForm(forms.Form):
    """The authoring form; `existing` is the spec of the challenge being edited."""

    def __init__(self, *args: Any, existing: ChallengeSpec | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.existing = existing
        self.document: dict[str, Any] = {}
        self.data_files: dict[str, bytes] = {}
        self.fields.update(self._layout())
        for name, (control, values) in SHOW_WHEN.items():
            self.fields[name].show_when = (control, values)  # type: ignore[attr-defined]
        if existing is not None:
            self.fields["slug"].disabled = True
        else:
            self.fields["data_source"].choices = DATA_CHOICES[1:]

    def _layout(self) -> dict[str, forms.Field]:
        return {
            **_spec_inputs("slug", "title", "summary"),
            "description_md": MultilineField(
                label="Description (Markdown)",
                widget=forms.Textarea(attrs={"rows": 12}),
                required=False,
            ),
            **_spec_inputs("task", "track", "metric", "extra_metrics"),
            "data_source": forms.ChoiceField(choices=DATA_CHOICES, initial="csv"),
            "data_file": forms.FileField(
                required=False, help_text="CSV with a header row, or NPZ."
            ),
            "target_column": forms.CharField(
                required=False, widget=forms.TextInput(attrs={"maxlength": 100})
            ),
            "generator": schema_input(DATA_FIELDS["name"]),
            "generator_params": MultilineField(
                required=False,
                widget=forms.Textarea(attrs={"rows": 3}),
                help_text="TOML, one per line, e.g. n_samples = 2000",
            ),
            **_spec_inputs(*(f.input_name for f in WORKLOAD_FIELDS)),
            **_spec_inputs(
                "test_fraction",
                "public_fraction",
                "seed",
                "time_limit_s",
                "memory_mb",
                "daily_quota",
                "total_quota",
                "inflight_cap",
                "max_final",
                "display_precision",
                "best_plausible",
                "allowed_imports",
                "gradient_descent_only",
                "min_loss_curve_points",
                "start_at",
                "end_at",
                "freeze_at",
            ),
            "starter_code": MultilineField(
                required=False,
                widget=forms.Textarea(attrs={"rows": 10, "class": "code"}),
                help_text="Empty: a generic gradient-descent starter for the task (an "
                "Optimizer on the optimizer track).",
            ),
            "baseline_code": MultilineField(
                required=False, widget=forms.Textarea(attrs={"rows": 6, "class": "code"})
            ),
            **_spec_inputs("published"),
            "allow_resplit": forms.BooleanField(
                required=False,
                help_text="Allow a data or split change on a challenge with scored submissions "
                "(they are rejudged).",
            ),
        }

    def shown(self, name: str) -> bool:
        """Whether input `name` applies to the track and data source chosen."""
        control, values = SHOW_WHEN.get(name, ("", ""))
        if not control:
            return True
        chosen = self.cleaned_data.get(control) or self.fields[control].initial  # its default
        return chosen in values.split()

    def clean_data_file(self) -> UploadedFile | None:
        upload = self.cleaned_data.get("data_file")
        if upload and upload.size > settings.BUNDLE_MAX_BYTES:
            raise forms.ValidationError(
                f"file of {upload.size} bytes is over the limit of {settings.BUNDLE_MAX_BYTES} bytes"
            )
        return upload

    def clean(self) -> dict:
        data = super().clean()
        if self.errors:
            return data
        upload = data.get("data_file") if self.shown("data_file") else None
        try:
            self.document, self.data_files = document_from_inputs(
                {name: value for name, value in data.items() if self.shown(name)},
                upload=upload.read() if upload else None,
                upload_name=upload.name if upload else "",
                existing=self.existing,
            )
        except InputError as exc:
            self.add_error(exc.input, str(exc))
        return data

    @property
    def texts(self) -> dict[str, str]:
        return {
            k: self.cleaned_data.get(k) or ""
            for k in ("description_md", "starter_code", "baseline_code")
        }

    def add_spec_errors(self, error: ChallengeDataError) -> None:
        """Each error of the spec under the input of its key (on top when none shows it)."""
        for each in error.errors if isinstance(error, SpecInvalid) else [error]:
            name = input_for_key(each.field) if each.field else None
            if name in self.fields and self.shown(name):
                self.add_error(name, f"{each.field}: {each.detail}")
            else:
                self.add_error(None, str(each))


class BundleUploadForm(forms.Form):
    bundle = forms.FileField(
        help_text="A zip of a bundle folder (challenge.toml at its top or in one folder)."
    )
    allow_resplit = forms.BooleanField(required=False)

    def clean_bundle(self) -> UploadedFile:
        upload = self.cleaned_data["bundle"]
        if upload.size > settings.BUNDLE_MAX_BYTES:
            raise forms.ValidationError(
                f"file of {upload.size} bytes is over the limit of {settings.BUNDLE_MAX_BYTES} bytes"
            )
        return upload
