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
from dataclasses import dataclass
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
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    rng = random.Random(seed)  # noqa: S311 - benchmark scores, not secrets
    # Loaded as the claim loads them (with the challenge).
    loaded = {
        s.pk: s
        for s in Submission.objects.select_related("challenge").filter(
            pk__in=[pk for pk, _ in share]
        )
    }
    durations = []
    barrier.wait()  # type: ignore[attr-defined]
    start = time.perf_counter()
    own0, backend0 = sched("self"), sched(backend)
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
    own, backend_use = _delta(own0, sched("self")), _delta(backend0, sched(backend))
    connections.close_all()
    queue.put((start, end, durations, own, backend_use))  # type: ignore[attr-defined]


def sched(pid: int | str) -> tuple[float, float]:
    """(seconds on a CPU, seconds runnable but waiting for one) of a process on this machine,
    a PostgreSQL backend or Redis too (/proc/<pid>/schedstat, nanoseconds)."""
    on_cpu, waiting, _ = Path(f"/proc/{pid}/schedstat").read_text().split()
    return int(on_cpu) / 1e9, int(waiting) / 1e9


def _delta(before: tuple[float, float], after: tuple[float, float]) -> tuple[float, float]:
    return after[0] - before[0], after[1] - before[1]


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


@dataclass
class Run:
    rate: float  # stores per second, all processes together
    median_store_s: float
    lock_share: float
    cpu_per_store_s: float  # on a CPU: storing processes, their PostgreSQL backends, Redis
    runnable_per_store_s: float  # the same processes waiting for a CPU (other load, or P > cores)
    other_wait_per_store_s: float  # the rest of a store's time: commit to disk, wakeups


def run(processes: int, work: list[tuple[int, str]], redis_pid: int) -> Run:
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
    redis0 = sched(redis_pid)
    results = [queue.get(timeout=600) for _ in children]
    redis_use = _delta(redis0, sched(redis_pid))  # from the start: Redis is idle before
    stop.set()
    sampler.join(timeout=10)
    for child in children:
        child.join(timeout=60)
        if child.exitcode != 0:
            raise RuntimeError(f"a storing process failed ({child.exitcode})")
    wall = max(r[1] for r in results) - min(r[0] for r in results)
    durations = [d for r in results for d in r[2]]
    cpu = sum(r[3][0] + r[4][0] for r in results) + redis_use[0]
    runnable = sum(r[3][1] + r[4][1] for r in results) + redis_use[1]
    n = len(work)
    return Run(
        rate=n / wall,
        median_store_s=statistics.median(durations),
        lock_share=counts.get("Lock", 0) / max(1, sum(counts.values())),
        cpu_per_store_s=cpu / n,
        runnable_per_store_s=runnable / n,
        other_wait_per_store_s=max(0.0, sum(durations) - cpu - runnable) / n,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--stores", type=int, default=480, help="results stored per run")
    parser.add_argument("--teams", type=int, default=64)
    parser.add_argument("--processes", default="1,2,4,8")
    args = parser.parse_args()

    cores = os.cpu_count() or 1
    with Stack() as stack:
        challenge = stack.make_challenge("store-bench")
        teams = stack.make_teams(args.teams)
        redis_pid = stack.redis.process.pid  # type: ignore[union-attr]
        runs = []
        for processes in [int(p) for p in args.processes.split(",")]:
            work = _prepare(challenge, teams, args.stores)
            runs.append((processes, run(processes, work, redis_pid)))
    base = runs[0][1]
    rows = [
        [
            processes,
            f"{r.rate:.0f}",
            f"{r.rate / base.rate:.2f}x",
            f"{r.median_store_s * 1000:.1f}",
            f"{r.cpu_per_store_s * 1000:.2f}",
            f"{r.runnable_per_store_s * 1000:.2f}",
            f"{r.other_wait_per_store_s * 1000:.2f}",
            f"{100 * r.lock_share:.1f}%",
        ]
        for processes, r in runs
    ]
    print_table(
        f"Result stores on one challenge ({args.stores} per run, {args.teams} teams); "
        f"{machine()}; load average {os.getloadavg()[0]:.2f}",
        [
            "processes",
            "stores/s",
            "vs 1 process",
            "median store (ms)",
            "CPU per store (ms)",
            "waiting for a CPU (ms)",
            "other waits (ms)",
            "busy samples in a lock wait",
        ],
        rows,
    )
    cpu, wait = base.cpu_per_store_s, base.other_wait_per_store_s
    idle_wall = cpu + wait
    ceiling = min(max(p for p, _ in runs), cores * idle_wall / cpu)
    print(
        f"\nOne process: a store uses {cpu * 1000:.2f} ms of CPU (the storing process, its "
        f"PostgreSQL backend, Redis) and waits {wait * 1000:.2f} ms for anything but a CPU "
        f"(commit to disk, wakeups), so on an idle machine it takes about "
        f"{idle_wall * 1000:.2f} ms.\nCeiling of the ratio with every core storing: "
        f"{cores} cores x {idle_wall * 1000:.2f} ms / {cpu * 1000:.2f} ms = {ceiling:.1f}x "
        f"one process ({cores / cpu:.0f} stores/s). Time spent waiting for a CPU (the "
        f"machine's other load) slows one process as much as many, so it is left out."
    )


if __name__ == "__main__":
    main()
