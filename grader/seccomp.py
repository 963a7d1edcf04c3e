"""The sandbox's seccomp deny-list, compiled by the system's libseccomp for `bwrap --seccomp`.

The namespaces are the security boundary; this filter removes kernel attack surface that a
numpy training script never needs: memory outside any file system (memfd_create, memfd_secret),
debugging other processes, BPF, perf, keyrings, io_uring, userfaultfd, landlock, mounting, new
namespaces (unshare, setns, clone with a namespace flag; clone3, whose flags a filter cannot
read, answers ENOSYS so the C library falls back to clone), kernel modules, kexec, sockets of
any family but AF_UNIX (no netlink, no vsock), terminal injection. Denied calls fail with EPERM.

libseccomp (Debian libseccomp2, through the pyseccomp binding) resolves every name to this
machine's numbers and adds the architecture checks: a call through a foreign ABI (i386
`int 0x80`, x32) kills the thread, so the list cannot be bypassed by switching syscall tables.
"""

from __future__ import annotations

import errno
import hashlib
import os
import sys
import tempfile
from functools import cache
from pathlib import Path
from types import ModuleType

DENIED_SYSCALLS: tuple[str, ...] = (
    # memory the sandbox's file systems do not hold
    "memfd_create",
    "memfd_secret",
    # other processes, the kernel's programmable parts
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "process_madvise",
    "pidfd_getfd",
    "kcmp",
    "bpf",
    "perf_event_open",
    "userfaultfd",
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    "landlock_create_ruleset",
    "landlock_add_rule",
    "landlock_restrict_self",
    "keyctl",
    "add_key",
    "request_key",
    # file systems and namespaces
    "mount",
    "umount2",
    "pivot_root",
    "chroot",
    "fsopen",
    "fsconfig",
    "fsmount",
    "fspick",
    "move_mount",
    "open_tree",
    "mount_setattr",
    "unshare",
    "setns",
    "open_by_handle_at",
    "name_to_handle_at",
    "fanotify_init",
    # the machine itself
    "kexec_load",
    "kexec_file_load",
    "init_module",
    "finit_module",
    "delete_module",
    "swapon",
    "swapoff",
    "reboot",
    "acct",
    "quotactl",
    "quotactl_fd",
    "syslog",
    "settimeofday",
    "clock_settime",
    "adjtimex",
    "clock_adjtime",
    "vhangup",
    "lookup_dcookie",
    "move_pages",
    "migrate_pages",
    "iopl",
    "ioperm",
    "uselib",
)
ENOSYS_SYSCALLS: tuple[str, ...] = ("clone3",)

# linux/sched.h: the namespace flags of clone() (CLONE_NEWTIME only exists for clone3/unshare).
CLONE_NAMESPACE_FLAGS = {
    "CLONE_NEWNS": 0x00020000,
    "CLONE_NEWCGROUP": 0x02000000,
    "CLONE_NEWUTS": 0x04000000,
    "CLONE_NEWIPC": 0x08000000,
    "CLONE_NEWUSER": 0x10000000,
    "CLONE_NEWPID": 0x20000000,
    "CLONE_NEWNET": 0x40000000,
}
AF_UNIX = 1
TIOCSTI = 0x5412
TIOCLINUX = 0x541C


class SeccompUnavailable(RuntimeError):
    """libseccomp cannot be loaded here (not installed, or no support for this machine)."""


def libseccomp() -> ModuleType:
    """The pyseccomp binding; SeccompUnavailable when the system's libseccomp is missing."""
    try:
        # Imported here: it loads the shared library at import time, and a grader without
        # libseccomp still grades (at the standard level) rather than failing to import.
        import pyseccomp
    except (ImportError, OSError, RuntimeError) as exc:
        raise SeccompUnavailable(
            f"libseccomp cannot be loaded ({exc}): install the Debian package libseccomp2"
        ) from exc
    return pyseccomp


def _filter() -> object:
    sc = libseccomp()
    deny = sc.ERRNO(errno.EPERM)
    arch = sc.system_arch()
    f = sc.SyscallFilter(sc.ALLOW)
    for name in DENIED_SYSCALLS:
        if sc.resolve_syscall(arch, name) >= 0:  # e.g. iopl exists only on x86
            f.add_rule(deny, name)
    for name in ENOSYS_SYSCALLS:
        if sc.resolve_syscall(arch, name) >= 0:
            f.add_rule(sc.ERRNO(errno.ENOSYS), name)
    for flag in CLONE_NAMESPACE_FLAGS.values():
        f.add_rule(deny, "clone", sc.Arg(0, sc.MASKED_EQ, flag, flag))
    for name in ("socket", "socketpair"):
        f.add_rule(deny, name, sc.Arg(0, sc.NE, AF_UNIX))
    for request in (TIOCSTI, TIOCLINUX):
        # The kernel reads ioctl's request as 32 bits: compare only those (no high-bit bypass).
        f.add_rule(deny, "ioctl", sc.Arg(1, sc.MASKED_EQ, 0xFFFFFFFF, request))
    return f


@cache
def deny_filter() -> bytes:
    """The compiled filter: an array of struct sock_filter, as `bwrap --seccomp FD` reads it."""
    try:
        f = _filter()
        with tempfile.TemporaryFile() as out:
            f.export_bpf(out)  # type: ignore[attr-defined]
            out.seek(0)
            return out.read()
    except OSError as exc:
        raise SeccompUnavailable(f"libseccomp could not compile the filter: {exc}") from exc


def filter_text() -> str:
    """The filter in libseccomp's pseudo-filter-code form (for reading and for tests)."""
    f = _filter()
    with tempfile.TemporaryFile() as out:
        f.export_pfc(out)  # type: ignore[attr-defined]
        out.seek(0)
        return out.read().decode()


def kept_deny_filter(state_dir: Path) -> bytes:
    """`deny_filter`, compiled once per machine and kept in the sandbox's state dir: loading
    libseccomp (its binding looks the library up with two `ldconfig -p` runs) and compiling
    the filter cost every new worker and every `hackathon evaluate` some 30 ms. The file is
    named by this module's source and the machine's architecture: another list, another
    file. The state dir is trusted as much as the runtime it also holds."""
    source = Path(__file__).read_bytes()
    key = hashlib.sha256(source + os.uname().machine.encode() + sys.byteorder.encode())
    path = Path(state_dir) / f"seccomp-{key.hexdigest()[:16]}.bpf"
    try:
        data = path.read_bytes()
    except OSError:
        data = b""
    if data and len(data) % 8 == 0:  # whole struct sock_filter entries
        return data
    data = deny_filter()
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".seccomp-")
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)  # atomic: another worker never reads half a filter
    except OSError:
        pass  # kept next time, perhaps; this run has its filter
    return data
