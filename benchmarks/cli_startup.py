"""How fast the participant's `hackathon` command starts, and what it loads.

    .venv/bin/python benchmarks/cli_startup.py [--runs 15]

Prints a table of median wall times (fresh interpreter each run, interleaved): the bare
interpreter, `hackathon --help` (target <= 150 ms), `import numpy` (the grader's floor) and
importing what `hackathon evaluate` imports before it grades; then whether any server module
(Django, Celery, kombu) was loaded.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

CASES = {
    "python -c pass": ["-c", "pass"],
    "hackathon --help": ["-m", "hackathon.cli.main", "--help"],
    "import numpy (floor)": ["-c", "import numpy"],
    "evaluate's imports": [
        "-c",
        "import hackathon.cli.evaluate, grader, grader.precheck, grader.notebook",
    ],
}
SERVER = ("django", "celery", "kombu")


def _time(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(  # noqa: S603 - this interpreter, fixed arguments
        [sys.executable, *argv], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        check=True,
    )  # fmt: skip
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    times: dict[str, list[float]] = {name: [] for name in CASES}
    for _ in range(args.runs):
        for name, argv in CASES.items():
            times[name].append(_time(argv, env))
    probe = (
        "import json, sys\nfrom hackathon.cli.main import build_parser\nbuild_parser()\n"
        f"print(json.dumps([m for m in {SERVER!r} if m in sys.modules]))"
    )
    loaded = json.loads(
        subprocess.run(  # noqa: S603 - this interpreter, fixed arguments
            [sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True
        ).stdout
    )
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")
    print(f"{'command':28} {'median ms':>10} {'min ms':>8}")
    for name, values in times.items():
        print(f"{name:28} {statistics.median(values) * 1000:10.1f} {min(values) * 1000:8.1f}")
    print(f"server modules loaded by the CLI: {', '.join(loaded) or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
