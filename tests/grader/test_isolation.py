"""Seccomp denials inside the real sandbox, and one unprivileged uid per worker slot."""

from __future__ import annotations

import errno
import struct
import threading

import pytest

import grader
from grader.contract import Verdict
from grader.grading import get_sandbox
from grader.seccomp import DENIED_SYSCALLS, deny_filter, syscall_table

from .conftest import HOSTILE_IMPORTS
from .test_hostile import in_fit


@pytest.fixture
def job_for(make_job):
    """A job whose fit runs `body` with the hostile import list."""

    def build(body: str, **kwargs):
        return make_job(in_fit(body), allowed=HOSTILE_IMPORTS, **kwargs)

    return build


pytestmark = pytest.mark.skipif(
    get_sandbox().level != "strong", reason="needs root and bwrap (the strong sandbox)"
)


def test_every_denied_syscall_fails_with_eperm_inside(job_for) -> None:
    _, table = syscall_table()
    calls = {name: table[name] for name in DENIED_SYSCALLS}
    body = f"""
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
for name, nr in {calls!r}.items():
    ctypes.set_errno(0)
    rc = libc.syscall(nr, 0, 0, 0, 0, 0, 0)
    print(name, rc, ctypes.get_errno())
ctypes.set_errno(0)
print("getpid", libc.getpid(), ctypes.get_errno())
"""
    result = grader.grade(job_for(body))
    assert result.verdict is Verdict.SCORED, result.message
    lines = dict(line.split(" ", 1) for line in result.stdout.splitlines())
    for name in DENIED_SYSCALLS:
        assert lines[name] == f"-1 {errno.EPERM}", name
    assert not lines["getpid"].startswith("-1")


def test_calls_that_would_work_elsewhere_are_denied_and_ordinary_ones_are_not(job_for) -> None:
    body = """
import ctypes, socket
libc = ctypes.CDLL(None, use_errno=True)
def errno_of(rc):
    return ctypes.get_errno() if rc == -1 else 0
print("unshare0", errno_of(libc.unshare(0)))
print("ptrace_traceme", errno_of(libc.ptrace(0, 0, 0, 0)))
try:
    socket.socket(40, socket.SOCK_STREAM)  # AF_VSOCK
    print("vsock 0")
except OSError as exc:
    print("vsock", exc.errno)
c = ctypes.c_char(b"x")
print("tiocsti", errno_of(libc.ioctl(0, 0x5412, ctypes.byref(c))))
print("tiocsti_high_bits", errno_of(libc.ioctl(0, ctypes.c_ulong(0x100005412), ctypes.byref(c))))
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
print("inet_socket", 0)
s.close()
r, w = __import__("os").pipe()
print("fionread", errno_of(libc.ioctl(r, 0x541B, ctypes.byref(ctypes.c_int()))))
"""
    result = grader.grade(job_for(body))
    assert result.verdict is Verdict.SCORED, result.message
    seen = dict(line.split(" ", 1) for line in result.stdout.splitlines())
    eperm = str(errno.EPERM)
    assert seen["unshare0"] == eperm  # unshare(0) is a harmless no-op without the filter
    assert seen["ptrace_traceme"] == eperm
    assert seen["vsock"] == eperm
    assert seen["tiocsti"] == eperm
    assert seen["tiocsti_high_bits"] == eperm
    assert seen["inet_socket"] == "0"
    assert seen["fionread"] == "0"


def test_filter_is_a_whole_number_of_bpf_instructions_for_both_architectures() -> None:
    for machine in ("x86_64", "aarch64"):
        program = deny_filter(machine)
        assert len(program) % 8 == 0
        assert 40 < len(program) // 8 < 256
        code, _, _, k = struct.unpack_from("=HBBI", program, 0)
        assert (code, k) == (0x20, 4)  # first loads the architecture


def test_concurrent_sandboxes_run_as_different_unprivileged_uids(job_for) -> None:
    body = "import time\nprint('UID', os.getuid())\ntime.sleep(1.0)"
    results: list = [None, None]

    def run(i: int) -> None:
        results[i] = grader.grade(job_for(body))

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    uids = {r.stdout.split()[1] for r in results}
    assert all(r.verdict is Verdict.SCORED for r in results)
    assert len(uids) == 2
    base = get_sandbox().config.uid_base
    assert all(base <= int(u) < base + get_sandbox().config.slots for u in uids)


def test_a_fork_bomb_in_one_slot_does_not_starve_the_next_sandbox(job_for) -> None:
    bomb = "while True:\n    try:\n        os.fork()\n    except OSError:\n        pass"
    worker = """
import time
children = []
for _ in range(8):
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    children.append(pid)
for pid in children:
    os.waitpid(pid, 0)
print("forked fine")
"""
    results: dict = {}

    def run(name: str, body: str, time_s: float) -> None:
        results[name] = grader.grade(job_for(body, time_s=time_s))

    bomber = threading.Thread(target=run, args=("bomb", bomb, 3.0))
    bomber.start()
    import time

    time.sleep(1.0)  # the bomb is at its process limit by now
    run("worker", worker, 10.0)
    bomber.join()
    assert results["bomb"].verdict is Verdict.TIME_LIMIT
    assert results["worker"].verdict is Verdict.SCORED, results["worker"].message
    assert "forked fine" in results["worker"].stdout


def test_root_owned_private_files_stay_unreadable_inside(job_for) -> None:
    body = """
for path in ("/proc/1/root/etc/shadow", "/proc/self/root/../../etc/shadow"):
    try:
        open(path).read()
        print("READ", path)
    except OSError as exc:
        print("denied", path)
"""
    result = grader.grade(job_for(body))
    assert result.verdict is Verdict.SCORED, result.message
    assert "READ" not in result.stdout


def test_the_private_runtime_is_root_owned_world_readable_and_minimal() -> None:
    import os
    import stat

    runtime = get_sandbox().runtime
    home = runtime.python_home
    assert not str(home).startswith("/root")
    stdlib = next((home / "lib").glob("python3*"))
    assert not (stdlib / "site-packages").exists()
    assert not (stdlib / "test").exists() and not (stdlib / "tkinter").exists()
    for path in [home, *home.rglob("*")][:5000]:
        st = os.lstat(path)
        assert st.st_uid == 0, path
        assert not st.st_mode & (stat.S_IWGRP | stat.S_IWOTH), path
        if not stat.S_ISLNK(st.st_mode):
            assert st.st_mode & stat.S_IROTH, path
    assert [name for _, name in runtime.packages] == ["numpy", "numpy.libs"]
