"""`hackathon up`: the whole platform in one foreground process group."""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("up", help="run the platform on this machine (web, worker, beat, Redis)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    raise SystemExit("not implemented yet")
