"""The `hackathon` console script: `up` runs the platform; the rest talk to a server."""

from __future__ import annotations

import argparse
import sys


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hackathon", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    # Lazy: each command's module loads only when the CLI starts (fast `--help`).
    from hackathon.cli import up_command

    up_command.add_parser(sub)
    from hackathon.cli import evaluate, remote  # participant commands (API client, local grading)

    remote.add_parsers(sub)
    evaluate.add_parsers(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
