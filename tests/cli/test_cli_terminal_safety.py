"""Text from the server reaches the terminal without control sequences: a team name, a message or
a log line cannot move the cursor, recolour, retitle or clear another participant's terminal."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from hackathon.cli import render
from hackathon.cli.config import config_save
from hackathon.cli.main import main

EVIL = "Evil\x1b[2J\x1b]0;pwned\x07\x9b31m\r\x08\u202etxt"


def assert_no_controls(text: str, *, allowed: str = "\n") -> None:
    bad = [ch for ch in text if (ord(ch) < 0x20 or 0x7F <= ord(ch) < 0xA0) and ch not in allowed]
    assert not bad, f"control characters reached the terminal: {bad!r}"
    assert "\u202e" not in text


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """A real HTTP server on 127.0.0.1 answering like the platform, with hostile strings."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv("HACKATHON_URL", raising=False)
    monkeypatch.delenv("HACKATHON_TOKEN", raising=False)
    answers: dict[str, tuple[int, Any]] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the http.server interface
            path = self.path.split("?")[0]
            status, body = answers.get(path, (404, {"message": f"{EVIL} not found"}))
            raw = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def log_message(self, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    config_save(url=f"http://127.0.0.1:{httpd.server_address[1]}", token="hk_x")
    yield answers
    httpd.shutdown()
    httpd.server_close()


def test_a_team_name_with_escape_sequences_is_printed_inert(
    server: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    server["/api/v1/me/"] = (
        200,
        {"username": "u", "team": {"name": EVIL, "members": [EVIL], "invite_code": "C\x1b[0m"}},
    )
    assert main(["team"]) == 0
    out = capsys.readouterr().out
    assert_no_controls(out)
    assert "Evil\\x1b[2J" in out  # shown escaped, so the attempt is visible


def test_leaderboard_rows_with_hostile_team_names_are_printed_inert(
    server: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    server["/api/v1/challenges/c/leaderboard/"] = (
        200,
        {
            "metric": "rmse",
            "direction": "minimize",
            "is_frozen": False,
            "rows": [
                {
                    "rank": 1,
                    "team": EVIL + "\nsecond line",
                    "score": 1.5,
                    "entries": 2,
                    "last_submission_at": "2026-01-01T00:00:00Z",
                }
            ],
            "total_teams": 1,
            "page": 1,
            "num_pages": 1,
        },
    )
    code = main(["leaderboard", "c"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert_no_controls(captured.out)
    assert "second line" in captured.out


def test_a_submission_message_and_logs_keep_their_lines_but_lose_control_sequences(
    server: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    server["/api/v1/submissions/7/"] = (
        200,
        {
            "id": 7,
            "challenge": EVIL,
            "user": EVIL,
            "state": "finished",
            "verdict": "runtime_error",
            "verdict_label": EVIL,
            "message": EVIL,
            "diagnostics": [{"title": EVIL, "detail": EVIL}],
            "stdout": "line one\n\x1b[31mred\x1b[0m\tcol\n",
            "stderr": EVIL,
        },
    )
    assert main(["status", "7"]) == 0
    out = capsys.readouterr().out
    assert_no_controls(out, allowed="\n\t")
    assert "line one\n" in out
    assert "\tcol" in out


def test_an_error_message_from_the_server_is_printed_inert(
    server: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["status", "404"]) == 1
    err = capsys.readouterr().err
    assert "not found" in err
    assert_no_controls(err)


def test_the_inert_form_keeps_ordinary_text_and_emoji_unchanged() -> None:
    assert render.terminal_text("Équipe 🚀 (ß) — ok") == "Équipe 🚀 (ß) — ok"
    assert render.terminal_text("a\nb\tc") == "a\\nb\\tc"
    assert render.terminal_text("a\nb\tc", multiline=True) == "a\nb\tc"
