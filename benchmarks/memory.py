#!/usr/bin/env python3
"""Memory: resident memory (RSS) of the web process and of a grading worker, idle and while
grading.

    .venv/bin/python benchmarks/memory.py [--count 40]

Starts one web process (uvicorn, DEBUG off) and one grading worker (`celery -A hackathon
worker -c 1`: a main process and one pool process; the sandbox runs below the pool process).
RSS counts pages the pool process shares with the main process (forked after the grader
was warmed up) in both; PSS splits them, so PSS values add up. Idle: after a warm-up (a few pages served, one submission graded), sampled for 3 s.
While grading: --count trivial submissions are graded while a client keeps requesting the
leaderboard page; RSS sampled every 0.1 s, the peak reported.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _stack import (  # noqa: E402
    TRIVIAL_SOLUTION,
    Stack,
    children_of,
    descendants_of,
    machine,
    median,
    print_table,
    pss_mb,
    rss_mb,
    wait_all_finished,
)


def sample(web_pid: int, worker_pid: int) -> dict[str, tuple[float, float]]:
    """(RSS, PSS) in MB per process group."""
    pool = children_of(worker_pid)
    sandbox = [p for child in pool for p in descendants_of(child)]

    def both(pids: list[int]) -> tuple[float, float]:
        return sum(rss_mb(p) for p in pids), sum(pss_mb(p) for p in pids)

    return {
        "web (uvicorn)": both([web_pid]),
        "worker main process": both([worker_pid]),
        "worker pool process": both(pool),
        "worker main + pool": both([worker_pid, *pool]),
        "sandbox (bwrap + solution)": both(sandbox),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    parser.add_argument("--count", type=int, default=40)
    args = parser.parse_args()

    with Stack() as stack:
        from hackathon.submissions.services import submission_create

        challenge = stack.make_challenge("memory")
        teams = stack.make_teams(5)
        web, port = stack.start_web()
        worker = stack.start_worker("mem-worker")
        board = f"http://127.0.0.1:{port}/leaderboard/{challenge.slug}/"

        def get(url: str) -> None:
            with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 - the benchmark's own server on 127.0.0.1
                response.read()

        for _ in range(5):
            get(board)
            get(f"http://127.0.0.1:{port}/challenges/")
        warm = [submission_create(challenge=challenge, user=teams[0][0], code=TRIVIAL_SOLUTION).pk]
        wait_all_finished(warm, timeout=300)
        time.sleep(1.0)

        idle: dict[str, list[tuple[float, float]]] = {}
        for _ in range(30):
            for key, value in sample(web.pid, worker.pid).items():
                idle.setdefault(key, []).append(value)
            time.sleep(0.1)

        stop = threading.Event()
        requests = 0

        def browse() -> None:
            nonlocal requests
            while not stop.is_set():
                get(board)
                requests += 1

        browser = threading.Thread(target=browse, daemon=True)
        browser.start()
        ids = [
            submission_create(
                challenge=challenge, user=teams[i % len(teams)][0], code=TRIVIAL_SOLUTION
            ).pk
            for i in range(args.count)
        ]
        busy: dict[str, list[tuple[float, float]]] = {}
        from hackathon.submissions.models import State, Submission

        while Submission.objects.filter(pk__in=ids, state=State.FINISHED).count() < len(ids):
            for key, value in sample(web.pid, worker.pid).items():
                busy.setdefault(key, []).append(value)
            time.sleep(0.1)
        stop.set()
        browser.join(timeout=30)

    rows = []
    for key in idle:
        idle_rss = median([r for r, _ in idle[key]])
        idle_pss = median([p for _, p in idle[key]])
        peak_rss = max([r for r, _ in busy.get(key, [])] or [0.0])
        peak_pss = max([p for _, p in busy.get(key, [])] or [0.0])
        rows.append(
            [key, f"{idle_rss:.0f}", f"{idle_pss:.0f}", f"{peak_rss:.0f}", f"{peak_pss:.0f}"]
        )
    print_table(
        f"Memory (MB; PSS counts pages shared after fork once): idle, and peak while grading {args.count} trivial submissions "
        f"with {requests} leaderboard page views alongside ({machine()})",
        ["process", "idle RSS", "idle PSS", "grading peak RSS", "grading peak PSS"],
        rows,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
