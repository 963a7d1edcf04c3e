#!/usr/bin/env python3
"""Throughput: trivial submissions graded per minute with 1 and with 2 worker processes.

    .venv/bin/python benchmarks/throughput.py [--count 60] [--workers 1,2] [--repeat 3]

Each round starts that many grading workers (`celery -A hackathon.celery worker -c 1`, separate
processes with their own scratch dir and dataset cache, sharing only the database and a
private Redis), grades a warm-up round (two per worker), then submits --count trivial
solutions at once and times until the last is finished; rounds alternate between the
worker counts (--repeat each) and the median is reported.

The round's submissions are created in one transaction and timed from its commit, when
their messages all go out, to the last result's finished_at (the database's clock, not a
poll's): the web side's work of accepting them (some 15 ms of CPU each in this process and
its PostgreSQL backend) is not counted against the workers. `--create-while-grading`
measures as this benchmark first did: created one by one while the workers grade, on the
same two cores, timed by polling. The ratio column is the
throughput relative to one worker: it shows how grading scales with worker processes
(on a 2-core machine the sandbox, the worker and PostgreSQL share those cores).

Share of the floor: the floor's rate is what N processes would grade per minute if each
submission cost only the sandbox's floor (`python -I -S -c "import numpy"`, timed between
the rounds), N x 60 / floor; target 80% with 2 workers on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _stack import (  # noqa: E402
    TRIVIAL_SOLUTION,
    Stack,
    children_of,
    machine,
    median,
    percentile,
    print_table,
    wait_all_finished,
)


def run_round(stack: Stack, challenge: object, teams: list, count: int) -> list[int]:
    from hackathon.submissions.services import submission_create

    return [
        submission_create(
            challenge=challenge, user=teams[i % len(teams)][0], code=TRIVIAL_SOLUTION
        ).pk
        for i in range(count)
    ]


def measure(
    stack: Stack,
    n_workers: int,
    count: int,
    challenge: object,
    teams: list,
    *,
    create_while_grading: bool = False,
) -> dict:
    from hackathon.submissions.models import Submission

    names = [f"tp{n_workers}-{i}" for i in range(n_workers)]
    for name in names:
        stack.start_worker(name, wait=False)
    for name in names:
        stack.wait_worker(name)
    warm = run_round(stack, challenge, teams, 2 * n_workers)
    wait_all_finished(warm, timeout=300)

    workers = [stack.workers[name].pid for name in names]
    before = cpu_by_part(stack, workers)
    if create_while_grading:
        started = time.monotonic()
        ids = run_round(stack, challenge, teams, count)
        wait_all_finished(ids, timeout=max(600, count * 10))
        elapsed = time.monotonic() - started
    else:
        from django.db import transaction
        from django.db.models import Max

        with transaction.atomic():
            ids = run_round(stack, challenge, teams, count)
            before = cpu_by_part(stack, workers)  # from here on: the grading only
        committed = time.time()  # the messages go out as the transaction commits
        wait_all_finished(ids, timeout=max(600, count * 10), interval=0.5)
        last = Submission.objects.filter(pk__in=ids).aggregate(last=Max("finished_at"))["last"]
        elapsed = last.timestamp() - committed
    after = cpu_by_part(stack, workers)
    cpu = {part: (after[part] - before.get(part, 0.0)) / count for part in after}

    rows = Submission.objects.filter(pk__in=ids)
    verdicts = set(rows.values_list("verdict", flat=True))
    per_grade = [
        (s.finished_at - s.started_at).total_seconds()
        for s in rows.only("started_at", "finished_at")
    ]
    by_worker = {name: rows.filter(worker=name).count() for name in names}
    for name in names:
        stack.stop_worker(name)
    return {
        "workers": n_workers,
        "count": count,
        "seconds": elapsed,
        "per_minute": count / elapsed * 60,
        "grade_p50": median(per_grade),
        "grade_p95": percentile(per_grade, 0.95),
        "verdicts": ",".join(sorted(verdicts)),
        "split": "/".join(str(by_worker[n]) for n in names),
        "cpu": cpu,
    }


def _on_cpu(pid: int) -> float:
    try:
        return int(Path(f"/proc/{pid}/schedstat").read_text().split()[0]) / 1e9
    except (OSError, ValueError, IndexError):
        return 0.0


def cpu_by_part(stack: Stack, workers: list[int]) -> dict[str, float]:
    """CPU seconds so far of what runs beside the sandboxes: the workers' main and pool
    processes, this database's PostgreSQL backends (they live as long as their connection,
    kept across tasks), Redis, and this process (it polls; it may create the submissions)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
        backends = [row[0] for row in cursor.fetchall()]
    return {
        "worker main": sum(_on_cpu(pid) for pid in workers),
        "worker pool": sum(_on_cpu(child) for pid in workers for child in children_of(pid)),
        "PostgreSQL": sum(_on_cpu(pid) for pid in backends),
        "Redis": _on_cpu(stack.redis.process.pid),  # type: ignore[union-attr]
        "this process": time.process_time(),
    }


def floor_s(*, sandbox_env: bool = False) -> float:
    """The sandbox's floor: its Python start with numpy (the flags the sandbox uses); with
    `sandbox_env`, also its thread counts (OPENBLAS_NUM_THREADS=1...: no BLAS thread per
    core started by numpy's import)."""
    import numpy as np

    from grader.sandbox import ENV_ALLOW

    parent = str(Path(np.__file__).resolve().parents[1])
    code = f"import sys; sys.path.append({parent!r}); import numpy"
    env = None
    if sandbox_env:
        threads = {k: v for k, v in ENV_ALLOW.items() if k.endswith("_NUM_THREADS")}
        env = {**os.environ, **threads}
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-I", "-S", "-c", code], check=True, env=env)  # noqa: S603
    return time.perf_counter() - t0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    parser.add_argument("--count", type=int, default=60, help="submissions per round")
    parser.add_argument("--workers", default="1,2", help="worker counts, comma-separated")
    parser.add_argument("--repeat", type=int, default=3, help="rounds per worker count")
    parser.add_argument(
        "--create-while-grading",
        action="store_true",
        help="create each round's submissions one by one while the workers grade (as first)",
    )
    args = parser.parse_args()
    counts = [int(x) for x in args.workers.split(",")]

    results: dict[int, list[dict]] = {n: [] for n in counts}
    floors: list[float] = []
    sandbox_floors: list[float] = []
    with Stack() as stack:
        challenge = stack.make_challenge("throughput")
        teams = stack.make_teams(10)
        # Interleaved rounds: a change in the machine's load hits every configuration alike.
        for _ in range(args.repeat):
            for n in counts:
                results[n].append(
                    measure(
                        stack,
                        n,
                        args.count,
                        challenge,
                        teams,
                        create_while_grading=args.create_while_grading,
                    )
                )
                for _ in range(5):
                    floors.append(floor_s())
                    sandbox_floors.append(floor_s(sandbox_env=True))
    floor = median(floors)
    sandbox_floor = median(sandbox_floors)

    def rate(n: int) -> float:
        return median([r["per_minute"] for r in results[n]])

    base = rate(counts[0])
    rows = []
    for n in counts:
        rounds = results[n]
        rates = [r["per_minute"] for r in rounds]
        rows.append(
            [
                n,
                f"{len(rounds)} x {args.count}",
                f"{rate(n):.0f}",
                f"{min(rates):.0f}-{max(rates):.0f}",
                f"{rate(n) / base:.2f}",
                f"{100 * rate(n) / (n * 60 / floor):.0f}%",
                f"{100 * rate(n) / (n * 60 / sandbox_floor):.0f}%",
                f"{median([r['grade_p50'] for r in rounds]):.2f}",
                f"{median([r['grade_p95'] for r in rounds]):.2f}",
                " ".join(r["split"] for r in rounds),
                ",".join(sorted({r["verdicts"] for r in rounds})),
            ]
        )
    method = (
        "created one by one while the workers grade"
        if args.create_while_grading
        else "created beforehand, timed from their messages to the last result"
    )
    print_table(
        f"Throughput: trivial submissions graded per minute, {method} ({machine()}; floor "
        f"{floor * 1000:.0f} ms, {sandbox_floor * 1000:.0f} ms in the sandbox's environment; "
        f"load average {os.getloadavg()[0]:.2f})",
        [
            "worker processes",
            "rounds",
            "graded/min (median)",
            "range",
            "ratio",
            "share of the floor's rate",
            "share, floor in the sandbox's env",
            "claim-to-result p50 s",
            "p95 s",
            "per worker",
            "verdicts",
        ],
        rows,
    )
    parts = list(results[counts[0]][0]["cpu"])
    print_table(
        "CPU per graded submission beside the sandboxes (ms, median of the rounds): what the "
        "workers, the database, Redis and this process (waiting for the results; also creating "
        "the submissions with --create-while-grading) use",
        ["worker processes", *parts],
        [
            [n, *(f"{1000 * median([r['cpu'][p] for r in results[n]]):.1f}" for p in parts)]
            for n in counts
        ],
    )
    ok = all(r["verdicts"] == "scored" for rounds in results.values() for r in rounds)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
