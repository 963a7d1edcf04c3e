#!/usr/bin/env python3
"""A bounded load run against 127.0.0.1: leaderboard views, submission pages and submissions
mixed, for a fixed time; then it waits for every accepted submission to be graded and stops.

    .venv/bin/python benchmarks/load_run.py [--users 16] [--seconds 30]

One web process (uvicorn, DEBUG off) and one grading worker on a fresh PostgreSQL database
and a private Redis. Each virtual user is a team member with a keep-alive connection, a
session cookie and an API token, and picks at random (fixed seed), with a short pause:
leaderboard page 40 %, leaderboard API 15 %, its own submission page 20 %, that
submission's status JSON 10 %, a new submission through the API 15 % (201, or 429 when a
quota says no). Fails (exit 1) on any 5xx, connection error or ungraded submission.
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import sys
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _stack import (  # noqa: E402
    TRIVIAL_SOLUTION,
    Stack,
    machine,
    percentile,
    print_table,
    wait_all_finished,
)

MIX = [
    ("leaderboard page", 40),
    ("leaderboard API", 15),
    ("submission page", 20),
    ("submission status", 10),
    ("submit (API)", 15),
]


class VirtualUser(threading.Thread):
    def __init__(
        self, port: int, slug: str, cookie: str, token: str, submission_id: int, seed: int,
        until: float, results: list,
    ) -> None:  # fmt: skip
        super().__init__(daemon=True)
        self.port, self.slug, self.cookie, self.token = port, slug, cookie, token
        self.submission_id = submission_id
        self.random = random.Random(seed)  # noqa: S311 - a seeded, reproducible load pattern
        self.until = until
        self.results = results
        self.accepted: list[int] = []
        self.connection: http.client.HTTPConnection | None = None

    def request(self, method: str, path: str, *, body: bytes | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, bytes]:  # fmt: skip
        for attempt in (1, 2):
            if self.connection is None:
                self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            try:
                self.connection.request(method, path, body=body, headers=headers or {})
                response = self.connection.getresponse()
                return response.status, response.read()
            except (http.client.HTTPException, OSError):
                self.connection.close()
                self.connection = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def run(self) -> None:
        kinds = [k for k, _ in MIX]
        weights = [w for _, w in MIX]
        session = {"Cookie": f"sessionid={self.cookie}"}
        api = {"Authorization": f"Token {self.token}"}
        while time.monotonic() < self.until:
            kind = self.random.choices(kinds, weights)[0]
            started = time.perf_counter()
            try:
                if kind == "leaderboard page":
                    status, _ = self.request("GET", f"/leaderboard/{self.slug}/", headers=session)
                elif kind == "leaderboard API":
                    status, _ = self.request(
                        "GET", f"/api/v1/challenges/{self.slug}/leaderboard/", headers=api
                    )
                elif kind == "submission page":
                    status, _ = self.request(
                        "GET", f"/submissions/{self.submission_id}/", headers=session
                    )
                elif kind == "submission status":
                    status, _ = self.request(
                        "GET", f"/submissions/{self.submission_id}/status.json", headers=session
                    )
                else:
                    status, body = self.request(
                        "POST",
                        f"/api/v1/challenges/{self.slug}/submissions/",
                        body=json.dumps({"code": TRIVIAL_SOLUTION}).encode(),
                        headers={**api, "Content-Type": "application/json"},
                    )
                    if status == 201:
                        self.accepted.append(int(json.loads(body)["id"]))
            except (http.client.HTTPException, OSError) as exc:
                status = f"error {type(exc).__name__}"
            self.results.append((kind, status, time.perf_counter() - started))
            time.sleep(self.random.uniform(0.05, 0.2))
        if self.connection:
            self.connection.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    parser.add_argument("--users", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()

    with Stack() as stack:
        from django.test import Client
        from hackathon.accounts.services import api_token_create
        from hackathon.submissions.services import submission_create

        challenge = stack.make_challenge("load-run")
        challenge.inflight_cap = 3
        challenge.daily_quota = 1000
        challenge.save(update_fields=["inflight_cap", "daily_quota"])
        teams = stack.make_teams(args.users, prefix="load")
        _, port = stack.start_web()
        stack.start_worker("load-worker")
        seeds = [
            submission_create(challenge=challenge, user=user, code=TRIVIAL_SOLUTION).pk
            for user, _ in teams
        ]
        wait_all_finished(seeds, timeout=600)

        results: list[tuple[str, object, float]] = []
        until = time.monotonic() + args.seconds
        users = []
        for index, ((user, _), submission_id) in enumerate(zip(teams, seeds, strict=True)):
            client = Client()
            client.force_login(user)
            _, raw = api_token_create(user=user, name="load run")
            users.append(
                VirtualUser(
                    port,
                    challenge.slug,
                    client.cookies["sessionid"].value,
                    raw,
                    submission_id,
                    seed=index,
                    until=until,
                    results=results,
                )  # fmt: skip
            )
        started = time.monotonic()
        for user in users:
            user.start()
        for user in users:
            user.join()
        elapsed = time.monotonic() - started
        accepted = [sid for user in users for sid in user.accepted]
        drain_started = time.monotonic()
        wait_all_finished(accepted, timeout=max(300, len(accepted) * 5))
        drain = time.monotonic() - drain_started

        from hackathon.submissions.models import Submission

        verdicts = Counter(
            Submission.objects.filter(pk__in=accepted).values_list("verdict", flat=True)
        )

    by_kind: dict[str, list[tuple[object, float]]] = defaultdict(list)
    for kind, status, seconds in results:
        by_kind[kind].append((status, seconds))
    rows = []
    for kind, _ in MIX:
        samples = by_kind.get(kind, [])
        latencies = [s for _, s in samples]
        statuses = Counter(str(status) for status, _ in samples)
        rows.append(
            [
                kind,
                len(samples),
                f"{percentile(latencies, 0.5) * 1000:.0f}",
                f"{percentile(latencies, 0.95) * 1000:.0f}",
                f"{max(latencies, default=0) * 1000:.0f}",
                " ".join(f"{code}×{n}" for code, n in sorted(statuses.items())),
            ]
        )
    everything = [s for _, _, s in results]
    server_errors = sum(
        1 for _, status, _ in results if not isinstance(status, int) or status >= 500
    )
    rows.append(
        [
            "all",
            len(results),
            f"{percentile(everything, 0.5) * 1000:.0f}",
            f"{percentile(everything, 0.95) * 1000:.0f}",
            f"{max(everything, default=0) * 1000:.0f}",
            f"5xx or errors: {server_errors}",
        ]
    )
    print_table(
        f"Load run: {args.users} users for {elapsed:.0f} s, {len(results) / elapsed:.0f} req/s, "
        f"one uvicorn process and one grading worker ({machine()})",
        ["request", "count", "p50 ms", "p95 ms", "max ms", "statuses"],
        rows,
    )
    print(
        f"\n{len(accepted)} submissions accepted during the run, all graded "
        f"{drain:.0f} s after it ended: {dict(verdicts)}"
    )
    ok = server_errors == 0 and set(verdicts) <= {"scored"} and len(accepted) > 0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
