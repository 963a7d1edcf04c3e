"""`hackathon up`: the whole platform on this machine, in one foreground process group.

Prepares var/ (secret key, database migrations, built-in challenges, a first
organizer), then runs Redis, the ASGI web server, a Celery grading worker and Celery
beat as children, and keeps them running: a child that exits unexpectedly (a crash, the
OOM killer) is started again after a backoff (1, 2, 4 ... 30 s; back to 1 s once it has
run for a minute), the event is printed and shown on the organizer dashboard, and the
others reconnect by themselves (the embedded Redis comes back on the same socket).

Everything stops on Ctrl-C or SIGTERM, or when one child keeps failing right at start
(RESTART_GIVE_UP_COUNT exits within QUICK_EXIT_S of starting, inside
RESTART_GIVE_UP_WINDOW_S): then with a message naming it and the last lines it printed.
This process is a child subreaper, so even descendants that moved to their own session
(sandboxes) are found, killed and reaped before it exits.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import ctypes
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psutil

PR_SET_CHILD_SUBREAPER = 36
DEFAULT_ADMIN_USER = "admin"

# Restart policy of the children (see the module docstring).
RESTART_BACKOFF_S = (1.0, 2.0, 4.0, 8.0, 16.0, 30.0)
STABLE_AFTER_S = 60.0  # a child that ran this long starts again from the first backoff
QUICK_EXIT_S = 15.0  # an exit this soon after starting is a failure to start
RESTART_GIVE_UP_COUNT = 5
RESTART_GIVE_UP_WINDOW_S = 60.0
OUTPUT_TAIL_LINES = 20


# --- Preparation -------------------------------------------------------------------------


def var_dir() -> Path:
    """Where the embedded platform keeps its state: the same rule as settings.VAR_DIR."""
    configured = os.environ.get("HACKATHON_VAR_DIR")
    if configured:
        return Path(configured).resolve()
    import hackathon  # lazy: only to find the checkout when no folder is configured

    return (Path(hackathon.__file__).resolve().parent.parent.parent / "var").resolve()


def ensure_secret_key(directory: Path) -> str:
    """var/secret_key, made once with mode 0600; SECRET_KEY in the environment wins."""
    # envconf uses Django's exception types: imported on use, so that `hackathon --help` and
    # the participant's commands never load Django.
    from hackathon.envconf import ensure_secret_file

    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    return ensure_secret_file(directory / "secret_key")


def ensure_challenge_data_secret(directory: Path) -> None:
    """var/challenge_data_secret, made once with mode 0600: the generated built-ins' data is
    drawn from it (CHALLENGE_DATA_SECRET in the environment wins)."""
    from hackathon.envconf import CHALLENGE_DATA_SECRET_FILE, ensure_secret_file  # on use

    if not os.environ.get("CHALLENGE_DATA_SECRET"):
        ensure_secret_file(directory / CHALLENGE_DATA_SECRET_FILE)


def prepare_database() -> tuple[str, str]:
    """Migrate, load the built-in challenges, make sure an organizer exists.

    Returns (organizer username, how to log in with it: the generated password, or a hint).
    """
    import django

    django.setup()
    from django.core.management import CommandError, call_command, get_commands

    call_command("migrate", interactive=False, verbosity=0)
    say("database migrated")
    # The organizer comes first: loading a challenge submits its baseline in their name.
    username, password = ensure_organizer()
    if "load_challenges" in get_commands():
        try:
            call_command("load_challenges")
        except CommandError as error:
            # The site is still useful (organizers can fix bundles and reload them).
            say(f"built-in challenges not (all) loaded: {error}")
    from django.db import connections

    connections.close_all()
    return username, password


def _venv_python() -> str:
    """The interpreter this platform runs in, as a person would type it from the checkout."""
    here = Path(sys.executable)
    try:
        return str(here.relative_to(Path.cwd()))
    except ValueError:
        return str(here)


def ensure_organizer() -> tuple[str, str]:
    # Lazy: Django is set up by `up` before this runs.
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from hackathon.accounts.selectors import organizer_accounts

    users = get_user_model().objects
    group, _ = Group.objects.get_or_create(name=settings.ORGANIZERS_GROUP)
    existing = organizer_accounts().first()
    if existing is not None:
        return existing.get_username(), (
            "the password printed when it was created (reset it with "
            f"`{_venv_python()} manage.py changepassword {existing.get_username()}`)"
        )
    username = os.environ.get("HACKATHON_ADMIN_USER") or DEFAULT_ADMIN_USER
    given = os.environ.get("HACKATHON_ADMIN_PASSWORD")
    password = given or secrets.token_urlsafe(12)
    user = users.filter(username=username).first()
    if user is None:
        user = users.create_superuser(username=username, email="", password=password)
    else:
        user.is_staff = user.is_superuser = True
        user.set_password(password)
        user.save()
    user.groups.add(group)
    if given:
        return username, "the password in HACKATHON_ADMIN_PASSWORD"
    return username, f"password {password}   (shown once: change it on your profile page)"


# --- Children ----------------------------------------------------------------------------


@dataclass
class Child:
    """One supervised process, and how to start it again (None: never restarted)."""

    name: str
    process: subprocess.Popen
    stop_signal: int = signal.SIGTERM
    start: Callable[[], subprocess.Popen] | None = None
    started_at: float = field(default_factory=time.monotonic)
    restarts: int = 0
    quick_exits: collections.deque = field(default_factory=collections.deque)
    restart_at: float | None = None  # waiting out its backoff until then
    output: collections.deque = field(
        default_factory=lambda: collections.deque(maxlen=OUTPUT_TAIL_LINES)
    )
    output_file: Path | None = None  # where a child that writes its own log writes it

    def last_output(self) -> str:
        lines = list(self.output)
        if not lines and self.output_file is not None:
            with contextlib.suppress(OSError):
                lines = self.output_file.read_text(errors="replace").splitlines()
        return "\n".join(lines[-OUTPUT_TAIL_LINES:]).strip() or "(it printed nothing)"


class GiveUp(Exception):
    """A child keeps failing right at start: the platform cannot run."""


def _copy_output(child: Child, stream: object) -> None:
    """Print what the child prints (as if it wrote to the terminal) and keep its tail."""
    for line in iter(stream.readline, ""):  # type: ignore[attr-defined]
        child.output.append(line.rstrip("\n"))
        with contextlib.suppress(OSError, ValueError):
            sys.stdout.write(line)
            sys.stdout.flush()


@dataclass
class Supervisor:
    """Starts children, restarts those that exit, and stops every descendant on the way out."""

    grace: float
    children: list[Child] = field(default_factory=list)
    stopping: bool = False
    on_event: Callable[[str, str], None] | None = None

    def spawn(self, name: str, command: list[str], env: dict[str, str], **kwargs: object) -> Child:
        if "stdout" in kwargs:  # the caller reads the output itself (not restarted)
            process = subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL, **kwargs)  # noqa: S603
            child = Child(name, process)
            self.children.append(child)
            return child

        def start() -> subprocess.Popen:
            process = subprocess.Popen(  # noqa: S603 - our own argv, no shell
                command,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                errors="replace",
                bufsize=1,
                **kwargs,
            )
            threading.Thread(target=_copy_output, args=(child, process.stdout), daemon=True).start()
            return process

        child = Child(name, process=None, start=start)  # type: ignore[arg-type]
        child.process = start()
        self.children.append(child)
        return child

    def adopt(
        self,
        name: str,
        process: subprocess.Popen,
        *,
        start: Callable[[], subprocess.Popen] | None = None,
        output_file: Path | None = None,
    ) -> Child:
        child = Child(name, process, start=start, output_file=output_file)
        self.children.append(child)
        return child

    def exited(self) -> Child | None:
        for child in self.children:
            if child.restart_at is None and child.process.poll() is not None:
                return child
        return None

    def event(self, name: str, message: str) -> None:
        say(f"{name}: {message}")
        if self.on_event is not None:
            try:
                self.on_event(name, message)
            except Exception as error:  # noqa: BLE001 - recording is best effort
                say(f"(could not record the event on the dashboard: {error})")

    def check(self, now: float | None = None) -> None:
        """One round of supervision: note exits, start again those whose backoff is over.

        Raises GiveUp when a child keeps failing right at start."""
        now = time.monotonic() if now is None else now
        for child in self.children:
            if child.restart_at is not None:
                if now >= child.restart_at and not self.stopping:
                    self._restart(child, now)
                continue
            code = child.process.poll()
            if code is None or self.stopping:
                continue
            ran = now - child.started_at
            if child.start is None:
                raise GiveUp(
                    f"{child.name} exited with status {code} and cannot be restarted. "
                    f"Its last output:\n{child.last_output()}"
                )
            if ran < QUICK_EXIT_S:
                child.quick_exits.append(now)
            while child.quick_exits and now - child.quick_exits[0] > RESTART_GIVE_UP_WINDOW_S:
                child.quick_exits.popleft()
            if len(child.quick_exits) >= RESTART_GIVE_UP_COUNT:
                raise GiveUp(
                    f"{child.name} keeps failing at start ({len(child.quick_exits)} times "
                    f"within {RESTART_GIVE_UP_WINDOW_S:.0f} s, last status {code}). "
                    f"Its last output:\n{child.last_output()}"
                )
            if ran >= STABLE_AFTER_S:
                child.restarts = 0
            delay = RESTART_BACKOFF_S[min(child.restarts, len(RESTART_BACKOFF_S) - 1)]
            child.restart_at = now + delay
            self.event(
                child.name,
                f"exited unexpectedly with status {code} after {ran:.0f} s; "
                f"restarting it in {delay:g} s",
            )

    def _restart(self, child: Child, now: float) -> None:
        if child.start is None:
            return
        child.restarts += 1
        child.started_at = now
        child.restart_at = None
        try:
            child.process = child.start()
        except Exception as error:  # noqa: BLE001 - a failed start is a quick exit
            child.output.append(f"could not start: {error}")
            child.process = _FailedStart()  # type: ignore[assignment]
            return
        self.event(child.name, f"restarted (restart {child.restarts}, pid {child.process.pid})")

    def reap_orphans(self) -> None:
        """Collect zombies of adopted orphans (we are their subreaper)."""
        ours = {c.process.pid for c in self.children}
        for pid in direct_children(os.getpid()):
            if pid not in ours and process_state(pid) == psutil.STATUS_ZOMBIE:
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(pid, os.WNOHANG)

    def stop(self, *, last: tuple[str, ...] = ("redis",)) -> None:
        """SIGTERM the children (those named in `last` after the others), wait, kill the rest."""
        first = [c for c in self.children if c.name not in last]
        final = [c for c in self.children if c.name in last]
        for group in (first, final):
            for child in group:
                if child.process.poll() is None:
                    with contextlib.suppress(ProcessLookupError):
                        child.process.send_signal(child.stop_signal)
            deadline = time.monotonic() + self.grace
            for child in group:
                remaining = max(0.1, deadline - time.monotonic())
                try:
                    child.process.wait(remaining)
                except subprocess.TimeoutExpired:
                    say(f"{child.name} did not stop within {self.grace:.0f}s: killing it")
                    with contextlib.suppress(ProcessLookupError):
                        child.process.kill()
                    child.process.wait()
        kill_all_descendants()


class _FailedStart:
    """Stands for a process that could not even be started: it has exited at once."""

    pid = 0
    returncode = 127

    def poll(self) -> int:
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        return self.returncode

    def send_signal(self, signum: int) -> None:
        pass

    def kill(self) -> None:
        pass


def direct_children(pid: int) -> list[int]:
    """Pids of the children of `pid`, zombies included (ours to reap)."""
    try:
        return [child.pid for child in psutil.Process(pid).children()]
    except psutil.Error:
        return []


def parent_of(pid: int) -> int | None:
    try:
        return psutil.Process(pid).ppid()
    except psutil.Error:
        return None


def process_state(pid: int) -> str | None:
    """psutil's status of `pid` (`psutil.STATUS_ZOMBIE`: exited, not yet reaped), or None."""
    try:
        return str(psutil.Process(pid).status())
    except psutil.Error:
        return None


def descendants(root: int) -> list[int]:
    """Every process below `root` (by parent links, whatever session it moved to)."""
    try:
        return [child.pid for child in psutil.Process(root).children(recursive=True)]
    except psutil.Error:
        return []


def kill_all_descendants(timeout: float = 10.0) -> None:
    """SIGKILL whatever is left below us and reap it, until nothing is left."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        alive = [
            pid for pid in descendants(os.getpid()) if process_state(pid) != psutil.STATUS_ZOMBIE
        ]
        for pid in alive:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        reaped_any = False
        while True:
            try:
                pid, _status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return  # no child left at all
            if pid == 0:
                break
            reaped_any = True
        if not alive and not reaped_any:
            if not direct_children(os.getpid()):
                return
        time.sleep(0.05)


def become_subreaper() -> bool:
    """Orphaned descendants (e.g. sandboxes in their own session) re-parent to us."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


# --- Running -----------------------------------------------------------------------------


def say(message: str) -> None:
    print(f"[hackathon up] {message}", flush=True)


def wait_for_http(url: str, *, timeout: float, supervisor: Supervisor) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not supervisor.stopping:
        supervisor.check()
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - our own server
                if response.status == 200:
                    return True
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    return False


def server_missing() -> str | None:
    """What `hackathon up` needs and this installation lacks (a participant's light client)."""
    import importlib.util

    missing = [m for m in ("django", "celery", "uvicorn") if importlib.util.find_spec(m) is None]
    if not missing:
        return None
    return (
        f"hackathon up runs the platform, and this installation is the participant's client "
        f"only (no {', '.join(missing)}): install the server with `python3 bootstrap.py up` "
        "in a checkout, or `pip install '.[server]'`"
    )


def run(args: argparse.Namespace) -> int:
    missing = server_missing()
    if missing:
        print(f"error: {missing}", file=sys.stderr)
        return 2
    directory = var_dir()
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "static").mkdir(exist_ok=True)
    os.environ["HACKATHON_VAR_DIR"] = str(directory)
    os.environ["HACKATHON_EMBEDDED"] = "1"
    os.environ["SECRET_KEY"] = ensure_secret_key(directory)
    ensure_challenge_data_secret(directory)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hackathon.settings")
    os.environ["PYTHONUNBUFFERED"] = "1"

    supervisor = Supervisor(grace=args.grace)

    def on_signal(signum: int, _frame: object) -> None:
        if not supervisor.stopping:
            say(f"{signal.Signals(signum).name} received: stopping everything")
        supervisor.stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    become_subreaper()

    try:
        # Redis first: loading the challenges already sends their baselines to be graded.
        start_redis(directory, supervisor)
        username, login_hint = prepare_database()
        supervisor.on_event = record_event
        return _run_children(args, directory, supervisor, username, login_hint)
    except GiveUp as error:
        say(f"{error}\nstopping everything")
        return 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        supervisor.stop()
        say("stopped")


def start_redis(directory: Path, supervisor: Supervisor) -> None:
    """Use REDIS_URL when given, else start the embedded Redis and point REDIS_URL at it."""
    from hackathon import embedded_redis  # lazy: only `up` without REDIS_URL needs it

    redis_url = os.environ.get("REDIS_URL")
    if redis_url:
        say(f"using Redis at {redis_url}")
        return
    log_file = directory / "redis.log"
    redis = embedded_redis.start(directory, log_file=log_file)

    def start_again() -> subprocess.Popen:
        # The same socket: the other children reconnect to the URL they were given.
        return embedded_redis.start(
            directory, socket_path=redis.socket_path, log_file=log_file
        ).process

    supervisor.adopt("redis", redis.process, start=start_again, output_file=log_file)
    os.environ["REDIS_URL"] = redis.url
    say(f"Redis ({embedded_redis.find_redis_server()}) on {redis.socket_path}")


def _run_children(
    args: argparse.Namespace,
    directory: Path,
    supervisor: Supervisor,
    username: str,
    login_hint: str,
) -> int:
    env = dict(os.environ)
    python = sys.executable

    supervisor.spawn(
        "web",
        [
            python, "-m", "uvicorn", "hackathon.asgi:application",
            "--host", args.host, "--port", str(args.port),
            "--lifespan", "off", "--no-server-header", "--log-level", "warning",
        ],
        env,
    )  # fmt: skip
    supervisor.spawn(
        "worker",
        [
            python, "-m", "celery", "-A", "hackathon.celery", "worker",
            "-Q", ",".join(worker_queues()), "--concurrency", str(args.concurrency),
            "--hostname", f"grading-{os.getpid()}@%h", "--loglevel", "INFO",
            "--without-mingle",  # one worker here: nothing to sync with at start (saves ~1 s)
        ],
        env,
    )  # fmt: skip
    supervisor.spawn(
        "beat",
        [
            python, "-m", "celery", "-A", "hackathon.celery", "beat",
            "--schedule", str(directory / "celerybeat-schedule"), "--loglevel", "INFO",
        ],
        env,
    )  # fmt: skip

    probe_host = "127.0.0.1" if args.host in ("0.0.0.0", "::", "") else args.host  # noqa: S104
    if ":" in probe_host:
        probe_host = f"[{probe_host}]"
    site = f"http://{probe_host}:{args.port}/"
    if wait_for_http(site + "healthz", timeout=120, supervisor=supervisor):
        banner(site, username, login_hint)
    ticks = 0
    while not supervisor.stopping:
        supervisor.check()
        ticks += 1
        if ticks % 8 == 0:
            supervisor.reap_orphans()
        time.sleep(0.25)
    return 0


def record_event(name: str, message: str) -> None:
    """Show a supervision event on the organizer dashboard (Django is set up by now)."""
    # Lazy: Django is set up by `up` before this runs.
    from hackathon.submissions.services import platform_event_record

    platform_event_record(source=name, message=message)


def worker_queues() -> list[str]:
    """Every queue the platform sends to: the local worker does all the work."""
    # Lazy: the CLI configures Django (and Celery) only once it has chosen its settings.
    from django.conf import settings

    from hackathon.submissions.scheduling import GRADING_QUEUES

    queues = list(GRADING_QUEUES)
    queues += [r["queue"] for r in settings.CELERY_TASK_ROUTES.values() if r["queue"] not in queues]
    if settings.CELERY_TASK_DEFAULT_QUEUE not in queues:
        queues.append(settings.CELERY_TASK_DEFAULT_QUEUE)
    return queues


def banner(site: str, username: str, login_hint: str) -> None:
    lines = [
        "",
        f"  The hackathon platform is running: open {site}",
        f"  Log in as the organizer `{username}` with {login_hint}.",
        f"  Admin: {site}admin/",
        "  Press Ctrl-C to stop.",
        "",
    ]
    print("\n".join(lines), flush=True)
