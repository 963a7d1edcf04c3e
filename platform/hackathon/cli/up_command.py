"""The `hackathon up` command's arguments: defined here so that every other command (and
`--help`) starts without loading the supervisor's modules (psutil, ctypes, urllib, ...)."""

from __future__ import annotations

import argparse
import os


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "up",
        help="run the platform on this machine (web, grading worker, beat, Redis)",
        description=(
            "Run the whole platform on this machine in one foreground process group: Redis, "
            "the web server, a grading worker and beat; Ctrl-C stops everything."
        ),
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to serve on (127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port to serve on (8000)")
    parser.add_argument(
        "--concurrency",
        type=int,
        default=min(2, os.cpu_count() or 1),
        help="submissions graded at once by the local worker (default: up to 2)",
    )
    parser.add_argument(
        "--grace",
        type=float,
        default=20.0,
        help="seconds children get to stop before they are killed (20)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    # Lazy: the supervisor and its modules load only when `hackathon up` runs.
    from hackathon.cli import up

    return up.run(args)
