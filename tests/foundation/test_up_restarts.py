"""`hackathon up` keeps the platform running when one of its children dies.

A real process tree on SQLite and the bundled Redis: the grading worker, then the web
server, then Redis are killed with SIGKILL (as the kernel's OOM killer would); each is
started again, the site answers again, and a submission made before the kills is graded
exactly once. A child that cannot start at all stops everything, naming it.
"""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import psutil
import pytest
from hackathon import embedded_redis
from hackathon.cli import up

from tests.foundation.test_up import cmdline, free_port, http_get, wait_for

ROOT = Path(__file__).resolve().parents[2]

# The organizers' baseline (gradient descent, as the challenge requires), sitting in fit()
# long enough for its worker to be killed mid-grade.
SLEEPY = (
    (ROOT / "challenges" / "diabetes-gd" / "baseline" / "solution.py")
    .read_text()
    .replace("import numpy as np", "import time\n\nimport numpy as np", 1)
    .replace("    def fit(self, X, y):\n", "    def fit(self, X, y):\n        time.sleep(8)\n", 1)
)

CREATE_SUBMISSION = """
import sys
from django.contrib.auth import get_user_model
from hackathon.accounts.services import team_create
from hackathon.challenges.models import Challenge
from hackathon.submissions.services import submission_create

user = get_user_model().objects.create_user(username="runner", password="a-long-password-1")
team_create(user=user, name="Runners")
challenge = Challenge.objects.get(slug="diabetes-gd")
print(submission_create(challenge=challenge, user=user, code=sys.stdin.read()).pk)
"""


@pytest.fixture
def short_tmp() -> Iterator[Path]:
    # A short path keeps the Redis socket under var/ (Unix socket paths are limited).
    path = Path(tempfile.mkdtemp(prefix="hk-upr-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _env(var: Path, challenges: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "DJANGO_SETTINGS_MODULE"}
        and not k.startswith(("HACKATHON_", "PYTEST_"))
    }
    return env | {
        "HACKATHON_VAR_DIR": str(var),
        "HACKATHON_REDIS_SERVER": embedded_redis.bundled_redis_server() or "",
        "HACKATHON_ADMIN_USER": "boss",
        "HACKATHON_ADMIN_PASSWORD": "organizer-pass-for-the-restart-test",
        "CHALLENGES_DIR": str(challenges),
        "SANDBOX_MIN_LEVEL": "degraded",  # this test is about processes, not the sandbox
        # A killed worker's grade is found quickly whichever way the worker comes back.
        "WORKER_HEARTBEAT_INTERVAL_S": "1",
        "WORKER_HEARTBEAT_TIMEOUT_S": "5",
        "SWEEPER_INTERVAL_S": "3",
        "GRADING_QUEUED_GRACE_S": "3",
    }


def _child(root: int, needle: str) -> int | None:
    """The direct child of `root` whose command line contains `needle`."""
    for pid in up.direct_children(root):
        if needle in cmdline(pid) and up.process_state(pid) != psutil.STATUS_ZOMBIE:
            return pid
    return None


def _rows(var: Path, sql: str, *params: object) -> list[tuple]:
    with closing(sqlite3.connect(var / "hackathon.sqlite3", timeout=30)) as db:
        return db.execute(sql, params).fetchall()


def _row(var: Path, sql: str, *params: object) -> tuple | None:
    found = _rows(var, sql, *params)
    return found[0] if found else None


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_up_restarts_a_killed_worker_web_server_and_redis_and_grades_once(short_tmp) -> None:
    var = short_tmp / "var"
    challenges = short_tmp / "challenges"
    shutil.copytree(ROOT / "challenges" / "diabetes-gd", challenges / "diabetes-gd")
    port = free_port()
    env = _env(var, challenges)
    log = short_tmp / "up.log"
    script = Path(sys.executable).with_name("hackathon")
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(script), "up", "--port", str(port), "--concurrency", "1", "--grace", "15"],
            env=env,
            cwd=short_tmp,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    site = f"http://127.0.0.1:{port}/"
    try:
        wait_for(lambda: http_get(site + "healthz"), 300, "the site to answer", process, log)
        wait_for(lambda: _child(process.pid, " worker "), 60, "the worker", process, log)

        made = subprocess.run(
            [sys.executable, str(ROOT / "manage.py"), "shell", "-c", CREATE_SUBMISSION],
            input=SLEEPY,
            env={**env, "REDIS_URL": embedded_redis.redis_url_for(var / "redis.sock")},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert made.returncode == 0, made.stderr
        submission_id = int(made.stdout.split()[-1])

        def state() -> tuple:
            return _row(
                var,
                "SELECT state, verdict, attempts FROM submissions_submission WHERE id = ?",
                submission_id,
            )

        wait_for(lambda: state()[0] == "running", 180, "the grade to start", process, log)
        time.sleep(2.0)  # inside fit()

        # 1. The grading worker, killed mid-grade.
        worker = _child(process.pid, " worker ")
        os.kill(worker, signal.SIGKILL)
        wait_for(
            lambda: (_child(process.pid, " worker ") or worker) != worker,
            60,
            "a new worker",
            process,
            log,
        )
        assert "worker: exited unexpectedly with status -9" in log.read_text()

        # 2. The web server.
        web = _child(process.pid, "uvicorn")
        os.kill(web, signal.SIGKILL)
        wait_for(lambda: (_child(process.pid, "uvicorn") or web) != web, 60, "a new web server",
                 process, log)  # fmt: skip
        wait_for(lambda: http_get(site + "healthz"), 120, "the site again", process, log)

        # 3. Redis (everything it held is lost: the database is the source of truth).
        redis = _child(process.pid, "redis-server")
        os.kill(redis, signal.SIGKILL)
        wait_for(
            lambda: (_child(process.pid, "redis-server") or redis) != redis,
            60,
            "a new Redis",
            process,
            log,
        )
        wait_for(lambda: http_get(site), 120, "the home page again", process, log)

        wait_for(lambda: state()[0] == "finished", 300, "the submission graded", process, log)
        assert state()[1] == "scored", (state(), log.read_text()[-4000:])
        entries = _row(
            var,
            "SELECT entries, best_submission_id FROM leaderboard_teamscore "
            "WHERE best_submission_id = ?",
            submission_id,
        )
        assert entries == (1, submission_id)  # one result on the board, not two
        events = {s for (s,) in _rows(var, "SELECT source FROM submissions_platformevent")}
        assert {"worker", "web", "redis"} <= events, events
        assert process.poll() is None, "everything still runs"
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            code = process.wait(120)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            raise
    assert code == 0, log.read_text()[-5000:]


def test_a_child_that_keeps_failing_at_start_stops_everything_naming_it(capsys) -> None:
    supervisor = up.Supervisor(grace=5)
    supervisor.spawn(
        "flaky",
        [sys.executable, "-c", "import sys; print('no database here'); sys.exit(3)"],
        dict(os.environ),
    )
    steady = supervisor.spawn("steady", [sys.executable, "-c", "import time; time.sleep(60)"],
                              dict(os.environ))  # fmt: skip
    clock = time.monotonic()
    with pytest.raises(up.GiveUp) as stopped:
        for _ in range(400):
            supervisor.check(now=clock)
            clock += 1.0  # past every backoff, well inside a minute of failures
            time.sleep(0.05)
    supervisor.stop()
    message = str(stopped.value)
    assert "flaky keeps failing at start (5 times" in message
    assert "no database here" in message
    assert steady.restarts == 0  # the healthy child was never touched
    out = capsys.readouterr().out
    assert out.count("flaky: restarted") == 4


def test_a_child_that_ran_a_while_is_restarted_with_a_growing_then_reset_backoff() -> None:
    supervisor = up.Supervisor(grace=5)
    child = supervisor.spawn("crashy", [sys.executable, "-c", "pass"], dict(os.environ))
    child.process.wait()
    start = time.monotonic()
    child.started_at = start - 120  # it ran two minutes: a crash, not a failure to start
    supervisor.check(now=start)
    assert child.restart_at == start + up.RESTART_BACKOFF_S[0]
    assert not child.quick_exits
    supervisor.check(now=start + 1)  # started again
    assert child.restarts == 1
    child.process.wait()
    supervisor.check(now=child.started_at + 1)  # failed at once this time: a longer wait
    assert child.restart_at == child.started_at + 1 + up.RESTART_BACKOFF_S[1]
    supervisor.stop()
