"""Hostile submissions against the real sandbox: each ends in the right verdict, leaves no
process behind (autouse fixture in conftest) and reveals nothing of the host."""

from __future__ import annotations

import hashlib
import os
import socket
from pathlib import Path

import numpy as np
import pytest

import grader
from grader.contract import Verdict
from grader.grading import get_sandbox

from .conftest import HOSTILE_IMPORTS

PROJECT = Path(grader.__file__).resolve().parents[1]


def in_fit(body: str, *, imports: str = "import os, sys") -> str:
    """A solution that runs `body` inside fit, then predicts zeros."""
    indented = "\n".join("        " + line for line in body.strip("\n").splitlines())
    return f"""
{imports}
import numpy as np

class Model:
    def fit(self, X, y):
{indented}
        return self

    def predict(self, X):
        return np.zeros(len(X))
"""


def hostile(make_job, body: str, sandbox=None, **kwargs):
    kwargs.setdefault("allowed", HOSTILE_IMPORTS)
    kwargs.setdefault("time_s", 5.0)
    return grader.grade(make_job(in_fit(body), **kwargs), sandbox=sandbox)


def test_cannot_connect_to_redis_postgres_or_any_host_port(make_job, kernel_sandbox) -> None:
    """Through a sandbox that holds socket (the platform's does not): the network namespace."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    socket.create_connection(("127.0.0.1", port), timeout=2).close()  # reachable from the host
    try:
        body = f"""
import socket
for port in (6379, 5432, {port}):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1)
        print("CONNECTED", port)
    except OSError as exc:
        print("refused", port, type(exc).__name__)
"""
        result = hostile(make_job, body, sandbox=kernel_sandbox)
    finally:
        listener.close()
    assert result.verdict is Verdict.SCORED, result.message
    assert "CONNECTED" not in result.stdout
    assert result.stdout.count("refused") == 3


def test_host_files_project_database_settings_and_hidden_data_are_invisible(
    make_job, datasets
) -> None:
    secrets = [
        PROJECT / "pyproject.toml",
        PROJECT / "platform" / "hackathon" / "settings.py",
        PROJECT / "var",
        PROJECT / "var" / "hackathon.sqlite3",
        PROJECT / "var" / "scratch",
        PROJECT / "var" / "datasets",
        datasets["regression"]["test_y"],
        datasets["regression"]["public_mask"],
        get_sandbox().config.state_dir,
        Path("/root"),
        Path("/etc/passwd"),
        Path("/etc/shadow"),
        Path("/home"),
        Path("/var/lib/postgresql"),
    ]
    body = f"""
for path in {[str(p) for p in secrets]!r}:
    try:
        if os.path.isdir(path):
            print("LISTED", path, os.listdir(path))
        else:
            print("READ", path, len(open(path, "rb").read()))
    except OSError as exc:
        print("denied", path, type(exc).__name__)
print("ROOT", sorted(os.listdir("/")))
print("SHELL", [p for p in ("/bin/sh", "/usr/bin/python3", "/usr/bin") if os.path.exists(p)])
"""
    result = hostile(make_job, body)
    assert result.verdict is Verdict.SCORED, result.message
    assert "LISTED" not in result.stdout and "READ" not in result.stdout
    assert result.stdout.count("denied") == len(secrets)
    assert "SHELL []" in result.stdout  # no shell, no system interpreter, no /usr/bin
    root_line = next(line for line in result.stdout.splitlines() if line.startswith("ROOT"))
    for entry in ("work", "home", "root", "var", "srv"):
        assert f"'{entry}'" not in root_line or entry == "work"


def test_proc_shows_only_the_sandbox_and_the_environment_is_clean(make_job, monkeypatch) -> None:
    monkeypatch.setenv("GRADER_TEST_CANARY", "s3cr3t-canary")
    body = f"""
pids = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
print("PIDS", pids)
print("HOSTPID", os.path.exists("/proc/{os.getpid()}/environ") and {os.getpid()} > 50)
print("ENV", dict(os.environ))
try:
    print("INIT", open("/proc/1/environ", "rb").read())
except OSError as exc:
    print("INIT denied", type(exc).__name__)
"""
    result = hostile(make_job, body)
    assert result.verdict is Verdict.SCORED, result.message
    pids = eval(next(x for x in result.stdout.splitlines() if x.startswith("PIDS"))[5:])  # noqa: S307
    assert len(pids) <= 4  # bwrap's init, the harness, nothing of the host
    assert "HOSTPID True" not in result.stdout
    assert "s3cr3t-canary" not in result.stdout
    assert "DATABASE_URL" not in result.stdout and "SECRET_KEY" not in result.stdout


def _tree_digest(path: Path) -> str:
    h = hashlib.sha256()
    for f in sorted(path.rglob("*.py")):
        h.update(f.read_bytes())
    return h.hexdigest()


def test_writing_outside_the_work_dir_fails_and_numpy_cannot_be_poisoned(make_job) -> None:
    site = next(h for h, name in get_sandbox().runtime.packages if name == "numpy")
    before = _tree_digest(site)
    body = """
import numpy
targets = [numpy.__file__, "/opt/python/lib/evil.py", "/usr/lib/evil", "/evil", "/etc/evil",
           "/dev/evil", "/proc/evil"]
for path in targets:
    try:
        with open(path, "a") as f:
            f.write("raise SystemExit('poisoned')")
        print("WROTE", path)
    except OSError as exc:
        print("denied", path, type(exc).__name__)
with open("/work/scratch.txt", "w") as f:
    f.write("the work dir is writable")
with open("/tmp/scratch.txt", "w") as f:
    f.write("so is /tmp")
"""
    result = hostile(make_job, body)
    assert result.verdict is Verdict.SCORED, result.message
    assert "WROTE" not in result.stdout
    assert result.stdout.count("denied") == 7
    assert _tree_digest(site) == before
    follow_up = grader.grade(make_job(in_fit("pass", imports="")))
    assert follow_up.verdict is Verdict.SCORED


def test_fork_bomb_ends_in_time_limit(make_job) -> None:
    body = """
while True:
    try:
        os.fork()
    except OSError:
        pass
"""
    result = hostile(make_job, body, time_s=2.0)
    assert result.verdict is Verdict.TIME_LIMIT


def test_memory_bomb_ends_in_memory_limit(make_job) -> None:
    result = hostile(make_job, "hoard = []\nwhile True:\n    hoard.append(bytearray(10**7))")
    assert result.verdict is Verdict.MEMORY_LIMIT


def test_billion_element_array_ends_in_memory_limit(make_job) -> None:
    result = hostile(make_job, "self.big = np.zeros(10**9)")
    assert result.verdict is Verdict.MEMORY_LIMIT


def test_sleeping_forever_ends_in_time_limit(make_job) -> None:
    result = hostile(make_job, "import time\ntime.sleep(10**6)", time_s=1.5)
    assert result.verdict is Verdict.TIME_LIMIT


def test_ignoring_sigterm_does_not_survive_the_time_limit(make_job) -> None:
    body = """
import signal, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
if os.fork() == 0:
    while True:
        time.sleep(1)
time.sleep(10**6)
"""
    result = hostile(make_job, body, time_s=1.5)
    assert result.verdict is Verdict.TIME_LIMIT


def test_detached_setsid_grandchild_does_not_outlive_the_run(make_job) -> None:
    body = """
import time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        signal_free = time.sleep
        while True:
            signal_free(1)
    os._exit(0)
os.wait()
"""
    result = hostile(make_job, body)
    assert result.verdict is Verdict.SCORED, result.message
    # conftest's autouse fixture asserts that no process of the slot uid is left


def test_killing_the_parent_and_everything_does_not_break_grading(make_job) -> None:
    body = """
import signal
os.kill(os.getppid(), signal.SIGKILL)
try:
    os.kill(-1, signal.SIGKILL)
except ProcessLookupError:
    print("nothing else to kill")
print("still here")
"""
    result = hostile(make_job, body)
    assert result.verdict is Verdict.SCORED, result.message
    assert "still here" in result.stdout


def test_printing_a_gigabyte_ends_in_output_limit_without_storing_it(make_job) -> None:
    body = "chunk = b'y' * (1 << 20)\nfor _ in range(1024):\n    os.write(2, chunk)"
    result = hostile(make_job, body, time_s=30)
    assert result.verdict is Verdict.OUTPUT_LIMIT
    assert "stderr" in result.message
    assert len(result.stderr) < 70 * 1024


def test_filling_the_disk_is_a_runtime_error_on_a_capped_scratch(make_job) -> None:
    body = """
with open("/work/fill", "wb") as f:
    while True:
        f.write(b"z" * (1 << 20))
"""
    result = hostile(make_job, body, scratch_mb=16, file_size_mb=64)
    assert result.verdict is Verdict.RUNTIME_ERROR
    assert "No space left" in result.message


def test_reading_stdin_gets_nothing(make_job) -> None:
    result = hostile(make_job, "print('STDIN', repr(sys.stdin.read()))")
    assert result.verdict is Verdict.SCORED, result.message
    assert "STDIN ''" in result.stdout


def test_ctypes_is_a_forbidden_import_by_default(make_job) -> None:
    result = grader.grade(make_job(in_fit("pass", imports="import ctypes")))
    assert result.verdict is Verdict.FORBIDDEN_IMPORT
    assert "'ctypes'" in result.message


def test_ctypes_when_allowed_is_still_absent_from_the_sandbox(make_job) -> None:
    result = hostile(make_job, "import ctypes")
    assert result.verdict is Verdict.FORBIDDEN_IMPORT
    assert "the sandbox's Python holds no ctypes" in result.message


@pytest.mark.parametrize(
    ("body", "imports"),
    [
        ("__import__('subprocess')", ""),
        ("import importlib\nimportlib.import_module('subprocess')", ""),
        ("import sys\nsys.modules['os'].system('true')", ""),
        ("__builtins__['__import__']('subprocess')", ""),
        ("exec('import subprocess', {})", ""),
        ("try:\n    import subprocess\nexcept ImportError:\n    pass", ""),
    ],
)
def test_forbidden_imports_by_tricks_are_caught(make_job, body, imports) -> None:
    result = grader.grade(make_job(in_fit(body, imports=imports)))
    assert result.verdict is Verdict.FORBIDDEN_IMPORT, result.message
    assert "not allowed" in result.message or "holds no subprocess" in result.message


def test_import_module_is_guarded_even_when_importlib_is_allowed(make_job) -> None:
    body = "import importlib\nimportlib.import_module('subprocess')"
    allowed = (*make_job("").allowed_imports, "importlib")
    result = grader.grade(make_job(in_fit(body, imports=""), allowed=allowed))
    assert result.verdict is Verdict.FORBIDDEN_IMPORT
    assert "'subprocess'" in result.message


def test_a_pickle_sent_as_predictions_is_never_unpickled(make_job, tmp_path) -> None:
    marker = tmp_path / "unpickled"
    source = f"""
import json, os, struct, sys
import numpy as np

# What pickle.dumps of an object reducing to os.system("touch ...") produces (protocol 0).
EVIL = b"cos\\nsystem\\n(S'touch {marker}'\\ntR."

class Model:
    def fit(self, X, y):
        return self

    def predict(self, X):
        # The harness is in this process: make it answer with the pickle as the predictions.
        harness = sys.modules["grader_harness"]
        head = json.dumps({{"name": "predictions", "shape": [len(X)], "dtype": "float64"}})
        harness.array_frame = lambda np, nonce, *rest: (
            head.replace("{{", '{{"nonce": "' + nonce + '", ', 1).encode() + b"\\n" + EVIL
        )
        return np.zeros(len(X))
"""
    result = grader.grade(make_job(source, allowed=HOSTILE_IMPORTS))
    assert result.verdict is Verdict.INVALID_PREDICTIONS
    assert "could not be read" in result.message
    assert not marker.exists()


def test_an_npy_object_array_pickle_is_refused(make_job) -> None:
    source = """
import io, json, os, struct, sys
import numpy as np

class Model:
    def fit(self, X, y):
        return self

    def predict(self, X):
        buf = io.BytesIO()
        np.save(buf, np.array([object()] * len(X)), allow_pickle=True)
        fd = json.loads(sys.argv[1])["result_fd"]
        head = json.dumps({"name": "predictions", "shape": [len(X)], "dtype": "float64"})
        payload = head.encode() + b"\\n" + buf.getvalue()
        os.write(fd, struct.pack(">cI", b"A", len(payload)) + payload)
        os._exit(0)
"""
    result = grader.grade(make_job(source, allowed=HOSTILE_IMPORTS))
    assert result.verdict in (Verdict.INVALID_PREDICTIONS, Verdict.RUNTIME_ERROR)
    assert result.public_score is None


def test_a_predictions_symlink_to_a_host_file_is_never_followed(make_job) -> None:
    body = """
os.symlink("/etc/passwd", "/work/predictions.npy")
os.symlink("/etc/passwd", "/tmp/predictions.npy")
"""
    result = hostile(make_job, body)
    assert result.verdict is Verdict.SCORED, result.message
    assert "root:" not in result.stdout + result.stderr + result.message
    assert result.public_score == pytest.approx(
        float(
            np.sqrt(np.mean(np.load(make_job("").test_y)[np.load(make_job("").public_mask)] ** 2))
        )
    )


def test_no_host_process_environment_leaks_through_proc_self(make_job) -> None:
    body = 'print("CWD", os.getcwd(), "UID", os.getuid(), "HOST", os.uname().nodename)'
    result = hostile(make_job, body)
    assert result.verdict is Verdict.SCORED
    assert "CWD /work" in result.stdout
    assert f"HOST {os.uname().nodename}" not in result.stdout
    assert "UID 0" not in result.stdout


def test_a_forked_child_returning_into_the_harness_reports_nothing(make_job) -> None:
    result = hostile(make_job, "if os.fork() == 0:\n    pass  # the child returns from fit too")
    assert result.verdict is Verdict.SCORED, result.message


def test_every_run_records_its_pid_namespace_for_the_leftover_check(make_job) -> None:
    from grader.supervisor import processes_in_namespace

    assert os.getpid() in processes_in_namespace(os.readlink("/proc/self/ns/pid"))
    grader.grade(make_job(in_fit("pass", imports="")))
    namespaces = get_sandbox().recent_namespaces
    assert len(namespaces) == 1
    assert namespaces[0] != os.readlink("/proc/self/ns/pid")
    assert processes_in_namespace(namespaces[0]) == []


@pytest.mark.parametrize(
    "frame",
    [
        b"E" + (5).to_bytes(4, "big") + b"{nope",
        b"D" + (2).to_bytes(4, "big") + b"[]",
        b"E" + (24).to_bytes(4, "big") + b'{"kind": [], "message": 1}',
        b"D" + (37).to_bytes(4, "big") + b'{"fit_seconds": "x", "loss_curve": 7}',
        b"A" + (7).to_bytes(4, "big") + b"[1]\nabc",
        b"Z" + (0).to_bytes(4, "big"),
    ],
)
def test_forged_result_messages_end_in_a_verdict_never_a_crash(make_job, frame) -> None:
    body = f"import json\nos.write(json.loads(sys.argv[1])['result_fd'], {frame!r})"
    result = hostile(make_job, body)
    assert result.verdict in (
        Verdict.INVALID_PREDICTIONS, Verdict.RUNTIME_ERROR, Verdict.SCORED
    ), result.message  # fmt: skip
    assert result.verdict is not Verdict.SCORED or result.fit_seconds is not None
