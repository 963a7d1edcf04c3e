#!/usr/bin/env python3
"""Submit to leaderboard: from the API call that submits a trivial solution to the
leaderboard event reaching a Server-Sent Events client, with a real grading worker.

    .venv/bin/python benchmarks/submit_to_leaderboard.py [--runs 30] [--warmup 3]

Real processes (benchmarks/_stack.py): PostgreSQL (BENCH_DATABASE_URL, recreated), a private
redis-server, one Celery grading worker (sandbox included), one uvicorn web process. An SSE
client listens on the challenge's public live topic; each run submits through
`POST /api/v1/challenges/<slug>/submissions/` with an API token (a new team each time, so
every run changes the board) and waits for the `leaderboard` event. Runs are sequential.
Prints p50/p95 of the whole path and of its parts (API call, queue wait, grading, publish).
Target: p50 under 0.5 s on a 2-core machine.
"""

from __future__ import annotations

import argparse
import http.client
import json
import queue
import sys
import threading
import time
import urllib.request
import uuid
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parent)]

from _stack import (  # noqa: E402
    TRIVIAL_SOLUTION,
    Stack,
    machine,
    median,
    percentile,
    print_table,
)


class SseListener(threading.Thread):
    """Reads an SSE stream and puts (arrival time, event name, data) on a queue."""

    def __init__(self, port: int, path: str) -> None:
        super().__init__(daemon=True)
        self.events: queue.Queue[tuple[float, str, dict]] = queue.Queue()
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
        self.connection.request("GET", path, headers={"Accept": "text/event-stream"})
        self.response = self.connection.getresponse()
        if self.response.status != 200:
            raise RuntimeError(f"SSE endpoint answered {self.response.status}")
        self.connected = threading.Event()

    def run(self) -> None:
        data: list[str] = []
        while True:
            raw = self.response.readline()
            if not raw:
                return
            line = raw.decode().rstrip("\n")
            if line == ": connected":
                self.connected.set()
            elif line.startswith("data:"):
                data.append(line[5:].strip())
            elif line == "" and data:
                arrived = time.perf_counter()
                message = json.loads("\n".join(data))
                self.events.put((arrived, message.get("event", ""), message.get("data") or {}))
                data = []


def submit(port: int, slug: str, token: str) -> dict:
    boundary = uuid.uuid4().hex
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="solution.py"\r\n'
        f"Content-Type: text/x-python\r\n\r\n{TRIVIAL_SOLUTION}\r\n--{boundary}--\r\n"
    ).encode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/challenges/{slug}/submissions/",
        data=body,
        method="POST",
        headers={
            "Authorization": f"Token {token}",
            "Content-Type": f"multipart/form-data; boundary={boundary}",
        },
    )
    with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 - 127.0.0.1
        return json.loads(response.read())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=3)
    args = parser.parse_args()

    with Stack() as stack:
        from hackathon.accounts.services import api_token_create
        from hackathon.submissions.models import Submission

        challenge = stack.make_challenge("bench-submit")
        teams = stack.make_teams(args.runs + args.warmup, prefix="submitter")
        tokens = [api_token_create(user=user, name="bench")[1] for user, _ in teams]
        stack.start_worker("grader-1")
        _, port = stack.start_web()
        listener = SseListener(port, f"/leaderboard/live/?topic=challenge:{challenge.pk}")
        listener.start()
        if not listener.connected.wait(30):
            raise RuntimeError("the SSE stream did not connect")

        rows: list[dict[str, float]] = []
        for i, token in enumerate(tokens):
            while not listener.events.empty():
                listener.events.get_nowait()
            t0 = time.perf_counter()
            created = submit(port, challenge.slug, token)
            t_api = time.perf_counter()
            while True:
                arrived, event, _ = listener.events.get(timeout=120)
                if event == "leaderboard":
                    break
            sub = Submission.objects.get(pk=created["id"])
            if sub.verdict != "scored":
                raise RuntimeError(f"submission {sub.pk} ended {sub.verdict}: {sub.message}")
            if i < args.warmup:
                continue
            queued = (sub.started_at - sub.created_at).total_seconds()
            grading = (sub.finished_at - sub.started_at).total_seconds()
            total = arrived - t0
            rows.append(
                {
                    "total": total,
                    "api": t_api - t0,
                    "queue": queued,
                    "grading": grading,
                    "rest": max(0.0, total - (t_api - t0) - queued - grading),
                }
            )

    parts = [
        ("API submit call (HTTP round trip)", "api"),
        ("queue wait (created -> worker claimed)", "queue"),
        ("grading (claimed -> result stored)", "grading"),
        ("publish and SSE delivery (remainder)", "rest"),
        ("total: submit call -> leaderboard event", "total"),
    ]
    table = [
        [
            label,
            f"{median([r[key] for r in rows]) * 1000:.0f}",
            f"{percentile([r[key] for r in rows], 0.95) * 1000:.0f}",
        ]
        for label, key in parts
    ]
    p50 = median([r["total"] for r in rows])
    print_table(
        f"Submit to leaderboard event, {len(rows)} runs after {args.warmup} warm-up "
        f"({machine()}); target p50 < 500 ms: {'met' if p50 < 0.5 else 'NOT met'}",
        ["stage", "p50 ms", "p95 ms"],
        table,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
