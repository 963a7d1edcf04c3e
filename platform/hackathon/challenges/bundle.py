"""The challenge bundle: `challenges/<slug>/` with challenge.toml, description.md,
starter/solution.py, baseline/solution.py and optional data files.

Plain Python (no Django) so the participant CLI can read bundles too. A bundle is first
read into memory as `{relative path: bytes}` (from a folder or, safely, from a zip: see
`archive.py`), then parsed; nothing touches the database or the disk while parsing. What
challenge.toml may say, and every rule on it, is `schema.py`'s; this module reads and
writes the files around it.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path

import tomli_w

from hackathon.challenges.errors import BundleError
from hackathon.challenges.schema import build_spec, document_from_spec, read_document
from hackathon.challenges.spec import ChallengeSpec

TOML = "challenge.toml"
DESCRIPTION = "description.md"
STARTER = "starter/solution.py"
BASELINE = "baseline/solution.py"

BUNDLE_MAX_FILE_BYTES = 200 * 1024 * 1024


# --- reading a folder ------------------------------------------------------------------


def read_bundle_dir(
    path: Path, *, max_total_bytes: int = BUNDLE_MAX_FILE_BYTES
) -> dict[str, bytes]:
    """Every regular file of a bundle folder, by relative POSIX path. Symlinks are refused."""
    path = Path(path)
    if not (path / TOML).is_file():
        raise BundleError(str(path / TOML), "expected a challenge.toml in the bundle folder")
    files: dict[str, bytes] = {}
    total = 0
    for item in sorted(path.rglob("*")):
        rel = item.relative_to(path).as_posix()
        if "__pycache__" in rel.split("/") or any(p.startswith(".") for p in rel.split("/")):
            continue
        if item.is_symlink():
            raise BundleError(str(item), "symbolic links are not allowed in a bundle")
        if not item.is_file():
            continue
        total += item.stat().st_size
        if total > max_total_bytes:
            raise BundleError(str(path), f"bundle larger than {max_total_bytes} bytes")
        files[rel] = item.read_bytes()
    return files


def load_bundle_dir(path: Path) -> ChallengeSpec:
    path = Path(path)
    return parse_bundle(read_bundle_dir(path), origin=str(path))


def find_bundles(root: Path) -> list[Path]:
    """`root` itself when it is a bundle, else its direct sub-folders that hold a challenge.toml."""
    root = Path(root)
    if (root / TOML).is_file():
        return [root]
    return sorted(p for p in root.iterdir() if p.is_dir() and (p / TOML).is_file())


# --- parsing ----------------------------------------------------------------------------


def _decode(files: Mapping[str, bytes], name: str, origin: str) -> str:
    try:
        return files[name].decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BundleError(
            f"{origin}/{name}", f"expected UTF-8 text ({exc.reason} at byte {exc.start})"
        ) from None


def _toml_document(files: Mapping[str, bytes], origin: str) -> dict:
    name = f"{origin}/{TOML}"
    if TOML not in files:
        raise BundleError(name, "missing; expected the bundle's challenge.toml at its top level")
    try:
        return tomllib.loads(_decode(files, TOML, origin))
    except tomllib.TOMLDecodeError as exc:
        raise BundleError(name, f"expected valid TOML ({exc})") from None


def parse_bundle(files: Mapping[str, bytes], *, origin: str = "bundle") -> ChallengeSpec:
    """Parse and validate a bundle held in memory. Raises `BundleError` naming the file, or
    `schema.SpecInvalid` naming every bad key of challenge.toml."""
    document = _toml_document(files, origin)
    for required in (DESCRIPTION, STARTER):
        if required not in files:
            raise BundleError(f"{origin}/{required}", "missing; every bundle needs this file")
    values = read_document(document, file=f"{origin}/{TOML}")
    data_file = values["data"].file
    if data_file and data_file not in files:
        raise BundleError(
            f"{origin}/{data_file}", "missing; expected the data file named in data.file"
        )
    return build_spec(
        values,
        description_md=_decode(files, DESCRIPTION, origin),
        starter_code=_decode(files, STARTER, origin),
        baseline_code=_decode(files, BASELINE, origin) if BASELINE in files else "",
        data_files=files,
    )


# --- writing ------------------------------------------------------------------------------


def spec_to_toml(spec: ChallengeSpec) -> str:
    """The challenge.toml text of a spec (written by tomli-w); `parse_bundle` reads it back
    to the same spec."""
    return tomli_w.dumps(document_from_spec(spec))


def spec_files(spec: ChallengeSpec) -> dict[str, bytes]:
    """The files of a bundle for `spec`, ready to be zipped."""
    files = {TOML: spec_to_toml(spec).encode(), DESCRIPTION: spec.description_md.encode()}
    files[STARTER] = spec.starter_code.encode()
    if spec.baseline_code:
        files[BASELINE] = spec.baseline_code.encode()
    files.update(spec.data_files)
    return files
