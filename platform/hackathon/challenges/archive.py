"""Reading a bundle zip safely, and writing one (plain Python, no Django).

An uploaded zip is untrusted: `hackathon.safe_zip` (the one reader with caps, shared with
the CLI) reads it into memory entry by entry, refusing unsafe paths, special files, too
many entries and too many bytes; errors name the file.
"""

from __future__ import annotations

import io
import stat
import zipfile
from collections.abc import Mapping

from hackathon.challenges.bundle import TOML
from hackathon.challenges.errors import BundleError
from hackathon.safe_zip import ZipRefused, read_zip

MAX_ENTRIES = 200
MAX_UNPACKED_BYTES = 200 * 1024 * 1024


def read_bundle_zip(
    data: bytes,
    *,
    name: str = "bundle.zip",
    max_bytes: int | None = None,
    max_unpacked_bytes: int = MAX_UNPACKED_BYTES,
) -> dict[str, bytes]:
    """The files of a bundle zip as `{relative path: bytes}`; one top folder is stripped."""
    if max_bytes is not None and len(data) > max_bytes:
        raise BundleError(name, f"file of {len(data)} bytes is over the limit of {max_bytes} bytes")
    try:
        files = read_zip(data, max_entries=MAX_ENTRIES, max_unpacked_bytes=max_unpacked_bytes)
    except ZipRefused as exc:
        raise BundleError(name, str(exc)) from None
    return _strip_top_folder(files, name)


def _strip_top_folder(files: dict[str, bytes], name: str) -> dict[str, bytes]:
    files = {k: v for k, v in files.items() if not k.startswith("__MACOSX/")}
    if TOML in files:
        return files
    tops = {k.split("/", 1)[0] for k in files}
    if len(tops) == 1 and all("/" in k for k in files):
        top = tops.pop()
        stripped = {k[len(top) + 1 :]: v for k, v in files.items()}
        if TOML in stripped:
            return stripped
    raise BundleError(name, f"expected {TOML} at the top of the zip (or inside one top folder)")


def write_zip(files: Mapping[str, bytes], *, prefix: str = "") -> bytes:
    """A zip of `files` (fixed timestamps: the same files give the same bytes). Text is
    deflated; `.npy` arrays of floats barely compress, so they are stored as they are."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(files):
            info = zipfile.ZipInfo(f"{prefix}{path}", date_time=(2020, 1, 1, 0, 0, 0))
            info.external_attr = (stat.S_IFREG | 0o644) << 16
            stored = path.endswith((".npy", ".npz", ".zip"))
            info.compress_type = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
            archive.writestr(info, files[path], compresslevel=None if stored else 1)
    return buffer.getvalue()
