"""The organizers' room view: its counts over a seeded room, who may see it, and the live
event a new diagnostic sends to an organizer's SSE connection (real uvicorn, real Redis)."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from hackathon import live
from hackathon.accounts.models import Team
from hackathon.challenges.models import Challenge
from hackathon.leaderboard.room import room_snapshot
from hackathon.leaderboard.services import leaderboard_record_result
from hackathon.submissions.models import State, Submission

from tests.leaderboard.conftest import make_challenge, make_team
from tests.leaderboard.servers import SSEClient, cookie_header, uvicorn_server

DIVERGED = {"code": "diverged", "title": "Training diverged", "detail": "..."}
NOT_CONVERGED = {"code": "not_converged", "title": "Not converged", "detail": "..."}


def _sub(
    challenge: Challenge,
    team: Team | None,
    *,
    created: datetime,
    verdict: str = "",
    started: datetime | None = None,
    finished: datetime | None = None,
    diagnostics: list[dict] | None = None,
    state: str = State.FINISHED,
    is_baseline: bool = False,
) -> Submission:
    code = f"# {team} {created} {verdict}"
    sub = Submission.objects.create(
        challenge=challenge,
        team=team,
        code=code,
        code_sha256=hashlib.sha256(code.encode()).hexdigest(),
        state=state,
        verdict=verdict,
        public_score=0.5 if verdict == "scored" else None,
        diagnostics=diagnostics or [],
        is_baseline=is_baseline,
    )
    Submission.objects.filter(pk=sub.pk).update(
        created_at=created, queued_at=created, started_at=started, finished_at=finished
    )
    return sub


@pytest.fixture
def seeded(team_a: Team) -> dict:
    """Four teams: t1 struggling then scoring, t2 diverging, t3 silent for 50 minutes after
    a diverged run, team_a (a member, no submission at all); plus a baseline and a queued
    submission."""
    now = timezone.now()
    ago = lambda minutes: now - timedelta(minutes=minutes)  # noqa: E731
    challenge = make_challenge()
    t1, t2, t3 = make_team("T1"), make_team("T2"), make_team("T3")
    subs = {
        "s1": _sub(
            challenge, t1, created=ago(7), started=ago(6), finished=ago(5), verdict="runtime_error"
        ),
        "s2": _sub(
            challenge,
            t1,
            created=ago(22),
            started=ago(21.5),
            finished=ago(20),
            verdict="scored",
            diagnostics=[NOT_CONVERGED],
        ),
        "s3": _sub(
            challenge,
            t2,
            created=ago(46),
            finished=ago(45),
            verdict="scored",
            diagnostics=[DIVERGED],
        ),
        "s4": _sub(
            challenge,
            t2,
            created=ago(8.5),
            finished=ago(8),
            verdict="runtime_error",
            diagnostics=[DIVERGED],
        ),
        "s5": _sub(
            challenge,
            t3,
            created=ago(51),
            finished=ago(50),
            verdict="time_limit",
            diagnostics=[DIVERGED],
        ),
        "old": _sub(
            challenge,
            t3,
            created=ago(90),
            finished=ago(89),
            verdict="time_limit",
            diagnostics=[NOT_CONVERGED],
        ),
        "base": _sub(
            challenge,
            None,
            created=ago(2),
            finished=ago(2),
            verdict="scored",
            diagnostics=[DIVERGED],
            is_baseline=True,
        ),
        "queued": _sub(challenge, t1, created=ago(3), state=State.QUEUED),
    }
    return {"now": now, "challenge": challenge, "subs": subs, "teams": (t1, t2, t3, team_a)}


def _verdicts(window: dict) -> dict[str, tuple[int, list[int]]]:
    return {v["verdict"]: (v["count"], v["submissions"]) for v in window["verdicts"]}


@pytest.mark.django_db
def test_room_counts_verdicts_diagnostics_idle_teams_rate_and_queue(seeded: dict) -> None:
    s = seeded["subs"]
    t1, t2, t3, team_a = seeded["teams"]
    room = room_snapshot(challenge=seeded["challenge"], now=seeded["now"])

    w10, w30, w60 = room["windows"]
    assert [w["minutes"] for w in room["windows"]] == [10, 30, 60]
    assert _verdicts(w10) == {"runtime_error": (2, [s["s4"].pk, s["s1"].pk])}
    assert w30["total"] == 3 and _verdicts(w30)["scored"] == (1, [s["s2"].pk])
    assert w60["total"] == 5
    assert {k: v[0] for k, v in _verdicts(w60).items()} == {
        "scored": 2,
        "runtime_error": 2,
        "time_limit": 1,
    }
    # Teams, not submissions: t2 twice and t3 once diverged in the hour; the baseline's
    # finding and t3's run 89 minutes ago are not counted.
    diagnostics = {d["code"]: d for d in room["diagnostics"]}
    assert [d["code"] for d in room["diagnostics"]] == ["diverged", "not_converged"]
    assert diagnostics["diverged"]["teams"] == 2
    assert diagnostics["diverged"]["title"] == "Training diverged"
    assert diagnostics["diverged"]["submissions"] == sorted(
        [s["s3"].pk, s["s4"].pk, s["s5"].pk], reverse=True
    )
    assert (diagnostics["not_converged"]["teams"], diagnostics["not_converged"]["submissions"]) == (
        1,
        [s["s2"].pk],
    )
    assert room["teams_total"] == 4
    assert {t["name"] for t in room["no_score"]} == {t3.name, team_a.name}
    assert {t["name"] for t in room["idle"]} == {t3.name, team_a.name}
    assert {t["id"]: t["last_submission"] for t in room["idle"]} == {
        t3.pk: s["s5"].pk,
        team_a.pk: None,
    }
    # Three team submissions created in the last 10 minutes (the baseline is not the room's).
    assert room["rate"]["per_minute"] == pytest.approx(0.3)
    assert sum(room["rate"]["series"]) == 6 and len(room["rate"]["series"]) == 60
    queue = room["queue"]
    assert (queue["waiting"], queue["waiting_submissions"]) == (1, [s["queued"].pk])
    assert queue["oldest_wait_s"] == pytest.approx(180, abs=1)
    assert (queue["started_last_hour"], queue["median_wait_s"], queue["max_wait_s"]) == (2, 60, 60)


@pytest.mark.django_db
def test_room_view_is_for_organizers_only_and_links_every_line(
    seeded: dict, organizer_client, client_a, client
) -> None:
    slug = seeded["challenge"].slug
    urls = [
        reverse("leaderboard:room", args=[slug]),
        reverse("leaderboard:room_fragment", args=[slug]),
        reverse("leaderboard:room_json", args=[slug]),
    ]
    for url in urls:
        assert client_a.get(url).status_code == 403, url
        assert client.get(url).status_code == 403, url
    page = organizer_client.get(urls[0])
    assert page.status_code == 200
    html = page.content.decode()
    assert "<strong>2 teams</strong>: Training diverged" in html
    for sub in seeded["subs"].values():
        link = reverse("submissions:detail", args=[sub.pk])
        if sub.is_baseline or sub.pk == seeded["subs"]["old"].pk:
            assert f'href="{link}"' not in html
        else:
            assert f'href="{link}"' in html
    assert organizer_client.get(urls[2]).json()["diagnostics"][0]["teams"] == 2
    dashboard = organizer_client.get(reverse("dashboard")).content.decode()
    assert f'href="{urls[0]}"' in dashboard


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_new_diagnostic_reaches_the_organizers_room_view_and_no_participant(
    organizer_client, client_b, team_a
) -> None:
    challenge = make_challenge()
    topic = live.challenge_topic(challenge.pk)
    path = f"/leaderboard/live/?topic={topic}"
    with uvicorn_server() as host:
        organizer = SSEClient(host, path, headers=cookie_header(organizer_client))
        participant = SSEClient(host, path, headers=cookie_header(client_b))
        assert (organizer.status, participant.status) == (200, 200)
        now = timezone.now()
        sub = _sub(
            challenge,
            team_a,
            created=now,
            finished=now,
            verdict="runtime_error",
            diagnostics=[DIVERGED],
        )
        leaderboard_record_result(submission=sub)
        events = [organizer.next_event() for _ in range(2)]  # organizers' and public hints
        live.publish(topic, "sentinel", {})
        seen_by_participant = participant.next_event()
        seen_next = participant.next_event()
        organizer.close()
        participant.close()
    organizers = live.challenge_topic(challenge.pk, "organizers")
    assert [e for e in events if e["topic"] == organizers] == [
        {
            "topic": organizers,
            "event": "leaderboard",
            "data": {
                "challenge": challenge.pk,
                "submission": sub.pk,
                "verdict": "runtime_error",
                "diagnostics": ["diverged"],
            },
        }
    ]
    # The other team hears that the public board changed, with no verdict or diagnostic.
    assert seen_by_participant == {
        "topic": topic,
        "event": "leaderboard",
        "data": {"challenge": challenge.pk},
    }
    assert seen_next["event"] == "sentinel"
