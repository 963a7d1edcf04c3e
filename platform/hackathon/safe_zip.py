"""THE zip reader for untrusted archives, server and CLI alike (plain Python, no Django).

An archive is read into memory entry by entry, never extracted by `zipfile` itself.
Absolute paths, `..`, backslashes, NUL, symbolic links and other special files, encrypted
entries and too many entries are refused; sizes are checked as declared and again while
reading, against a total cap, so a zip bomb stops at the cap whatever its headers claim.
The server reads bundle uploads with it (`challenges.archive`), the CLI the starter kits
it downloads (`hackathon download`).
"""

from __future__ import annotations

import io
import stat
import zipfile
from pathlib import PurePosixPath

_CHUNK = 1024 * 1024


class ZipRefused(ValueError):
    """The archive is not a zip, or breaks one of the caps or path rules (the message says
    which, naming the entry)."""


def read_zip(data: bytes, *, max_entries: int, max_unpacked_bytes: int) -> dict[str, bytes]:
    """`{entry path: bytes}` of every file entry (folders skipped), or ZipRefused."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise ZipRefused(f"expected a zip archive ({exc})") from None
    with archive:
        infos = archive.infolist()
        if len(infos) > max_entries:
            raise ZipRefused(f"expected at most {max_entries} entries, got {len(infos)}")
        declared = 0
        for info in infos:
            check_entry(info)
            declared += info.file_size
            if declared > max_unpacked_bytes:
                raise ZipRefused(
                    f"unpacks to more than {max_unpacked_bytes} bytes (declared sizes)"
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
                            raise ZipRefused(f"{info.filename}: more data than its declared size")
                        if total > max_unpacked_bytes:
                            raise ZipRefused(f"unpacks to more than {max_unpacked_bytes} bytes")
                        chunks.append(chunk)
            except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError) as exc:
                raise ZipRefused(f"{info.filename}: cannot be read ({exc})") from None
            files[info.filename] = b"".join(chunks)
    return files


def check_entry(info: zipfile.ZipInfo) -> None:
    """Refuse an entry that could escape a folder or is not a plain file or folder."""
    entry = info.filename
    if info.flag_bits & 0x1:
        raise ZipRefused(f"{entry}: encrypted entries are not allowed")
    if "\\" in entry or "\x00" in entry:
        raise ZipRefused(f"{entry}: expected '/' separators and no NUL in entry names")
    path = PurePosixPath(entry)
    if entry.startswith("/") or (len(entry) > 1 and entry[1] == ":"):
        raise ZipRefused(f"{entry}: absolute paths are not allowed")
    if ".." in path.parts:
        raise ZipRefused(f"{entry}: '..' in a path is not allowed")
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        raise ZipRefused(f"{entry}: symbolic links are not allowed")
    if stat.S_IFMT(mode) and not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        raise ZipRefused(f"{entry}: only regular files and folders are allowed")
