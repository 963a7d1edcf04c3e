"""Reading uploaded bundle zips safely: traversal, absolute paths, symlinks, zip bombs."""

from __future__ import annotations

import io
import stat
import zipfile

import pytest
from hackathon.challenges.archive import read_bundle_zip, write_zip
from hackathon.challenges.errors import BundleError

from .conftest import bundle_files


def _zip(entries: list[tuple[str, bytes]], *, symlink: str | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, body in entries:
            archive.writestr(name, body)
        if symlink:
            info = zipfile.ZipInfo(symlink)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, "/etc/passwd")
    return buffer.getvalue()


def _refused(data: bytes, **kw: object) -> str:
    with pytest.raises(BundleError) as info:
        read_bundle_zip(data, name="up.zip", **kw)
    return str(info.value)


def test_a_written_bundle_zip_reads_back_with_its_top_folder_stripped() -> None:
    files = bundle_files()
    assert read_bundle_zip(write_zip(files, prefix="tiny/")) == files
    assert read_bundle_zip(write_zip(files)) == files


def test_a_dot_dot_path_is_refused() -> None:
    assert "'..' in a path is not allowed" in _refused(
        _zip([("challenge.toml", b""), ("../evil.py", b"x")])
    )


def test_an_absolute_path_is_refused() -> None:
    assert "absolute paths are not allowed" in _refused(_zip([("/etc/cron.d/x", b"x")]))


def test_a_symlink_is_refused() -> None:
    assert "symbolic links are not allowed" in _refused(
        _zip([("challenge.toml", b"")], symlink="data.csv")
    )


def test_a_zip_bomb_is_stopped_by_its_declared_size() -> None:
    bomb = _zip([("challenge.toml", b""), ("big.csv", b"0" * (8 * 1024 * 1024))])
    assert len(bomb) < 64 * 1024
    assert "unpacks to more than 1048576 bytes (declared sizes)" in _refused(
        bomb, max_unpacked_bytes=1024 * 1024
    )


def test_a_zip_bomb_that_lies_about_its_size_is_stopped_while_reading() -> None:
    data = bytearray(_zip([("challenge.toml", b"x" * 10), ("big.csv", b"0" * (4 * 1024 * 1024))]))
    # Rewrite the declared uncompressed size of big.csv (local header and central directory) to 100.
    name = b"big.csv"
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        pos = data.find(signature)
        while pos != -1:
            name_at = pos + (30 if signature == b"PK\x03\x04" else 46)
            if data[name_at : name_at + len(name)] == name:
                data[pos + offset : pos + offset + 4] = (100).to_bytes(4, "little")
            pos = data.find(signature, pos + 4)
    message = _refused(bytes(data))
    # Stopped at the declared 100 bytes: by our own count, or by zipfile's CRC check there.
    assert message.startswith("up.zip: big.csv: ")
    assert "more data than its declared size" in message or "Bad CRC-32" in message


def test_a_zip_over_the_upload_limit_is_refused() -> None:
    assert "over the limit of 100 bytes" in _refused(write_zip(bundle_files()), max_bytes=100)


def test_something_that_is_not_a_zip_is_refused() -> None:
    assert "expected a zip archive" in _refused(b"PK not really")


def test_a_zip_without_challenge_toml_is_refused() -> None:
    assert "expected challenge.toml at the top" in _refused(
        _zip([("a/readme.md", b"hi"), ("b/x", b"")])
    )
