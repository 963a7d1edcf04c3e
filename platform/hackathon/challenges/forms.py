"""Organizer forms: author a challenge in the browser, or upload a bundle zip."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile

from grader.contract import DEFAULT_ALLOWED_IMPORTS
from hackathon.challenges.bundle import ALL_METRICS, DEFAULTS, MODULE_RE, RANGES, TASKS
from hackathon.challenges.data import GENERATORS, SKLEARN_LOADERS

DATA_CHOICES = [
    ("keep", "Keep the current data"),
    ("csv", "CSV upload (name the target column)"),
    ("npz", "NPZ upload (arrays X and y)"),
    ("generator", "scikit-learn generator"),
    ("semisynthetic", "Semi-synthetic data fitted to a scikit-learn dataset (labels secret)"),
    ("sklearn", "scikit-learn bundled dataset (classic: its labels are public)"),
]


# Which data sources each source-specific field belongs to: the page shows only the fields of
# the chosen source (static/challenges/authoring.js; without scripts every field shows).
SOURCE_FIELDS = {
    "data_file": "csv npz",
    "target_column": "csv",
    "generator": "generator semisynthetic sklearn",
    "generator_params": "generator semisynthetic sklearn",
}


def _bounds(name: str) -> dict[str, Any]:
    """A number field's initial value and bounds: the spec's own (bundle.RANGES, DEFAULTS)."""
    low, high = RANGES[name]
    bounds: dict[str, Any] = {"min_value": low, "max_value": high}
    if name in DEFAULTS:
        bounds["initial"] = DEFAULTS[name]
    return bounds


class DateTimeLocalInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self) -> None:
        super().__init__(format="%Y-%m-%dT%H:%M")


def _split_words(text: str) -> list[str]:
    return [w for w in re.split(r"[\s,]+", text or "") if w]


class MultilineField(forms.CharField):
    """Text from a textarea with Unix line ends: browsers send CRLF, files keep LF."""

    def to_python(self, value: object) -> str:
        text = super().to_python(value)
        return text.replace("\r\n", "\n").replace("\r", "\n")


class ChallengeForm(forms.Form):
    slug = forms.SlugField(max_length=60, help_text="Part of the URL; cannot change later.")
    title = forms.CharField(max_length=120)
    summary = forms.CharField(max_length=300, required=False)
    description_md = MultilineField(
        label="Description (Markdown)", widget=forms.Textarea(attrs={"rows": 12}), required=False
    )
    task = forms.ChoiceField(choices=[(t, t) for t in TASKS])
    metric = forms.ChoiceField(
        choices=[(m, m) for m in ALL_METRICS], help_text="The ranked metric."
    )
    extra_metrics = forms.CharField(required=False, help_text="Shown beside it, comma separated.")

    data_source = forms.ChoiceField(choices=DATA_CHOICES, initial="csv")
    data_file = forms.FileField(required=False, help_text="CSV with a header row, or NPZ.")
    target_column = forms.CharField(max_length=100, required=False)
    generator = forms.ChoiceField(
        choices=[("", "—")] + [(g, g) for g in sorted(GENERATORS | SKLEARN_LOADERS)], required=False
    )
    generator_params = MultilineField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="TOML, one per line, e.g. n_samples = 2000",
    )

    test_fraction = forms.FloatField(**_bounds("test_fraction"))
    public_fraction = forms.FloatField(**_bounds("public_fraction"))
    seed = forms.IntegerField(**_bounds("seed"))

    time_limit_s = forms.FloatField(**_bounds("time_limit_s"), label="Time limit (s)")
    memory_mb = forms.IntegerField(**_bounds("memory_mb"), label="Memory (MB)")
    daily_quota = forms.IntegerField(**_bounds("daily_quota"))
    total_quota = forms.IntegerField(required=False, **_bounds("total_quota"))
    inflight_cap = forms.IntegerField(**_bounds("inflight_cap"))
    max_final = forms.IntegerField(**_bounds("max_final"))
    display_precision = forms.IntegerField(
        required=False,
        **_bounds("display_precision"),
        help_text="Significant digits of published scores; scores equal at this precision tie.",
    )
    best_plausible = forms.FloatField(
        required=False,
        help_text="A score no honest solution reaches (e.g. the noise floor); better ones are "
        "flagged for review.",
    )
    allowed_imports = forms.CharField(
        initial=", ".join(DEFAULT_ALLOWED_IMPORTS), widget=forms.Textarea(attrs={"rows": 2})
    )

    gradient_descent_only = forms.BooleanField(
        required=False,
        initial=True,
        label="Gradient descent only",
        help_text="Refuse numpy's closed-form solvers and decompositions (lstsq, solve, inv, "
        "pinv, svd, qr, eig*, cholesky, polyfit, numpy.polynomial) and require a loss_curve_.",
    )
    min_loss_curve_points = forms.IntegerField(
        **_bounds("min_loss_curve_points"),
        required=False,
        label="Minimum loss curve points",
        help_text="Under the gradient-descent-only rule: loss_curve_ needs at least this many values.",
    )

    start_at = forms.DateTimeField(required=False, widget=DateTimeLocalInput(), help_text="UTC")
    end_at = forms.DateTimeField(required=False, widget=DateTimeLocalInput(), help_text="UTC")
    freeze_at = forms.DateTimeField(
        required=False, widget=DateTimeLocalInput(), help_text="UTC; the public board stops moving"
    )

    starter_code = MultilineField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 10, "class": "code"}),
        help_text="Empty: a generic gradient-descent starter for the task.",
    )
    baseline_code = MultilineField(
        required=False, widget=forms.Textarea(attrs={"rows": 6, "class": "code"})
    )
    published = forms.BooleanField(required=False)
    allow_resplit = forms.BooleanField(
        required=False,
        help_text="Allow a data or split change on a challenge with scored submissions (they are rejudged).",
    )

    def __init__(self, *args: Any, editing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.editing = editing
        for name, sources in SOURCE_FIELDS.items():
            self.fields[name].show_for = sources  # type: ignore[attr-defined]
        if editing:
            self.fields["slug"].disabled = True
        else:
            self.fields["data_source"].choices = DATA_CHOICES[1:]

    def clean_extra_metrics(self) -> list[str]:
        return _split_words(self.cleaned_data["extra_metrics"])

    def clean_allowed_imports(self) -> list[str]:
        names = _split_words(self.cleaned_data["allowed_imports"])
        for name in names:
            if not MODULE_RE.match(name):
                raise forms.ValidationError(f"{name!r} is not a module name")
        return names

    def clean_data_file(self) -> UploadedFile | None:
        upload = self.cleaned_data.get("data_file")
        if upload and upload.size > settings.BUNDLE_MAX_BYTES:
            raise forms.ValidationError(
                f"file of {upload.size} bytes is over the limit of {settings.BUNDLE_MAX_BYTES} bytes"
            )
        return upload

    def clean(self) -> dict:
        data = super().clean()
        source = data.get("data_source")
        if source in ("csv", "npz") and not data.get("data_file"):
            self.add_error("data_file", f"Upload a {source.upper()} file for this data source.")
        if source == "csv" and not (data.get("target_column") or "").strip():
            self.add_error("target_column", "Name the target column of the CSV.")
        if source in ("generator", "semisynthetic", "sklearn") and not data.get("generator"):
            self.add_error("generator", "Choose a generator or dataset.")
        return data


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
