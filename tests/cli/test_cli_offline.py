"""CLI behaviour that needs no server: config storage, failure messages, rendering."""

from __future__ import annotations

import json
import os
import socket
import stat
from pathlib import Path
from typing import Any

import pytest
from hackathon.cli import render
from hackathon.cli.config import config_load, config_path, config_save
from hackathon.cli.main import main


@pytest.fixture(autouse=True)
def isolated_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv("HACKATHON_URL", raising=False)
    monkeypatch.delenv("HACKATHON_TOKEN", raising=False)
    return tmp_path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_the_config_is_saved_under_xdg_config_home_readable_by_its_owner_only(
    isolated_config: Path,
) -> None:
    os.umask(0o022)
    path = config_save(url="http://127.0.0.1:1", token="hk_secret")
    assert path == isolated_config / "config" / "hackathon" / "config.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert json.loads(path.read_text()) == {"url": "http://127.0.0.1:1", "token": "hk_secret"}
    assert config_load().token == "hk_secret"


def test_commands_before_login_say_how_to_log_in(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["challenges"]) == 1
    assert "Run `hackathon login --url URL` first" in capsys.readouterr().err


def test_an_unreachable_server_is_reported_plainly(capsys: pytest.CaptureFixture[str]) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    config_save(url=url, token="hk_x")
    assert main(["challenges"]) == 1
    err = capsys.readouterr().err
    assert f"Cannot reach the server at {url}" in err
    assert "Traceback" not in err


def test_login_to_an_unreachable_server_saves_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    assert main(["login", "--url", url, "--token", "hk_x"]) == 1
    assert "Cannot reach the server" in capsys.readouterr().err
    assert not config_path().exists()


def test_a_server_url_that_is_not_http_is_refused_before_any_request(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("not for the cli")
    config_save(url=f"file://{secret}", token="hk_x")
    assert main(["challenges"]) == 1
    err = capsys.readouterr().err
    assert "must start with http:// or https://" in err
    assert "not for the cli" not in err


def test_submitting_a_missing_file_names_it(capsys: pytest.CaptureFixture[str]) -> None:
    config_save(url="http://127.0.0.1:1", token="hk_x")
    assert main(["submit", "some-challenge", "nowhere/solution.py"]) == 1
    assert "File not found: nowhere/solution.py" in capsys.readouterr().err


def test_evaluating_a_missing_file_names_it(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["evaluate", "missing.py", "--data", "train.csv"]) == 1
    assert "File not found: missing.py" in capsys.readouterr().err


def test_a_sparkline_follows_the_curve_from_high_to_low() -> None:
    line = render.sparkline([10.0, 5.0, 2.0, 1.0, 1.0])
    assert line == "█▄▂▁▁"
    assert len(render.sparkline([float(i) for i in range(1000)], width=40)) == 40
    assert render.sparkline([]) == ""
    assert render.sparkline([float("nan"), 3.0, 3.0]) == "▁▁"


def test_a_quota_error_says_which_quota_and_when_the_next_slot_opens() -> None:
    from hackathon.cli.client import describe_error

    text = describe_error(
        429,
        {
            "code": "quota_exceeded",
            "message": "10 of 10 today.",
            "quota": "daily",
            "retry_after": 3600,
        },
        "http://x/",
    )
    assert text.startswith("Daily submission quota reached: 10 of 10 today.")
    assert "The next slot opens in 60 min (at " in text


def test_the_task_is_inferred_from_the_target_column() -> None:
    from hackathon.cli.evaluate import infer_task
    from hackathon.cli.remote import CliError

    assert infer_task(b"a,y\n1,0\n2,1\n3,1\n", "y") == "binary"
    assert infer_task(b"a,y\n1,0\n2,1\n3,2\n", "y") == "multiclass"
    assert infer_task(b"a,y\n1,0.5\n2,1\n", "y") == "regression"
    with pytest.raises(CliError, match="Target column 'z' not found"):
        infer_task(b"a,y\n1,0\n", "z")


def test_a_starter_kit_entry_that_escapes_its_folder_is_refused(tmp_path: Path) -> None:
    import io
    import zipfile

    from hackathon.cli.remote import CliError, extract_zip_safely

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("kit/solution.py", "ok")
        archive.writestr("kit/../../evil.py", "no")
    with pytest.raises(CliError, match="unsafe path"):
        extract_zip_safely(buffer.getvalue(), tmp_path / "kit")
    assert not (tmp_path / "evil.py").exists()
    assert not (tmp_path / "kit").exists()


def test_one_common_top_folder_of_the_starter_kit_is_dropped(tmp_path: Path) -> None:
    import io
    import zipfile

    from hackathon.cli.remote import extract_zip_safely

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("diabetes-gd/solution.py", "code")
        archive.writestr("diabetes-gd/data/train.csv", "a,y\n")
    written = extract_zip_safely(buffer.getvalue(), tmp_path)
    assert sorted(p.relative_to(tmp_path).as_posix() for p in written) == [
        "data/train.csv",
        "solution.py",
    ]


def _zip(entries: dict[str, bytes], *, symlink: str = "") -> bytes:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, body in entries.items():
            archive.writestr(name, body)
        if symlink:
            info = zipfile.ZipInfo(symlink)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, "/etc/passwd")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("archive", "caps", "expected"),
    [
        # A zip bomb: 64 MiB of zeros in a few kB stops at the cap, nothing written.
        (
            lambda: _zip({"kit/train.csv": b"\0" * (64 << 20)}),
            {"max_unpacked_bytes": 1 << 20},
            "more than 1048576 bytes",
        ),
        (
            lambda: _zip({f"kit/f{i}.py": b"x" for i in range(30)}),
            {"max_entries": 20},
            "at most 20 entries",
        ),
        (lambda: _zip({"kit/solution.py": b"ok"}, symlink="kit/link"), {}, "symbolic links"),
        (lambda: b"not a zip at all", {}, "expected a zip archive"),
    ],
    ids=["bomb", "entries", "symlink", "not-a-zip"],
)
def test_the_starter_kit_reader_has_the_servers_caps(
    tmp_path: Path, archive: Any, caps: dict[str, int], expected: str
) -> None:
    from hackathon.cli.remote import CliError, extract_zip_safely

    with pytest.raises(CliError, match=expected):
        extract_zip_safely(archive(), tmp_path / "kit", **caps)
    assert not (tmp_path / "kit").exists()


def test_the_cli_and_the_server_read_zips_with_one_reader() -> None:
    from hackathon.challenges import archive
    from hackathon.cli import remote
    from hackathon.safe_zip import read_zip

    assert remote.read_zip is read_zip and archive.read_zip is read_zip
