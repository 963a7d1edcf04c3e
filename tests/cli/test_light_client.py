"""The participant's client is light: its commands import no Django, Celery or kombu, and
`hackathon --help` answers fast (measured here, reported by benchmarks/cli_startup.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

HEAVY = ("django", "celery", "kombu", "psycopg", "rest_framework", "redis", "uvicorn")

PROBE = """
import json, sys
from hackathon.cli.main import build_parser
build_parser()
import hackathon.notebook, hackathon.cli.evaluate, hackathon.cli.remote, grader.precheck
print(json.dumps(sorted({m.split(".")[0] for m in sys.modules})))
"""


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}


def test_the_participant_commands_load_no_server_code() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        capture_output=True,
        text=True,
        timeout=120,
        env=_clean_env(),
        check=True,
    )
    loaded = set(json.loads(done.stdout))
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))


def test_help_lists_every_command_without_loading_the_server() -> None:
    probe = (
        "import sys, contextlib, io\n"
        "from hackathon.cli.main import main\n"
        "out = io.StringIO()\n"
        "with contextlib.redirect_stdout(out):\n"
        "    try:\n        main(['--help'])\n    except SystemExit:\n        pass\n"
        "print(out.getvalue())\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        timeout=120,
        env=_clean_env(),
        check=True,
    )
    for command in ("up", "login", "submit", "evaluate", "download", "leaderboard"):
        assert command in done.stdout
    assert done.stdout.strip().endswith("[]")


def test_up_without_the_server_installed_says_what_to_install() -> None:
    probe = (
        "import sys\n"
        "sys.modules['django'] = None  # as on a client-only installation\n"
        "from hackathon.cli.main import main\n"
        "sys.exit(main(['up']))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        timeout=120,
        env=_clean_env(),
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert "participant's client only" in done.stderr and "bootstrap.py up" in done.stderr
    assert "Traceback" not in done.stderr


def test_what_evaluate_imports_before_grading_loads_no_scipy_or_sklearn() -> None:
    """scipy.special alone costs ~0.35 s: `hackathon evaluate` reads the split code in
    challenges/data.py, which must not import what only data generation needs."""
    probe = (
        "import json, sys\n"
        "import hackathon.cli.evaluate, hackathon.challenges.data, grader.grading\n"
        "print(json.dumps([m for m in ('scipy', 'sklearn') if m in sys.modules]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        timeout=120,
        env=_clean_env(),
        check=True,
    )
    assert json.loads(done.stdout) == []
