#!/usr/bin/env python3
"""Leaderboard rebuild at 200,000 submissions of 2,000 teams on PostgreSQL: print a table.

    .venv/bin/python benchmarks/leaderboard_rebuild.py [--teams 2000] [--submissions 200000]
        [--runs 5]

Uses DATABASE_URL (default postgres://postgres@127.0.0.1:5432/bench_rebuild; created,
migrated and seeded with `manage.py seed_leaderboard` when the seeded challenge is not
there). Times, alternately, `leaderboard_rebuild` as it is (each team's candidate rows
picked in SQL, then the rule applied to them) and the streamed pass it replaced (every
scored submission fetched in team order, the rule applied to all of them), both with and
without a freeze time, and checks that both give the same rows. The table gives the
median and range of the runs of each.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterable
from datetime import timedelta
from itertools import groupby
from operator import itemgetter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/bench_rebuild"


def _ensure_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def _manage(env: dict[str, str], *args: str) -> None:
    subprocess.run([sys.executable, str(ROOT / "manage.py"), *args], env=env, check=True)  # noqa: S603


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    parser.add_argument("--teams", type=int, default=2000)
    parser.add_argument("--submissions", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    db_url = os.environ.get("DATABASE_URL", DEFAULT_DB)
    if not db_url.startswith("postgres"):
        print("This benchmark needs PostgreSQL: set DATABASE_URL=postgres://...", file=sys.stderr)
        return 2
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "SECRET_KEY": "benchmark-only-secret-key-not-for-production",
        "DEBUG": "0",
        "LOG_LEVEL": "CRITICAL",  # no Redis here: the rebuild's live hint is not sent
        "DJANGO_SETTINGS_MODULE": "hackathon.settings",
    }
    _ensure_database(db_url)
    _manage(env, "migrate", "-v0")
    slug = f"rebuild-{args.submissions // 1000}k"
    os.environ.update(env)
    sys.path.insert(0, str(ROOT / "platform"))
    import django

    django.setup()
    from hackathon.challenges.models import Challenge
    from hackathon.submissions.models import Submission

    challenge = Challenge.objects.filter(slug=slug).first()
    if (
        challenge is None
        or Submission.objects.filter(challenge=challenge).count() < args.submissions
    ):
        _manage(
            env,
            "seed_leaderboard",
            "--slug", slug,
            "--teams", str(args.teams),
            "--submissions", str(args.submissions),
            "--reset",
        )  # fmt: skip
        challenge = Challenge.objects.get(slug=slug)

    from django.db import transaction
    from hackathon.leaderboard import services
    from hackathon.leaderboard.models import TeamScore

    def streamed_rows(challenge: Challenge) -> Iterable[TeamScore]:
        """The rebuild's former pass: every scored submission, in team order."""
        subs = services.scored_submissions(challenge).exclude(
            team_id__in=services._disqualified_team_ids(challenge)
        )
        columns = ("team_id", *services._ROW_COLUMNS)
        stream = subs.order_by("team_id").values(*columns).iterator(chunk_size=5000)
        for team_id, group in groupby(stream, key=itemgetter("team_id")):
            rows = list(group)
            values = services._values_from_rows(challenge, rows)
            yield TeamScore(challenge=challenge, team_id=team_id, **values)

    def rebuild_with(rows_of: object) -> float:
        saved = services._rebuilt_rows
        services._rebuilt_rows = rows_of  # type: ignore[assignment]
        try:
            started = time.perf_counter()
            services.leaderboard_rebuild(challenge=challenge)
            return time.perf_counter() - started
        finally:
            services._rebuilt_rows = saved

    def board() -> list[tuple]:
        fields = [f.attname for f in TeamScore._meta.concrete_fields]
        skip = {"id", "updated_at"}
        return sorted(
            tuple(row[f] for f in fields if f not in skip)
            for row in TeamScore.objects.filter(challenge=challenge).values(*fields)
        )

    first = Submission.objects.filter(challenge=challenge).order_by("created_at")[0]
    mid_time = first.created_at + timedelta(hours=24)
    table = []
    for freeze in (None, mid_time):
        Challenge.objects.filter(pk=challenge.pk).update(freeze_at=freeze)
        challenge.refresh_from_db()
        timings: dict[str, list[float]] = {"candidates in SQL": [], "streamed pass": []}
        boards = {}
        for _ in range(args.runs):
            for name, rows_of in (
                ("candidates in SQL", services._rebuilt_rows),
                ("streamed pass", streamed_rows),
            ):
                timings[name].append(rebuild_with(rows_of))
                boards[name] = board()
        same = boards["candidates in SQL"] == boards["streamed pass"]
        if not same:
            print("the two rebuilds disagree", file=sys.stderr)
            return 1
        for name, values in timings.items():
            table.append((name, "yes" if freeze else "no", values, same))
    with transaction.atomic():
        Challenge.objects.filter(pk=challenge.pk).update(freeze_at=None)
    services.leaderboard_rebuild(challenge=Challenge.objects.get(pk=challenge.pk))

    teams = TeamScore.objects.filter(challenge=challenge).count()
    print(
        f"Leaderboard rebuild, PostgreSQL, {args.submissions:,} submissions of {teams:,} "
        f"teams, display precision {challenge.display_precision}; {os.cpu_count()} cores, "
        f"load average {os.getloadavg()[0]:.1f} at the end"
    )
    print()
    print("| rebuild | freeze time | median s | range s | same rows |")
    print("|---|---|---:|---:|---|")
    for name, freeze, values, same in table:
        print(
            f"| {name} | {freeze} | {statistics.median(values):.2f} | "
            f"{min(values):.2f}-{max(values):.2f} | {'yes' if same else 'no'} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
