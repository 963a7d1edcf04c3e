#!/usr/bin/env python3
"""Run every benchmark script in benchmarks/, one after the other, and print their tables.

    .venv/bin/python benchmarks/run_all.py [--only NAME[,NAME...]] [--skip NAME[,NAME...]]

A benchmark script is a `*.py` file here with a `__main__` block whose name does not start
with "_" (helper modules) and is not this file. Each runs with its default arguments in its
own process (the same Python), its output streamed as it comes; a summary of exit statuses
and durations closes the run. Exit status: 0 when every script exited 0.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def benchmark_scripts() -> list[Path]:
    scripts = []
    for path in sorted(HERE.glob("*.py")):
        if path.name.startswith("_") or path.resolve() == Path(__file__).resolve():
            continue
        if 'if __name__ == "__main__":' in path.read_text(errors="replace"):
            scripts.append(path)
    return scripts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    parser.add_argument("--only", default="", help="comma-separated script names (no .py)")
    parser.add_argument("--skip", default="", help="comma-separated script names (no .py)")
    parser.add_argument("--list", action="store_true", help="list the scripts and stop")
    args = parser.parse_args()
    only = {n.strip().removesuffix(".py") for n in args.only.split(",") if n.strip()}
    skip = {n.strip().removesuffix(".py") for n in args.skip.split(",") if n.strip()}
    scripts = [
        s for s in benchmark_scripts() if (not only or s.stem in only) and s.stem not in skip
    ]
    unknown = (only | skip) - {s.stem for s in benchmark_scripts()}
    if unknown:
        print(f"no benchmark named {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    if args.list:
        print("\n".join(s.stem for s in scripts))
        return 0

    summary = []
    for script in scripts:
        print(f"\n===== {script.name} =====", flush=True)
        started = time.monotonic()
        status = subprocess.run([sys.executable, str(script)], cwd=HERE.parent).returncode  # noqa: S603 - this interpreter on the scripts beside this one
        summary.append((script.stem, status, time.monotonic() - started))

    print("\n===== summary =====")
    width = max((len(name) for name, _, _ in summary), default=10)
    for name, status, seconds in summary:
        verdict = "ok" if status == 0 else f"exit {status}"
        print(f"{name.ljust(width)}  {verdict:8}  {seconds:6.0f} s")
    return 0 if all(status == 0 for _, status, _ in summary) else 1


if __name__ == "__main__":
    sys.exit(main())
