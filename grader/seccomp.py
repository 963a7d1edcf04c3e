"""A seccomp deny-list for the sandbox, assembled as a classic BPF program for `bwrap --seccomp`.

The namespaces are the security boundary; this filter removes kernel attack surface that a
numpy training script never needs (debugging other processes, BPF, keyrings, io_uring,
userfaultfd, mounting, new namespaces, kernel modules, vsock sockets, terminal injection).
Denied calls fail with EPERM. Calls from a foreign ABI (i386 `int 0x80`, x32) are denied
wholesale, so a deny-list cannot be bypassed by switching syscall tables.
"""

from __future__ import annotations

import errno
import platform
import struct
from functools import cache

# linux/audit.h
AUDIT_ARCH_X86_64 = 0xC000003E
AUDIT_ARCH_AARCH64 = 0xC00000B7

# linux/filter.h opcodes
_LD_W_ABS = 0x20  # BPF_LD | BPF_W | BPF_ABS
_JEQ_K = 0x15  # BPF_JMP | BPF_JEQ | BPF_K
_JGE_K = 0x35  # BPF_JMP | BPF_JGE | BPF_K
_RET_K = 0x06  # BPF_RET | BPF_K

SECCOMP_RET_ALLOW = 0x7FFF0000
SECCOMP_RET_ERRNO = 0x00050000

# struct seccomp_data: int nr; __u32 arch; __u64 instruction_pointer; __u64 args[6];
_OFF_NR = 0
_OFF_ARCH = 4


def _arg_low(index: int) -> int:
    # Low 32 bits of args[index] (both supported architectures are little-endian). The kernel
    # truncates socket()'s domain and ioctl()'s request to 32 bits, so comparing only the low
    # half is exact and closes the "high bits set" bypass.
    return 16 + 8 * index


AF_VSOCK = 40
TIOCSTI = 0x5412
TIOCLINUX = 0x541C

DENIED_SYSCALLS: tuple[str, ...] = (
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "kcmp",
    "bpf",
    "perf_event_open",
    "keyctl",
    "add_key",
    "request_key",
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    "userfaultfd",
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
    "kexec_load",
    "kexec_file_load",
    "init_module",
    "finit_module",
    "delete_module",
    "open_by_handle_at",
    "name_to_handle_at",
    "swapon",
    "swapoff",
    "reboot",
    "acct",
    "quotactl",
    "quotactl_fd",
    "fanotify_init",
    "syslog",
    "settimeofday",
    "clock_settime",
    "adjtimex",
    "clock_adjtime",
    "vhangup",
    "lookup_dcookie",
)

# Syscall numbers from asm/unistd_64.h (x86_64) and asm-generic/unistd.h (aarch64).
_X86_64 = {
    "ptrace": 101,
    "process_vm_readv": 310,
    "process_vm_writev": 311,
    "kcmp": 312,
    "bpf": 321,
    "perf_event_open": 298,
    "keyctl": 250,
    "add_key": 248,
    "request_key": 249,
    "io_uring_setup": 425,
    "io_uring_enter": 426,
    "io_uring_register": 427,
    "userfaultfd": 323,
    "mount": 165,
    "umount2": 166,
    "pivot_root": 155,
    "chroot": 161,
    "fsopen": 430,
    "fsconfig": 431,
    "fsmount": 432,
    "fspick": 433,
    "move_mount": 429,
    "open_tree": 428,
    "mount_setattr": 442,
    "unshare": 272,
    "setns": 308,
    "kexec_load": 246,
    "kexec_file_load": 320,
    "init_module": 175,
    "finit_module": 313,
    "delete_module": 176,
    "open_by_handle_at": 304,
    "name_to_handle_at": 303,
    "swapon": 167,
    "swapoff": 168,
    "reboot": 169,
    "acct": 163,
    "quotactl": 179,
    "quotactl_fd": 443,
    "fanotify_init": 300,
    "syslog": 103,
    "settimeofday": 164,
    "clock_settime": 227,
    "adjtimex": 159,
    "clock_adjtime": 305,
    "vhangup": 153,
    "lookup_dcookie": 212,
    # x86-only extras
    "iopl": 172,
    "ioperm": 173,
    "uselib": 134,
    "socket": 41,
    "ioctl": 16,
}
_AARCH64 = {
    "ptrace": 117,
    "process_vm_readv": 270,
    "process_vm_writev": 271,
    "kcmp": 272,
    "bpf": 280,
    "perf_event_open": 241,
    "keyctl": 219,
    "add_key": 217,
    "request_key": 218,
    "io_uring_setup": 425,
    "io_uring_enter": 426,
    "io_uring_register": 427,
    "userfaultfd": 282,
    "mount": 40,
    "umount2": 39,
    "pivot_root": 41,
    "chroot": 51,
    "fsopen": 430,
    "fsconfig": 431,
    "fsmount": 432,
    "fspick": 433,
    "move_mount": 429,
    "open_tree": 428,
    "mount_setattr": 442,
    "unshare": 97,
    "setns": 268,
    "kexec_load": 104,
    "kexec_file_load": 294,
    "init_module": 105,
    "finit_module": 273,
    "delete_module": 106,
    "open_by_handle_at": 265,
    "name_to_handle_at": 264,
    "swapon": 224,
    "swapoff": 225,
    "reboot": 142,
    "acct": 89,
    "quotactl": 60,
    "quotactl_fd": 443,
    "fanotify_init": 262,
    "syslog": 116,
    "settimeofday": 170,
    "clock_settime": 112,
    "adjtimex": 171,
    "clock_adjtime": 266,
    "vhangup": 58,
    "lookup_dcookie": 18,
    "socket": 198,
    "ioctl": 29,
}
_X86_EXTRAS = ("iopl", "ioperm", "uselib")
_X32_SYSCALL_BIT = 0x40000000


class UnsupportedArchitecture(RuntimeError):
    pass


def syscall_table(machine: str | None = None) -> tuple[int, dict[str, int]]:
    """(AUDIT_ARCH value, syscall numbers) for this machine."""
    machine = machine or platform.machine()
    if machine in ("x86_64", "amd64"):
        return AUDIT_ARCH_X86_64, _X86_64
    if machine in ("aarch64", "arm64"):
        return AUDIT_ARCH_AARCH64, _AARCH64
    raise UnsupportedArchitecture(f"no seccomp table for {machine}")


def _insn(code: int, jt: int, jf: int, k: int) -> bytes:
    return struct.pack("=HBBI", code, jt, jf, k)


@cache
def deny_filter(machine: str | None = None) -> bytes:
    """The compiled filter: an array of struct sock_filter, as `bwrap --seccomp FD` reads it."""
    arch, table = syscall_table(machine)
    denied = [table[name] for name in DENIED_SYSCALLS]
    if arch == AUDIT_ARCH_X86_64:
        denied += [table[name] for name in _X86_EXTRAS]
    deny = SECCOMP_RET_ERRNO | errno.EPERM

    # Symbolic program; jumps name labels and are resolved below.
    prog: list[tuple] = [
        ("ld", _OFF_ARCH),
        ("jeq", arch, None, "deny"),
        ("ld", _OFF_NR),
    ]
    if arch == AUDIT_ARCH_X86_64:
        prog.append(("jge", _X32_SYSCALL_BIT, "deny", None))
    for nr in denied:
        prog.append(("jeq", nr, "deny", None))
    prog += [
        ("jeq", table["socket"], "socket", None),
        ("jeq", table["ioctl"], "ioctl", None),
        ("ret", SECCOMP_RET_ALLOW),
        ("label", "socket"),
        ("ld", _arg_low(0)),
        ("jeq", AF_VSOCK, "deny", None),
        ("ret", SECCOMP_RET_ALLOW),
        ("label", "ioctl"),
        ("ld", _arg_low(1)),
        ("jeq", TIOCSTI, "deny", None),
        ("jeq", TIOCLINUX, "deny", None),
        ("ret", SECCOMP_RET_ALLOW),
        ("label", "deny"),
        ("ret", deny),
    ]
    labels: dict[str, int] = {}
    index = 0
    for op in prog:
        if op[0] == "label":
            labels[op[1]] = index
        else:
            index += 1

    def offset(target: str | None, here: int) -> int:
        if target is None:
            return 0
        distance = labels[target] - here - 1
        if not 0 <= distance <= 255:
            raise ValueError("seccomp jump out of range")
        return distance

    out = bytearray()
    here = 0
    for op in prog:
        kind = op[0]
        if kind == "label":
            continue
        if kind == "ld":
            out += _insn(_LD_W_ABS, 0, 0, op[1])
        elif kind == "ret":
            out += _insn(_RET_K, 0, 0, op[1])
        else:
            code = _JEQ_K if kind == "jeq" else _JGE_K
            out += _insn(code, offset(op[2], here), offset(op[3], here), op[1])
        here += 1
    return bytes(out)
