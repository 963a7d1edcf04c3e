"""The organizer's authoring form as a challenge.toml document: its inputs are the schema's
fields (`schema.FIELDS`, `schema.WORKLOAD_FIELDS`, by `Field.input_name`) plus the data
source, the texts and the upload, and the document is read by the schema like any bundle's
(`forms.ChallengeForm` calls these). Then the preview of a spec's split, saving nothing."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

import numpy as np
import tomli_w

from hackathon.challenges import data as data_module
from hackathon.challenges.schema import FIELDS, WORKLOAD_FIELDS, build_spec, read_document
from hackathon.challenges.services import build_spec_split
from hackathon.challenges.spec import ChallengeSpec
from hackathon.challenges.starters import default_starter

FORM = "form"
SPEC_INPUTS = {f.input_name: f for f in (*FIELDS, *WORKLOAD_FIELDS)}
# The inputs of `[data]` keys (the form names them after what the organizer does).
DATA_INPUTS = {
    "data.source": "data_source",
    "data.file": "data_file",
    "data.target": "target_column",
    "data.name": "generator",
    "data.params": "generator_params",
}
TEXT_INPUTS = ("description_md", "starter_code", "baseline_code")
INPUT_FOR_KEY = {
    **{f.key: name for name, f in SPEC_INPUTS.items()},
    **DATA_INPUTS,
    "description.md": "description_md",
    "starter/solution.py": "starter_code",
    "baseline/solution.py": "baseline_code",
}


class InputError(ValueError):
    """An input the form cannot turn into a document value (an upload that is missing,
    parameters that are not TOML); `input` names it."""

    def __init__(self, input_name: str, message: str) -> None:
        super().__init__(message)
        self.input = input_name


def input_for_key(key: str) -> str | None:
    """The form input of a challenge.toml key (`limits.memory_mb` -> `memory_mb`), also of a
    list item (`imports.allowed[1]`) or a key inside a table (`data.params.noise`)."""
    key = re.sub(r"\[\d+\]$", "", key)
    while key:
        if key in INPUT_FOR_KEY:
            return INPUT_FOR_KEY[key]
        key = key.rpartition(".")[0]
    return None


def _upload_name(name: str, kind: str) -> str:
    """A safe file name for the bundle, from the name the browser sent."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", PurePosixPath(name.replace("\\", "/")).name).strip(".-")
    return stem if stem.lower().endswith(f".{kind}") else f"{stem or 'data'}.{kind}"


def _given(value: Any) -> bool:
    """An input left empty says nothing: the schema's default (or its "missing") applies."""
    return value is not None and value != "" and value != [] and value != ()


def document_from_inputs(
    values: Mapping[str, Any],
    *,
    upload: bytes | None = None,
    upload_name: str = "",
    existing: ChallengeSpec | None = None,
) -> tuple[dict[str, Any], dict[str, bytes]]:
    """The challenge.toml document of the form's inputs (only those shown for the chosen
    track and data source) and the data files it names. Raises `InputError`."""
    document: dict[str, Any] = {}
    for name, value in values.items():
        field = SPEC_INPUTS.get(name)
        if field is not None and _given(value):
            table = document.setdefault(field.table, {}) if field.table else document
            table[field.part] = list(value) if isinstance(value, tuple) else value
    document["data"], data_files = _data_table(values, upload, upload_name, existing)
    return document, data_files


def _data_table(
    values: Mapping[str, Any],
    upload: bytes | None,
    upload_name: str,
    existing: ChallengeSpec | None,
) -> tuple[dict[str, Any], dict[str, bytes]]:
    kind = values.get("data_source") or ""
    if kind == "keep" and existing is not None:
        return existing.data.as_toml(), dict(existing.data_files)
    table: dict[str, Any] = {"source": kind} if kind else {}
    if kind in ("csv", "npz"):
        if upload is None:
            raise InputError("data_file", f"Upload a {kind.upper()} file for this data source.")
        table["file"] = f"data/{_upload_name(upload_name, kind)}"
        if _given(values.get("target_column")):
            table["target"] = values["target_column"].strip()
        return table, {table["file"]: upload}
    if _given(values.get("generator")):
        table["name"] = values["generator"]
    try:
        table["params"] = tomllib.loads(values.get("generator_params") or "")
    except tomllib.TOMLDecodeError as exc:
        raise InputError(
            "generator_params", f"expected TOML lines such as n_samples = 2000 ({exc})"
        ) from None
    return table, {}


def spec_from_form(
    document: Mapping[str, Any], *, texts: Mapping[str, str], data_files: Mapping[str, bytes]
) -> ChallengeSpec:
    """The spec of the form's document, read by the schema as a bundle's challenge.toml is;
    raises `schema.SpecInvalid` naming the keys. An empty starter gets the generic one."""
    values = read_document(document, file=FORM)
    starter = (texts.get("starter_code") or "").strip()
    return build_spec(
        values,
        description_md=texts.get("description_md") or "",
        starter_code=starter + "\n"
        if starter
        else default_starter(values["task"], values["track"]),
        baseline_code=texts.get("baseline_code") or "",
        data_files=data_files,
    )


def initial_from_spec(spec: ChallengeSpec) -> dict[str, Any]:
    """The form's inputs for editing `spec`: its data is kept unless a new source is chosen."""
    initial: dict[str, Any] = {f.input_name: getattr(spec, f.input_name) for f in FIELDS}
    initial.update({f.input_name: spec.workload.get(f.part) for f in WORKLOAD_FIELDS})
    initial.update({name: getattr(spec, name) for name in TEXT_INPUTS})
    initial.update(
        data_source="keep",
        target_column=spec.data.target,
        generator=spec.data.name,
        generator_params=tomli_w.dumps(dict(spec.data.params)).strip(),
    )
    return initial


@dataclass
class Preview:
    n_rows: int
    n_train: int
    n_public: int
    n_private: int
    n_features: int
    feature_names: list[str]
    target_name: str
    sample: list[list[str]]  # training rows: features then target, as short numbers
    class_counts: dict[int, int] | None


def preview_spec(spec: ChallengeSpec, *, rows: int = 10) -> Preview:
    """Split sizes and a sample of training rows, computed without storing anything."""
    dataset, split = build_spec_split(spec, origin="")
    sample = [
        [*x, t]
        for x, t in zip(split.train_X[:rows].tolist(), split.train_y[:rows].tolist(), strict=True)
    ]
    counts = None
    if dataset.n_classes:
        counts = {
            int(c): int(n)
            for c, n in zip(*np.unique(split.train_y, return_counts=True), strict=True)
        }
    return Preview(
        n_rows=len(dataset.y),
        n_train=len(split.train_y),
        n_public=split.n_public,
        n_private=len(split.test_y) - split.n_public,
        n_features=dataset.X.shape[1],
        feature_names=dataset.feature_names,
        target_name=dataset.target_name,
        sample=sample,
        class_counts=counts,
    )


def preview_challenge(challenge: Any, *, rows: int = 10) -> Preview:
    """The same preview for a stored challenge, read from its training blobs only."""
    X = data_module.npy_load(bytes(challenge.train_X.data))
    y = data_module.npy_load(bytes(challenge.train_y.data))
    n_public = int(data_module.npy_load(bytes(challenge.public_mask.data)).sum())
    counts = None
    if challenge.n_classes:
        counts = {int(c): int(n) for c, n in zip(*np.unique(y, return_counts=True), strict=True)}
    return Preview(
        n_rows=challenge.n_train + challenge.n_test,
        n_train=challenge.n_train,
        n_public=n_public,
        n_private=challenge.n_test - n_public,
        n_features=challenge.n_features,
        feature_names=list(challenge.feature_names),
        target_name=challenge.target_name,
        sample=_sample(X[:rows], y[:rows]),
        class_counts=counts,
    )


def _sample(X: np.ndarray, y: np.ndarray) -> list[list[str]]:
    return [[f"{v:.6g}" for v in [*x, t]] for x, t in zip(X.tolist(), y.tolist(), strict=True)]
