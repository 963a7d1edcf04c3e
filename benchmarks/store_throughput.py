"""Storing results for one challenge from many worker processes at once (PostgreSQL).

    .venv/bin/python benchmarks/store_throughput.py [--stores 480] [--teams 64]

Method: the sandbox part is excluded, only the store path is timed. A fresh database
(BENCH_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/bench_store, dropped and
created again) gets one challenge, `--teams` teams and, per run, `--stores` submissions in
the state a grading worker leaves them just before storing: running, with a claim token.
Then P forked processes (each with its own database connection, like P grading workers)
start together at a barrier and each stores its share of the results by the platform's own
`submission_store_result` (conditional UPDATE of the submission, the team's board row,
the live events after commit), submissions taken round-robin over the teams. Throughput =
results stored / wall time from the barrier to the last process done. Printed for P = 1,
2, 4 and 8, with the ratio to P = 1 (target: 8 processes at least 6x one) and the median
time of one store seen by a process.

Lock waits: while the processes store, this process samples pg_stat_activity every 20 ms
and counts the storing sessions that wait on a lock (wait_event_type 'Lock') against those
that run or wait for their client: with no lock wider than the team's row, the share of
samples in a lock wait stays near zero whatever the number of processes. On a machine whose
cores are busy (the load average is printed), the throughput is bounded by CPU (the stores'
Python and PostgreSQL share two cores), not by locks; the wait share shows which.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import sys
import threading
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

os.environ.setdefault("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bench_store")

from _stack import Stack, machine, print_table  # noqa: E402


def _prepare(challenge: object, teams: list, count: int) -> list[tuple[int, str]]:
    from django.utils import timezone
    from hackathon.submissions.models import State, Submission

    now = timezone.now()
    rows = [
        Submission(
            challenge=challenge,
            team=teams[i % len(teams)][1],
            user=teams[i % len(teams)][0],
            code="# benchmark",
            code_sha256="0" * 64,
            state=State.RUNNING,
            queued_at=now,
            started_at=now,
            attempts=1,
            claim_token=uuid.uuid4().hex,
            worker="bench",
        )
        for i in range(count)
    ]
    made = Submission.objects.bulk_create(rows)
    return [(s.pk, s.claim_token) for s in made]


def _store_share(share: list[tuple[int, str]], barrier: object, queue: object, seed: int) -> None:
    import random

    from django.db import connections
    from hackathon.submissions.grading import submission_store_result
    from hackathon.submissions.models import Submission

    from grader.contract import GradingResult, Verdict

    connections.close_all()  # a connection of its own, as a worker process has
    rng = random.Random(seed)  # noqa: S311 - benchmark scores, not secrets
    loaded = {s.pk: s for s in Submission.objects.filter(pk__in=[pk for pk, _ in share])}
    durations = []
    barrier.wait()  # type: ignore[attr-defined]
    start = time.perf_counter()
    for pk, token in share:
        score = rng.uniform(0.1, 10.0)
        result = GradingResult(
            verdict=Verdict.SCORED,
            public_score=score,
            private_score=score * 1.01,
            public_ci=(score * 0.9, score * 1.1),
            fit_seconds=0.01,
            predict_seconds=0.001,
            peak_memory_mb=40.0,
            loss_curve=[1.0, 0.5, 0.25],
            sandbox_level="strong",
        )
        t0 = time.perf_counter()
        outcome = submission_store_result(submission=loaded[pk], token=token, result=result)
        durations.append(time.perf_counter() - t0)
        if not outcome.startswith("finished"):
            raise RuntimeError(f"submission {pk}: {outcome}")
    end = time.perf_counter()
    connections.close_all()
    queue.put((start, end, durations))  # type: ignore[attr-defined]


def _sample_waits(stop: threading.Event, counts: dict[str, int]) -> None:
    import psycopg
    from django.db import connection

    params = connection.get_connection_params()
    with psycopg.connect(**params, autocommit=True) as conn:
        while not stop.wait(0.02):
            rows = conn.execute(
                "SELECT coalesce(wait_event_type, 'CPU') FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                "AND state <> 'idle'"
            ).fetchall()
            for (kind,) in rows:
                counts[kind] = counts.get(kind, 0) + 1


def run(processes: int, work: list[tuple[int, str]]) -> tuple[float, float, float]:
    from django.db import connections

    connections.close_all()  # never share the parent's connection with forked children
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(processes)
    queue = context.Queue()
    shares = [work[i::processes] for i in range(processes)]
    children = [
        context.Process(target=_store_share, args=(shares[i], barrier, queue, i))
        for i in range(processes)
    ]
    counts: dict[str, int] = {}
    stop = threading.Event()
    sampler = threading.Thread(target=_sample_waits, args=(stop, counts), daemon=True)
    for child in children:
        child.start()
    sampler.start()
    results = [queue.get(timeout=600) for _ in children]
    stop.set()
    sampler.join(timeout=10)
    for child in children:
        child.join(timeout=60)
        if child.exitcode != 0:
            raise RuntimeError(f"a storing process failed ({child.exitcode})")
    wall = max(r[1] for r in results) - min(r[0] for r in results)
    durations = [d for r in results for d in r[2]]
    lock_share = counts.get("Lock", 0) / max(1, sum(counts.values()))
    return len(work) / wall, statistics.median(durations), lock_share


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--stores", type=int, default=480, help="results stored per run")
    parser.add_argument("--teams", type=int, default=64)
    parser.add_argument("--processes", default="1,2,4,8")
    args = parser.parse_args()

    with Stack() as stack:
        challenge = stack.make_challenge("store-bench")
        teams = stack.make_teams(args.teams)
        rows = []
        base = None
        for processes in [int(p) for p in args.processes.split(",")]:
            work = _prepare(challenge, teams, args.stores)
            rate, typical, lock_share = run(processes, work)
            base = base or rate
            rows.append(
                [
                    processes,
                    f"{rate:.0f}",
                    f"{rate / base:.2f}x",
                    f"{typical * 1000:.1f}",
                    f"{100 * lock_share:.1f}%",
                ]
            )
    print_table(
        f"Result stores on one challenge ({args.stores} per run, {args.teams} teams); "
        f"{machine()}; load average {os.getloadavg()[0]:.2f}",
        [
            "processes",
            "stores/s",
            "vs 1 process",
            "median store (ms)",
            "busy samples in a lock wait",
        ],
        rows,
    )


if __name__ == "__main__":
    main()
