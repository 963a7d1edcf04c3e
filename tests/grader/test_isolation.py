"""Seccomp denials inside the real sandbox, and one unprivileged uid per worker slot.

Expected syscall numbers come from libseccomp's own resolution (pyseccomp.resolve_syscall),
never from a table of ours. Calls that no `os`-level function reaches are made through ctypes
from a probe runtime that only these tests mount into the sandbox (tests/grader/probes.py).
"""

from __future__ import annotations

import errno
import threading

import pyseccomp
import pytest

import grader
from grader.contract import Verdict
from grader.grading import get_sandbox
from grader.seccomp import CLONE_NAMESPACE_FLAGS, DENIED_SYSCALLS, ENOSYS_SYSCALLS, filter_text

from .conftest import HOSTILE_IMPORTS
from .probes import kernel_sandbox, probe_sandbox
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


def _resolved(names: tuple[str, ...]) -> dict[str, int]:
    arch = pyseccomp.system_arch()
    numbers = {name: pyseccomp.resolve_syscall(arch, name) for name in names}
    return {name: nr for name, nr in numbers.items() if nr >= 0}


def test_the_compiled_filter_names_libseccomps_numbers_for_every_denied_call() -> None:
    text = filter_text()
    for name, nr in _resolved(DENIED_SYSCALLS + ENOSYS_SYSCALLS).items():
        assert f'# filter for syscall "{name}" ({nr})' in text, name
    assert "memfd_create" in _resolved(DENIED_SYSCALLS)
    assert "landlock_create_ruleset" in _resolved(DENIED_SYSCALLS)


def test_the_filter_is_compiled_once_and_kept_in_the_state_dir(tmp_path) -> None:
    import subprocess
    import sys

    from grader.seccomp import deny_filter, kept_deny_filter

    assert kept_deny_filter(tmp_path) == deny_filter()
    [kept] = tmp_path.glob("seccomp-*.bpf")
    assert kept.read_bytes() == deny_filter()
    # A new process (a new worker, `hackathon evaluate`) reads it without loading libseccomp.
    code = (
        "import sys; from pathlib import Path; from grader.seccomp import kept_deny_filter; "
        f"data = kept_deny_filter(Path({str(tmp_path)!r})); "
        "print(len(data), 'pyseccomp' in sys.modules)"
    )
    out = subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == [str(len(deny_filter())), "False"]
    # A damaged file (not whole filter entries) is compiled and written again.
    kept.write_bytes(b"\x00" * 7)
    assert kept_deny_filter(tmp_path) == deny_filter() == kept.read_bytes()


def test_every_denied_syscall_fails_with_eperm_inside(make_job, tmp_path) -> None:
    calls = _resolved(DENIED_SYSCALLS + ENOSYS_SYSCALLS)
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
    with probe_sandbox(tmp_path) as (sandbox, imports):
        job = make_job(in_fit(body, imports=imports), allowed=HOSTILE_IMPORTS)
        result = grader.grade(job, sandbox=sandbox)
    assert result.verdict is Verdict.SCORED, result.message
    lines = dict(line.split(" ", 1) for line in result.stdout.splitlines())
    for name in calls:
        expected = errno.ENOSYS if name in ENOSYS_SYSCALLS else errno.EPERM
        assert lines[name] == f"-1 {expected}", name
    assert not lines["getpid"].startswith("-1")


def test_calls_with_denied_arguments_fail_and_the_same_calls_otherwise_work(
    make_job, tmp_path
) -> None:
    arch = pyseccomp.system_arch()
    sys_clone = pyseccomp.resolve_syscall(arch, "clone")
    body = f"""
import ctypes, os, signal, socket
libc = ctypes.CDLL(None, use_errno=True)
def errno_of(rc):
    return ctypes.get_errno() if rc == -1 else 0
print("unshare0", errno_of(libc.unshare(0)))
print("ptrace_traceme", errno_of(libc.ptrace(0, 0, 0, 0)))
c = ctypes.c_char(b"x")
print("tiocsti", errno_of(libc.ioctl(0, 0x5412, ctypes.byref(c))))
print("tiocsti_high_bits", errno_of(libc.ioctl(0, ctypes.c_ulong(0x100005412), ctypes.byref(c))))
r, w = os.pipe()
print("fionread", errno_of(libc.ioctl(r, 0x541B, ctypes.byref(ctypes.c_int()))))
for flag_name, flag in {CLONE_NAMESPACE_FLAGS!r}.items():
    rc = libc.syscall({sys_clone}, flag | int(signal.SIGCHLD), 0, 0, 0, 0)
    if rc == 0:
        os._exit(0)
    print(flag_name, errno_of(rc))
    if rc > 0:
        os.waitpid(rc, 0)
rc = libc.syscall({sys_clone}, int(signal.SIGCHLD), 0, 0, 0, 0)
if rc == 0:
    os._exit(7)
print("plain_clone", os.waitstatus_to_exitcode(os.waitpid(rc, 0)[1]) if rc > 0 else -1)
"""
    with probe_sandbox(tmp_path) as (sandbox, imports):
        job = make_job(in_fit(body, imports=imports), allowed=HOSTILE_IMPORTS)
        result = grader.grade(job, sandbox=sandbox)
    assert result.verdict is Verdict.SCORED, result.message
    seen = dict(line.split(" ", 1) for line in result.stdout.splitlines())
    eperm = str(errno.EPERM)
    assert seen["unshare0"] == eperm  # unshare(0) is a harmless no-op without the filter
    assert seen["ptrace_traceme"] == eperm
    assert seen["tiocsti"] == eperm
    assert seen["tiocsti_high_bits"] == eperm
    assert seen["fionread"] == "0"
    for flag_name in CLONE_NAMESPACE_FLAGS:
        assert seen[flag_name] == eperm, flag_name
    assert seen["plain_clone"] == "7"


def test_a_foreign_syscall_abi_kills_the_caller(make_job, tmp_path) -> None:
    """x32 numbers (bit 30 set) cannot reach a call the native table denies."""
    if pyseccomp.system_arch() != pyseccomp.Arch.X86_64:
        pytest.skip("the x32 ABI exists only on x86_64")
    memfd = pyseccomp.resolve_syscall(pyseccomp.system_arch(), "memfd_create")
    body = f"""
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
pid = os.fork()
if pid == 0:
    libc.syscall(0x40000000 | {memfd}, b"x", 0)
    os._exit(0)
print("x32", os.waitpid(pid, 0)[1] & 0x7F)
"""
    with probe_sandbox(tmp_path) as (sandbox, imports):
        job = make_job(in_fit(body, imports=imports), allowed=HOSTILE_IMPORTS)
        result = grader.grade(job, sandbox=sandbox)
    assert result.verdict is Verdict.SCORED, result.message
    assert result.stdout.split() == ["x32", str(int(__import__("signal").SIGSYS))]


def test_os_level_routes_to_denied_calls_fail_inside(job_for) -> None:
    """The same denials, reached the way a plain Python solution would (no ctypes)."""
    body = """
import socket, threading
def attempt(name, call):
    try:
        call()
        print(name, 0)
    except OSError as exc:
        print(name, exc.errno)
attempt("memfd_create", lambda: os.memfd_create("x"))
attempt("netlink", lambda: socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0))
attempt("inet", lambda: socket.socket(socket.AF_INET, socket.SOCK_STREAM))
attempt("inet6", lambda: socket.socket(socket.AF_INET6, socket.SOCK_DGRAM))
attempt("vsock", lambda: socket.socket(40, socket.SOCK_STREAM))
attempt("packet", lambda: socket.socket(17, socket.SOCK_RAW, 0))
attempt("unix", lambda: socket.socket(socket.AF_UNIX, socket.SOCK_STREAM).close())
attempt("unix_pair", lambda: [s.close() for s in socket.socketpair()])
attempt("shm_open", lambda: open("/dev/shm/x", "wb"))
done = []
t = threading.Thread(target=lambda: done.append(1))
t.start()
t.join()
print("thread", 0 if done else 1)
pid = os.fork()
if pid == 0:
    os._exit(3)
print("fork", os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
"""
    result = grader.grade(job_for(body), sandbox=kernel_sandbox())  # socket is there
    assert result.verdict is Verdict.SCORED, result.message
    seen = dict(line.split(" ", 1) for line in result.stdout.splitlines())
    eperm = str(errno.EPERM)
    for name in ("memfd_create", "netlink", "inet", "inet6", "vsock", "packet"):
        assert seen[name] == eperm, (name, seen)
    assert seen["unix"] == "0"
    assert seen["unix_pair"] == "0"
    assert seen["shm_open"] == str(errno.EROFS)  # /dev is read-only: no POSIX shared memory
    assert seen["thread"] == "0"  # clone3 answers ENOSYS, the C library falls back to clone
    assert seen["fork"] == "3"


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
