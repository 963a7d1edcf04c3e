"""Seed a challenge with many teams and scored submissions, for benchmarks.

    python manage.py seed_leaderboard                      # 10,000 teams, 1,000,000 submissions
    python manage.py seed_leaderboard --teams 100 --submissions 5000 --slug small-bench

On PostgreSQL the submissions go in with COPY (about a minute for a million rows);
elsewhere with bulk inserts. Then the per-team leaderboard table is rebuilt once.
Scores are drawn from a seeded RNG: each team has a skill, each submission is that
skill plus noise, with a bootstrap-like 95% interval; a few teams select finals.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import random
import time
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction
from django.utils import timezone

from hackathon.accounts.models import Membership, Team
from hackathon.challenges.models import Challenge
from hackathon.leaderboard.models import TeamScore
from hackathon.leaderboard.services import leaderboard_rebuild
from hackathon.submissions.models import Submission

TEAM_PREFIX = "Seeded team"
MEMBER_USERNAME = "seeded-member"  # member of the median team: "jump to my team" benchmarks
SEED_CODE = "# seeded submission for leaderboard benchmarks\n"


class Command(BaseCommand):
    help = "Seed a challenge with N teams and M scored submissions (benchmarks)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--slug", default="seeded-10k")
        parser.add_argument("--teams", type=int, default=10_000)
        parser.add_argument("--submissions", type=int, default=1_000_000)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument(
            "--reset", action="store_true", help="delete the challenge's submissions first"
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        n_teams, n_subs = opts["teams"], opts["submissions"]
        if n_teams < 1 or n_subs < n_teams:
            raise CommandError("Need at least one team and at least one submission per team.")
        started = time.monotonic()
        challenge = self._challenge(opts["slug"])
        if Submission.objects.filter(challenge=challenge).exists():
            if not opts["reset"]:
                raise CommandError(
                    f"{challenge.slug} already has submissions; pass --reset to replace them."
                )
            TeamScore.objects.filter(challenge=challenge).delete()
            # One DELETE statement: the ORM's cascade collector would load a million rows.
            # Seeded rows are referenced by nothing but the TeamScore rows just deleted.
            seeded = Submission.objects.filter(challenge=challenge)
            seeded._raw_delete(seeded.db)
        teams = self._teams(n_teams)
        self._member(teams[len(teams) // 2])
        t0 = time.monotonic()
        rows = _submission_rows(challenge, teams, n_subs, random.Random(opts["seed"]))  # noqa: S311 - seeded demo data
        if connection.vendor == "postgresql":
            _copy_rows(rows)
        else:
            _bulk_rows(rows)
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(f"ANALYZE {Submission._meta.db_table}")
        inserted = time.monotonic() - t0
        t1 = time.monotonic()
        count = leaderboard_rebuild(challenge=challenge)
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(f"ANALYZE {TeamScore._meta.db_table}")
        rebuilt = time.monotonic() - t1
        self.stdout.write(
            f"{challenge.slug}: {len(teams)} teams, {n_subs} submissions inserted in "
            f"{inserted:.1f} s, leaderboard rebuilt ({count} rows) in {rebuilt:.1f} s, "
            f"total {time.monotonic() - started:.1f} s"
        )

    def _challenge(self, slug: str) -> Challenge:
        now = timezone.now()
        challenge, _ = Challenge.objects.get_or_create(
            slug=slug,
            defaults={
                "title": f"Seeded benchmark ({slug})",
                "task": "binary",
                "metric": "accuracy",
                "is_published": True,
                "start_at": now - timedelta(days=2),
                "end_at": now + timedelta(days=30),
            },
        )
        return challenge

    def _teams(self, n: int) -> list[int]:
        names = [f"{TEAM_PREFIX} {i:05d}" for i in range(n)]
        existing = dict(Team.objects.filter(name__in=names).values_list("name", "id"))
        missing = [
            Team(name=name, invite_code=hashlib.sha256(f"seed:{name}".encode()).hexdigest()[:20])
            for name in names
            if name not in existing
        ]
        Team.objects.bulk_create(missing, batch_size=2000)
        by_name = dict(Team.objects.filter(name__in=names).values_list("name", "id"))
        return [by_name[name] for name in names]

    def _member(self, team_id: int) -> None:
        user, _ = get_user_model().objects.get_or_create(username=MEMBER_USERNAME)
        Membership.objects.update_or_create(user=user, defaults={"team_id": team_id})


def _submission_rows(
    challenge: Challenge, teams: list[int], n_subs: int, rng: random.Random
) -> Iterator[dict[str, Any]]:
    """The rows, generated one at a time (a million dicts at once would take gigabytes)."""
    now = timezone.now()
    start = now - timedelta(hours=48)
    skill = {team: rng.uniform(0.6, 0.9) for team in teams}
    finals = set(rng.sample(teams, len(teams) // 3))
    code_hash = hashlib.sha256(SEED_CODE.encode()).hexdigest()
    for i in range(n_subs):
        team = teams[i % len(teams)]  # every team gets its share
        public = min(1.0, max(0.0, skill[team] + rng.gauss(0, 0.02)))
        private = min(1.0, max(0.0, public + rng.gauss(0, 0.01)))
        half = rng.uniform(0.005, 0.02)
        created = start + timedelta(seconds=rng.uniform(0, 48 * 3600))
        yield (
            {
                "challenge_id": challenge.pk,
                "team_id": team,
                "code": SEED_CODE,
                "code_sha256": code_hash,
                "state": "finished",
                "verdict": "scored",
                "created_at": created,
                "queued_at": created,
                "started_at": created,
                "finished_at": created + timedelta(seconds=2),
                "attempts": 1,
                "public_score": round(public, 6),
                "private_score": round(private, 6),
                "public_ci_low": round(public - half, 6),
                "public_ci_high": round(public + half, 6),
                "fit_seconds": 1.0,
                "predict_seconds": 0.1,
                "peak_memory_mb": 80.0,
                "is_final": team in finals and i // len(teams) < 2,
            }
        )
    yield (
        {
            "challenge_id": challenge.pk,
            "team_id": None,
            "code": SEED_CODE,
            "code_sha256": code_hash,
            "state": "finished",
            "verdict": "scored",
            "created_at": start,
            "is_baseline": True,
            "public_score": 0.75,
            "private_score": 0.75,
            "public_ci_low": 0.74,
            "public_ci_high": 0.76,
        }
    )


def _columns() -> list[Any]:
    return [f for f in Submission._meta.concrete_fields if not f.primary_key]


def _value(field: Any, row: dict[str, Any]) -> Any:
    if field.attname in row:
        value = row[field.attname]
    elif field.has_default() or not field.null:
        value = field.get_default()
    else:
        value = None
    if field.get_internal_type() == "JSONField" and value is not None:
        return json.dumps(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _copy_rows(rows: Iterable[dict[str, Any]]) -> None:
    fields = _columns()
    names = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    sql = f"COPY {connection.ops.quote_name(Submission._meta.db_table)} ({names}) FROM STDIN"
    with transaction.atomic(), connection.cursor() as cursor:
        with cursor.cursor.copy(sql) as copy:
            for row in rows:
                copy.write_row([_value(f, row) for f in fields])


def _bulk_rows(rows: Iterable[dict[str, Any]]) -> None:
    """Portable path (SQLite): bulk inserts in batches, then the seeded creation times
    (created_at is auto_now_add, which bulk_create fills with "now")."""
    iterator = iter(rows)
    with transaction.atomic():
        while batch := list(itertools.islice(iterator, 2000)):
            objects = Submission.objects.bulk_create([Submission(**row) for row in batch])
            for row, obj in zip(batch, objects, strict=True):
                obj.created_at = row["created_at"]
            Submission.objects.bulk_update(objects, ["created_at"])
