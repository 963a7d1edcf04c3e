#!/usr/bin/env python3
"""The debrief and the room view at meetup scale and beyond, on PostgreSQL.

    .venv/bin/python benchmarks/debrief_room.py [--teams 1000] [--per-team 20] [--requests 30]

Uses DATABASE_URL (default postgres://postgres@127.0.0.1:5432/bench_insights; created,
migrated and seeded when its challenge is not there): one ended challenge with `--teams`
teams of `--per-team` scored submissions each over three hours (declared hyperparameters, a
200-point loss curve), a baseline, and 3,000 uploads refused in the last hour. Times in process (Django's
test client, no HTTP server): the debrief's data (`debrief_view`), the debrief page for a
visitor, the room view's data (`room_snapshot`) and its page for an organizer. Prints
p50 / p95 / max in milliseconds with the load average.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/bench_insights"
SLUG = "bench-debrief"
REFUSALS = 3000
KINDS = ("sgd", "momentum", "adam", "rmsprop", "nesterov")


def _ensure_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def _seed(teams: int, per_team: int) -> None:
    import random

    from django.contrib.auth import get_user_model
    from django.utils import timezone
    from hackathon.accounts.models import Team
    from hackathon.challenges.models import Challenge
    from hackathon.leaderboard.services import leaderboard_rebuild
    from hackathon.submissions.models import State, Submission, UploadRefusal

    rng = random.Random(7)  # noqa: S311 - benchmark data, not a secret
    now = timezone.now()
    Challenge.objects.filter(slug=SLUG).delete()
    Team.objects.filter(invite_code__startswith=f"bench-{SLUG}-").delete()
    challenge = Challenge.objects.create(
        slug=SLUG,
        title="Debrief benchmark",
        task="binary",
        metric="accuracy",
        is_published=True,
        start_at=now - timedelta(hours=3),
        end_at=now - timedelta(minutes=1),
        starter_code="import numpy as np\n\nclass Model:\n    pass\n",
    )
    made = Team.objects.bulk_create(
        Team(name=f"bench team {i}", invite_code=f"bench-{SLUG}-{i}"[-32:]) for i in range(teams)
    )
    subs = []
    for team in made:
        skill = rng.uniform(0.6, 0.9)
        for k in range(per_team):
            lr = 10 ** rng.uniform(-4, 0)
            score = round(skill - abs(rng.gauss(0, 0.05)) + 0.002 * k, 4)
            code = f"# {team.pk} {k}"
            subs.append(
                Submission(
                    challenge=challenge,
                    team=team,
                    code=code,
                    code_sha256=hashlib.sha256(code.encode()).hexdigest(),
                    state=State.FINISHED,
                    verdict="scored",
                    public_score=score,
                    private_score=round(score + rng.gauss(0, 0.01), 4),
                    hyperparameters={
                        "learning_rate": lr,
                        "batch_size": 2 ** rng.randint(3, 9),
                        "optimizer": rng.choice(KINDS),
                    },
                    loss_curve=[0.7 * (1 - lr) ** e + 0.05 for e in range(200)],
                )
            )
    subs.append(
        Submission(
            challenge=challenge,
            code="# baseline",
            code_sha256="0" * 64,
            state=State.FINISHED,
            verdict="scored",
            public_score=0.7,
            private_score=0.7,
            is_baseline=True,
            loss_curve=[0.7 * 0.98**e + 0.1 for e in range(200)],
        )
    )
    Submission.objects.bulk_create(subs, batch_size=2000)
    # Spread over the three hours of the event (bulk_create stamps them all "now").
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE submissions_submission SET created_at = %s + (id %% 10800) * interval "
            "'1 second', finished_at = %s + (id %% 10800 + 30) * interval '1 second' "
            "WHERE challenge_id = %s",
            [now - timedelta(hours=3), now - timedelta(hours=3), challenge.pk],
        )
    user, _ = get_user_model().objects.get_or_create(username="bench-member")
    UploadRefusal.objects.bulk_create(
        UploadRefusal(
            challenge=challenge,
            team=made[i % len(made)],
            user=user,
            reason=rng.choice(("missing_predict_proba", "syntax_error", "forbidden_import")),
            message="class Model must define predict_proba(X) ...",
        )
        for i in range(REFUSALS)
    )
    leaderboard_rebuild(challenge=challenge)


def _times(fn: object, n: int, warmup: int = 3) -> list[float]:
    out = []
    for i in range(warmup + n):
        t0 = time.perf_counter()
        fn()  # type: ignore[operator]
        if i >= warmup:
            out.append((time.perf_counter() - t0) * 1000)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    parser.add_argument("--teams", type=int, default=1000)
    parser.add_argument("--per-team", type=int, default=20)
    parser.add_argument("--requests", type=int, default=30)
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
        "LOG_LEVEL": "WARNING",
        "DJANGO_SETTINGS_MODULE": "hackathon.settings",
    }
    _ensure_database(db_url)
    subprocess.run(  # noqa: S603 - this interpreter on the project's manage.py
        [sys.executable, str(ROOT / "manage.py"), "migrate", "-v0"], env=env, check=True
    )
    os.environ.update(env)
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.test import Client
    from hackathon.challenges.models import Challenge
    from hackathon.leaderboard.debrief import debrief_view
    from hackathon.leaderboard.room import room_snapshot
    from hackathon.submissions.models import Submission

    challenge = Challenge.objects.filter(slug=SLUG).first()
    expected = args.teams * args.per_team + 1
    if challenge is None or Submission.objects.filter(challenge=challenge).count() != expected:
        print(f"seeding {args.teams} teams x {args.per_team} submissions...", flush=True)
        _seed(args.teams, args.per_team)
        challenge = Challenge.objects.get(slug=SLUG)
    # The room view reads the last hour: keep the refusals in it.
    from django.utils import timezone
    from hackathon.submissions.models import UploadRefusal

    UploadRefusal.objects.filter(challenge=challenge).update(created_at=timezone.now())

    organizer, _ = get_user_model().objects.get_or_create(
        username="bench-organizer", defaults={"is_staff": True}
    )
    visitor, staff = Client(), Client()
    staff.force_login(organizer)
    debrief_url, room_url = f"/leaderboard/{SLUG}/debrief/", f"/leaderboard/{SLUG}/room/"
    if visitor.get(debrief_url).status_code != 200 or staff.get(room_url).status_code != 200:
        print("the debrief or the room page did not answer 200", file=sys.stderr)
        return 1

    load_before = os.getloadavg()[0]
    rows = [
        (
            "debrief data (debrief_view)",
            _times(lambda: debrief_view(challenge=challenge, viewer=None), args.requests),
        ),
        ("debrief page, visitor", _times(lambda: visitor.get(debrief_url), args.requests)),
        (
            "room data (room_snapshot)",
            _times(lambda: room_snapshot(challenge=challenge), args.requests),
        ),
        ("room page, organizer", _times(lambda: staff.get(room_url), args.requests)),
    ]
    size = len(visitor.get(debrief_url).content)
    print()
    print(
        f"Debrief and room view: {args.teams:,} teams, {expected - 1:,} scored submissions "
        f"(the debrief plots the latest 3,000), {REFUSALS:,} refusals in the last hour"
    )
    print(
        f"in process, {args.requests} runs per row after 3 warm-up; debrief page {size / 1024:.0f} KiB; "
        f"load average (1 min) {load_before:.1f} before, {os.getloadavg()[0]:.1f} after"
    )
    print()
    header = f"{'what':<32} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}"
    print(header)
    print("-" * len(header))
    for label, times in rows:
        ordered = sorted(times)
        p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
        print(f"{label:<32} {statistics.median(times):>8.1f} {p95:>8.1f} {ordered[-1]:>8.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
