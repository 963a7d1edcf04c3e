#!/usr/bin/env python3
"""Leaderboard latency at 10,000 teams and 1,000,000 submissions on PostgreSQL.

    .venv/bin/python benchmarks/leaderboard_latency.py [--requests 200]

Uses DATABASE_URL (default postgres://postgres@127.0.0.1:5432/bench_leaderboard; created,
migrated and seeded with `manage.py seed_leaderboard` when the seeded challenge is not
there), starts one uvicorn process (DEBUG off) and times sequential keep-alive requests
to the leaderboard page, fragment, JSON and API as anonymous, member and organizer.
Prints a table: p50 / p95 / max in milliseconds. Target: p50 under 100 ms.
"""

from __future__ import annotations

import argparse
import http.client
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from hackathon.testing import ManagedProcess, free_port, port_open, uvicorn_argv, wait_until

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/bench_leaderboard"
SLUG = "seeded-10k"
TEAMS, SUBMISSIONS = 10_000, 1_000_000


def _ensure_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def _manage(env: dict[str, str], *args: str) -> None:
    subprocess.run([sys.executable, str(ROOT / "manage.py"), *args], env=env, check=True)  # noqa: S603


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=10)
    args = parser.parse_args()

    db_url = os.environ.get("DATABASE_URL", DEFAULT_DB)
    if not db_url.startswith("postgres"):
        print("This benchmark needs PostgreSQL: set DATABASE_URL=postgres://...", file=sys.stderr)
        return 2
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15"),
        "SECRET_KEY": "benchmark-only-secret-key-not-for-production",
        "DEBUG": "0",
        "API_THROTTLE_ANON": "1000000/minute",
        "API_THROTTLE_USER": "1000000/minute",
        "LOG_LEVEL": "WARNING",
        "DJANGO_SETTINGS_MODULE": "hackathon.settings",
    }
    _ensure_database(db_url)
    _manage(env, "migrate", "-v0")
    os.environ.update(env)
    sys.path.insert(0, str(ROOT / "platform"))
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.contrib.sessions.backends.db import SessionStore
    from django.db import connection
    from hackathon.challenges.models import Challenge
    from hackathon.leaderboard.management.commands.seed_leaderboard import MEMBER_USERNAME
    from hackathon.leaderboard.models import TeamScore
    from hackathon.leaderboard.selectors import leaderboard_view
    from hackathon.submissions.models import Submission

    challenge = Challenge.objects.filter(slug=SLUG).first()
    if challenge is None or TeamScore.objects.filter(challenge=challenge).count() < TEAMS:
        print(f"seeding {TEAMS} teams and {SUBMISSIONS} submissions (takes a few minutes)...")
        _manage(env, "seed_leaderboard", "--slug", SLUG, "--reset")
        challenge = Challenge.objects.get(slug=SLUG)
    n_subs = Submission.objects.filter(challenge=challenge).count()
    n_teams = TeamScore.objects.filter(challenge=challenge).count()

    def session_cookie(user: object) -> dict[str, str]:
        store = SessionStore()
        store["_auth_user_id"] = str(user.pk)
        store["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"
        store["_auth_user_hash"] = user.get_session_auth_hash()
        store.create()
        return {"Cookie": f"{settings.SESSION_COOKIE_NAME}={store.session_key}"}

    users = get_user_model().objects
    member = users.get(username=MEMBER_USERNAME)
    organizer, _ = users.get_or_create(username="bench-organizer", defaults={"is_staff": True})
    member_h, organizer_h = session_cookie(member), session_cookie(organizer)

    # In-process selector time: the database part of a page, without HTTP and templates.
    selector_ms = []
    for i in range(args.warmup + 50):
        t0 = time.perf_counter()
        leaderboard_view(challenge=challenge, viewer=member, page=1)
        if i >= args.warmup:
            selector_ms.append((time.perf_counter() - t0) * 1000)

    load_before = os.getloadavg()[0]
    port = free_port()
    log_path = Path(tempfile.mkdtemp(prefix="bench-uvicorn-")) / "uvicorn.log"
    server = ManagedProcess.spawn(
        "uvicorn", uvicorn_argv(port), log_path=log_path, env=env, cwd=ROOT
    )
    try:
        try:
            wait_until(
                lambda: server.check_alive() or port_open(port), timeout=60, message="uvicorn"
            )
        except (AssertionError, RuntimeError):
            print(server.log_text(), file=sys.stderr)
            return 1

        base = f"/leaderboard/{SLUG}"
        own_page = leaderboard_view(challenge=challenge, viewer=member).own.page
        cases = [
            ("page, anonymous, page 1", f"{base}/", {}),
            ("page, anonymous, page 100", f"{base}/?page=100", {}),
            (f"page, member, own page {own_page}", f"{base}/?page={own_page}", member_h),
            ("fragment (live refresh), member", f"{base}/fragment/?kind=public", member_h),
            ("JSON, anonymous", f"{base}/data.json", {}),
            ("API, anonymous", f"/api/v1/challenges/{SLUG}/leaderboard/", {}),
            ("API, member, page 100", f"/api/v1/challenges/{SLUG}/leaderboard/?page=100", member_h),
            ("private page, organizer", f"{base}/private/", organizer_h),
            ("shake-up page, organizer", f"{base}/shakeup/", organizer_h),
        ]
        results = []
        for label, path, headers in cases:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            times, statuses = [], set()
            for i in range(args.warmup + args.requests):
                t0 = time.perf_counter()
                conn.request("GET", path, headers=headers)
                response = conn.getresponse()
                response.read()
                elapsed = (time.perf_counter() - t0) * 1000
                statuses.add(response.status)
                if i >= args.warmup:
                    times.append(elapsed)
            conn.close()
            results.append((label, statuses, times))
        csv_conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        csv_times = []
        for _ in range(3):
            t0 = time.perf_counter()
            csv_conn.request("GET", f"{base}/export/public.csv")
            body = csv_conn.getresponse().read()
            csv_times.append((time.perf_counter() - t0) * 1000)
        csv_conn.close()
    finally:
        server.stop(grace=30, group=False)

    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        pg_version = cursor.fetchone()[0]
    print()
    print(
        f"Leaderboard latency: {n_teams:,} teams, {n_subs:,} submissions, PostgreSQL {pg_version}"
    )
    print(
        f"machine: {os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, "
        f"one uvicorn process, {args.requests} sequential requests per row after {args.warmup} warm-up"
    )
    print(
        f"load average (1 min): {load_before:.1f} before the requests, {os.getloadavg()[0]:.1f} "
        "after; other work on the machine inflates the figures"
    )
    print()
    header = f"{'request':<36} {'status':>7} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}  target p50 < 100 ms"
    print(header)
    print("-" * len(header))
    print(
        f"{'selector only (in-process), member':<36} {'-':>7} {statistics.median(selector_ms):>8.1f} "
        f"{_percentile(selector_ms, 0.95):>8.1f} {max(selector_ms):>8.1f}"
    )
    failed = False
    for label, statuses, times in results:
        p50 = statistics.median(times)
        ok = statuses == {200} and p50 < 100
        failed |= not ok
        print(
            f"{label:<36} {','.join(map(str, sorted(statuses))):>7} {p50:>8.1f} "
            f"{_percentile(times, 0.95):>8.1f} {max(times):>8.1f}  {'ok' if ok else 'MISSED'}"
        )
    print(
        f"{'CSV export, all teams (3 runs)':<36} {'200':>7} {statistics.median(csv_times):>8.1f} "
        f"{max(csv_times):>8.1f} {max(csv_times):>8.1f}  ({len(body):,} bytes)"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
