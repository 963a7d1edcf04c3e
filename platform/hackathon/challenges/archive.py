"""Reading a bundle zip safely, and writing one (plain Python, no Django).

An uploaded zip is untrusted: it is read into memory entry by entry, never extracted to
disk. Absolute paths, `..`, symbolic links, encrypted entries and too many entries are
refused; sizes are checked as declared and again while reading, against a total cap, so
a zip bomb stops at the cap whatever its headers claim.
"""

from __future__ import annotations

import io
import stat
import zipfile
from collections.abc import Mapping
from pathlib import PurePosixPath

from hackathon.challenges.bundle import TOML
from hackathon.challenges.errors import BundleError

MAX_ENTRIES = 200
MAX_UNPACKED_BYTES = 200 * 1024 * 1024
_CHUNK = 1024 * 1024


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
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise BundleError(name, f"expected a zip archive ({exc})") from None
    with archive:
        infos = archive.infolist()
        if len(infos) > MAX_ENTRIES:
            raise BundleError(name, f"expected at most {MAX_ENTRIES} entries, got {len(infos)}")
        declared = 0
        for info in infos:
            _check_entry(info, name)
            declared += info.file_size
            if declared > max_unpacked_bytes:
                raise BundleError(
                    name, f"unpacks to more than {max_unpacked_bytes} bytes (declared sizes)"
                )
        files: dict[str, bytes] = {}
        total = 0
        for info in infos:
            if info.is_dir():
                continue
            chunks = []
            size = 0
            try:
                with archive.open(info) as stream:
                    while chunk := stream.read(_CHUNK):
                        size += len(chunk)
                        total += len(chunk)
                        if size > info.file_size:
                            raise BundleError(
                                name, f"{info.filename}: more data than its declared size"
                            )
                        if total > max_unpacked_bytes:
                            raise BundleError(
                                name, f"unpacks to more than {max_unpacked_bytes} bytes"
                            )
                        chunks.append(chunk)
            except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError) as exc:
                raise BundleError(name, f"{info.filename}: cannot be read ({exc})") from None
            files[info.filename] = b"".join(chunks)
    return _strip_top_folder(files, name)


def _check_entry(info: zipfile.ZipInfo, name: str) -> None:
    entry = info.filename
    if info.flag_bits & 0x1:
        raise BundleError(name, f"{entry}: encrypted entries are not allowed")
    if "\\" in entry or "\x00" in entry:
        raise BundleError(name, f"{entry}: expected '/' separators and no NUL in entry names")
    path = PurePosixPath(entry)
    if entry.startswith("/") or (len(entry) > 1 and entry[1] == ":"):
        raise BundleError(name, f"{entry}: absolute paths are not allowed")
    if ".." in path.parts:
        raise BundleError(name, f"{entry}: '..' in a path is not allowed")
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        raise BundleError(name, f"{entry}: symbolic links are not allowed")
    if stat.S_IFMT(mode) and not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        raise BundleError(name, f"{entry}: only regular files and folders are allowed")


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
