"""Uploads refused before grading are recorded by every route (the submit page, the API, and
so the CLI, which uses it) and counted in the organizers' room view by reason and team, with
a link to the refusals behind each line; they never charge a quota, keep no code, and reach
an organizer's open room page live."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from hackathon import live
from hackathon.leaderboard.room import room_snapshot
from hackathon.submissions.models import Submission, UploadRefusal
from hackathon.submissions.services import quota_usage
from rest_framework.test import APIClient

from tests.leaderboard.conftest import make_challenge
from tests.leaderboard.servers import SSEClient, cookie_header, uvicorn_server

LABELS_ONLY = (
    "import numpy as np\n\nclass Model:\n    def fit(self, X, y):\n        return self\n\n"
    "    def predict(self, X):\n        return np.zeros(len(X), dtype=int)\n"
)
WITH_PROBA = LABELS_ONLY + (
    "\n    def predict_proba(self, X):\n        return np.full((len(X), 2), 0.5)\n"
)
CLOSED_FORM = (
    "import numpy as np\n\nclass Model:\n    def fit(self, X, y):\n"
    "        self.w = np.linalg.lstsq(X, y, rcond=None)[0]\n        return self\n\n"
    "    def predict(self, X):\n        return X @ self.w\n\n"
    "    def predict_proba(self, X):\n        return np.full((len(X), 2), 0.5)\n"
)


def _api(user: object) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.mark.django_db
def test_refusals_by_every_route_are_counted_by_reason_and_team_and_charge_nothing(
    organizer, organizer_client, client_a, client_b, member_a, member_b, team_a, team_b
) -> None:
    challenge = make_challenge(metric="log_loss", gradient_descent_only=True, daily_quota=1)
    page = reverse("submissions:new", args=[challenge.slug])
    api = f"/api/v1/challenges/{challenge.slug}/submissions/"

    # The submit page: a label-only model twice, a file that is not UTF-8.
    assert client_a.post(page, {"code": LABELS_ONLY}).status_code == 400
    assert client_a.post(page, {"code": LABELS_ONLY}).status_code == 400
    latin1 = SimpleUploadedFile("solution.py", "# café\n".encode("latin-1"))
    assert client_a.post(page, {"file": latin1}).status_code == 400
    # The API (the CLI's route): the same mistake, the gradient-descent-only rule, NUL bytes.
    assert _api(member_b).post(api, {"code": LABELS_ONLY}, format="json").status_code == 400
    assert _api(member_b).post(api, {"code": CLOSED_FORM}, format="json").status_code == 400
    nul = SimpleUploadedFile("solution.py", b"class Model:\x00\n")
    assert _api(member_b).post(api, {"file": nul}, format="multipart").status_code == 400
    # A quota refusal after one accepted submission; an organizer's own refusal is not the room's.
    assert _api(member_a).post(api, {"code": WITH_PROBA}, format="json").status_code == 201
    assert _api(member_a).post(api, {"code": WITH_PROBA}, format="json").status_code == 429
    assert organizer_client.post(page, {"code": LABELS_ONLY}).status_code == 400

    refusals = {
        r["reason"]: (r["teams"], r["uploads"])
        for r in room_snapshot(challenge=challenge)["refusals"]
    }
    assert refusals == {
        "missing_predict_proba": (2, 3),
        "not_text": (2, 2),
        "closed_form": (1, 1),
        "quota_daily": (1, 1),
    }
    # Nothing charged: one submission (the accepted one), one used of the daily quota.
    assert Submission.objects.count() == 1
    assert quota_usage(team=team_a, challenge=challenge).daily_used == 1
    assert quota_usage(team=team_b, challenge=challenge).daily_used == 0
    # Who, when, why and the message shown; no code.
    closed = UploadRefusal.objects.get(reason="closed_form")
    assert (closed.team_id, closed.user_id) == (team_b.pk, member_b.pk)
    assert "lstsq" in closed.message and "gradient descent only" in closed.message
    assert {f.name for f in UploadRefusal._meta.fields} == {
        "id",
        "challenge",
        "team",
        "user",
        "reason",
        "message",
        "created_at",
    }

    room = organizer_client.get(reverse("leaderboard:room", args=[challenge.slug])).content.decode()
    assert (
        '<li data-reason="missing_predict_proba"><strong>2 teams</strong>: '
        "missing predict_proba at upload" in room
    )
    link = reverse("leaderboard:room_refusals", args=[challenge.slug])
    assert f"{link}?reason=missing_predict_proba&amp;minutes=60" in room
    listing = organizer_client.get(link, {"reason": "missing_predict_proba", "minutes": 60})
    rows = listing.content.decode().count('<tr data-reason="missing_predict_proba">')
    assert listing.status_code == 200 and rows == 3
    # Organizers only.
    assert client_a.get(link).status_code == 403
    assert client_a.get(reverse("leaderboard:room", args=[challenge.slug])).status_code == 403


@pytest.mark.django_db
def test_a_malformed_upload_is_recorded_with_its_reason(client_a, member_a, team_a) -> None:
    challenge = make_challenge()
    page = reverse("submissions:new", args=[challenge.slug])
    both = SimpleUploadedFile("solution.py", WITH_PROBA.encode())
    assert client_a.post(page, {"file": both, "code": WITH_PROBA}).status_code == 400
    assert client_a.post(page, {}).status_code == 400
    api = f"/api/v1/challenges/{challenge.slug}/submissions/"
    assert _api(member_a).post(api, {"code": 5}, format="json").status_code == 400
    assert list(UploadRefusal.objects.order_by("pk").values_list("reason", flat=True)) == [
        "invalid_upload",
        "empty",
        "invalid_upload",
    ]


@pytest.mark.django_db(transaction=True)
def test_a_refusal_reaches_the_organizers_room_view_live_and_no_participant(
    organizer_client, client_a, client_b, member_a, team_a
) -> None:
    challenge = make_challenge(metric="log_loss")
    topic = live.challenge_topic(challenge.pk)
    path = f"/leaderboard/live/?topic={topic}"
    with uvicorn_server() as host:
        organizer = SSEClient(host, path, headers=cookie_header(organizer_client))
        participant = SSEClient(host, path, headers=cookie_header(client_b))
        assert (organizer.status, participant.status) == (200, 200)
        page = reverse("submissions:new", args=[challenge.slug])
        assert client_a.post(page, {"code": LABELS_ONLY}).status_code == 400
        seen = organizer.next_event()
        live.publish(topic, "sentinel", {})
        seen_by_participant = participant.next_event()
        organizer.close()
        participant.close()
    assert seen == {
        "topic": live.challenge_topic(challenge.pk, "organizers"),
        "event": "room",
        "data": {"challenge": challenge.pk, "refusal": "missing_predict_proba"},
    }
    assert seen_by_participant["event"] == "sentinel"


@pytest.mark.django_db
def test_old_refusals_are_dropped_beyond_the_kept_number(monkeypatch, member_a, team_a) -> None:
    from hackathon.submissions import services

    monkeypatch.setattr(services, "REFUSALS_KEPT", 5)
    challenge = make_challenge()
    for _ in range(100):  # one of any hundred consecutive ids prunes
        last = services.upload_refusal_record(
            challenge=challenge, user=member_a, reason="syntax_error", message="line 1: ..."
        )
        assert last is not None
        if last.pk % 100 == 0:
            break
    kept = list(UploadRefusal.objects.order_by("-pk").values_list("pk", flat=True))
    assert kept == list(range(last.pk, last.pk - 5, -1))
