"""The path every stored result takes: the same rows as THE rule, a few statements, one
call to Redis for its live hints."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from hackathon import live
from hackathon.leaderboard.models import ChatWebhook, TeamDisqualification, TeamScore
from hackathon.leaderboard.scoring import scored_submissions
from hackathon.leaderboard.services import (
    _board_challenge,
    _team_rows,
    leaderboard_record_result,
)
from hackathon.submissions.models import State, Submission

from tests.leaderboard.conftest import make_challenge, make_team, scored

pytestmark = pytest.mark.django_db


def test_a_teams_rows_are_those_of_the_scored_submissions_rule(organizer) -> None:
    challenge, other = make_challenge(), make_challenge()
    team, rival = make_team("Rows"), make_team("Rival")
    counted = [scored(challenge, team, 0.7, is_final=True), scored(challenge, team, 0.8)]
    scored(challenge, team, None)  # failed: no score
    scored(challenge, team, 0.99, disqualified=True)
    scored(challenge, team, 0.95, is_baseline=True)
    scored(challenge, rival, 0.9)
    scored(other, team, 0.9)
    running = scored(challenge, team, 0.6, record=False)
    Submission.objects.filter(pk=running.pk).update(state=State.RUNNING)

    rows = _team_rows(challenge.pk, team.pk)
    columns = ("id", "public_score", "public_ci_low", "public_ci_high", "created_at")
    columns += ("private_score", "is_final")
    expected = list(scored_submissions(challenge).filter(team=team).values(*columns))
    assert sorted(rows, key=lambda r: r["id"]) == sorted(expected, key=lambda r: r["id"])
    assert sorted(r["id"] for r in rows) == sorted(s.pk for s in counted)
    assert all(r["created_at"].tzinfo is not None for r in rows)

    TeamDisqualification.objects.create(challenge=challenge, team=team, reason="leak")
    assert _team_rows(challenge.pk, team.pk) == []


def test_the_board_reads_its_challenge_fresh_and_whether_it_has_a_webhook() -> None:
    freeze = timezone.now() - timedelta(minutes=5)
    challenge = make_challenge(metric="rmse", display_precision=3, freeze_at=freeze)
    read, has_webhooks = _board_challenge(challenge.pk)
    assert (read.metric, read.display_precision, read.freeze_at, read.is_frozen) == (
        "rmse",
        3,
        freeze,
        True,
    )
    assert not read.higher_is_better
    assert has_webhooks is False
    ChatWebhook.objects.create(challenge=challenge, url="http://127.0.0.1:9/hook")
    assert _board_challenge(challenge.pk)[1] is True
    ChatWebhook.objects.filter(challenge=challenge).update(is_active=False)
    assert _board_challenge(challenge.pk)[1] is False
    # A field the board does not read is still there when touched (loaded then).
    assert read.slug == challenge.slug


def test_recording_a_result_takes_a_few_statements_and_one_redis_call(
    organizer, django_capture_on_commit_callbacks
) -> None:
    challenge = make_challenge()
    team = make_team("Counted")
    scored(challenge, team, 0.6)
    sub = scored(challenge, team, 0.8, record=False)
    calls = []
    original = live.publish_many

    def counting(events: list) -> list:
        calls.append([topic for topic, _, _ in events])
        return original(events)

    live.publish_many = counting
    try:
        with (
            django_capture_on_commit_callbacks(execute=True),
            CaptureQueriesContext(connection) as queries,
            transaction.atomic(),
        ):
            leaderboard_record_result(submission=sub)
    finally:
        live.publish_many = original
    statements = [q["sql"] for q in queries.captured_queries if "SAVEPOINT" not in q["sql"]]
    # Lock (PostgreSQL only), challenge, team row, the team's submissions, its update (no
    # chat webhook: no leader lookup, no check after commit).
    assert len(statements) == (5 if connection.vendor == "postgresql" else 4), statements
    assert calls == [
        [f"challenge:{challenge.pk}:organizers", f"challenge:{challenge.pk}:team:{team.pk}"]
        + [f"challenge:{challenge.pk}"]
    ]
    row = TeamScore.objects.get(challenge=challenge, team=team)
    assert (row.entries, row.best_score, row.best_submission_id) == (2, 0.8, sub.pk)


def test_publish_many_appends_each_event_to_its_topic_in_one_call(clean_broker: str) -> None:
    topics = ["many:a", "many:b", "many:a"]
    client = live._sync_client()  # the test's own Redis: the streams start empty
    ids = live.publish_many([(t, "leaderboard", {"n": i}) for i, t in enumerate(topics)])
    assert len(ids) == 3 and all(ids)
    a = client.xrange(live.STREAM_PREFIX + "many:a")
    b = client.xrange(live.STREAM_PREFIX + "many:b")
    assert [json.loads(f[b"p"])["data"]["n"] for _, f in a] == [0, 2]
    assert [json.loads(f[b"p"])["data"]["n"] for _, f in b] == [1]
    assert [i.decode() for i, _ in a] == [ids[0], ids[2]]
    assert 0 < client.ttl(live.STREAM_PREFIX + "many:b") <= live.STREAM_TTL_S
    assert live.publish_many([]) == []
