"""Quotas hold under concurrency: the database, not Python, enforces them.

On PostgreSQL the team row lock does it (CI); on SQLite, IMMEDIATE transactions.
"""

from __future__ import annotations

import threading

import pytest
from django.db import connections
from hackathon.submissions.errors import QuotaExceeded
from hackathon.submissions.models import Submission
from hackathon.submissions.services import submission_create

from tests.submissions.conftest import LINEAR_SOLUTION


def _fire(n: int, fn) -> list[object]:
    barrier = threading.Barrier(n)
    results: list[object] = [None] * n

    def run(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[i] = fn()
        except Exception as exc:  # noqa: BLE001 - collected and asserted on
            results[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_submissions_with_five_left_accept_exactly_five(
    make_challenge, member_a, team_a, clean_broker
) -> None:
    challenge = make_challenge(daily_quota=8, inflight_cap=0)
    for _ in range(3):
        submission_create(challenge=challenge, user=member_a, code=LINEAR_SOLUTION)

    results = _fire(
        20, lambda: submission_create(challenge=challenge, user=member_a, code=LINEAR_SOLUTION)
    )

    accepted = [r for r in results if isinstance(r, Submission)]
    refused = [r for r in results if isinstance(r, QuotaExceeded)]
    others = [r for r in results if not isinstance(r, Submission | QuotaExceeded)]
    assert others == []
    assert len(accepted) == 5
    assert len(refused) == 15
    assert {r.limit for r in refused} == {"daily"}
    assert Submission.objects.filter(team=team_a, challenge=challenge).count() == 8


@pytest.mark.django_db(transaction=True)
def test_concurrent_submissions_never_exceed_the_in_flight_cap(
    make_challenge, member_a, team_a, clean_broker
) -> None:
    challenge = make_challenge(daily_quota=100, inflight_cap=2)
    results = _fire(
        8, lambda: submission_create(challenge=challenge, user=member_a, code=LINEAR_SOLUTION)
    )
    accepted = [r for r in results if isinstance(r, Submission)]
    refused = [r for r in results if isinstance(r, QuotaExceeded)]
    assert len(accepted) == 2
    assert len(refused) == 6
    assert {r.limit for r in refused} == {"in_flight"}
