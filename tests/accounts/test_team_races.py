"""Two joins at the same moment cannot overfill a team (real concurrent transactions)."""

from __future__ import annotations

import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from hackathon.accounts.services import team_join

from tests.conftest import make_user


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="row locks are the subject; SQLite serializes writers (CI runs this on PostgreSQL)",
)
def test_concurrent_joins_never_overfill_a_team(settings) -> None:
    from hackathon.accounts.services import team_create

    settings.TEAM_MAX_SIZE = 2
    team = team_create(user=make_user("captain"), name="Racers")
    joiners = [make_user(f"joiner{n}") for n in range(6)]
    barrier = threading.Barrier(len(joiners))
    outcomes: list[str] = []

    def join(user: object) -> None:
        from django.db import connection as thread_connection

        barrier.wait()
        try:
            team_join(user=user, code=team.invite_code)
            outcomes.append("joined")
        except ValidationError as error:
            outcomes.append(error.code)
        finally:
            thread_connection.close()

    threads = [threading.Thread(target=join, args=(u,)) for u in joiners]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(outcomes) == ["joined"] + ["team_full"] * 5, (connection.vendor, outcomes)
    assert team.memberships.count() == 2
