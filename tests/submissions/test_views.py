"""The submission pages, for each kind of visitor: anonymous, member, other team, organizer."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from hackathon.submissions.models import RejudgeBatch, State, Submission, Verdict, WorkerHeartbeat
from hackathon.submissions.services import submission_create

from tests.submissions.conftest import LINEAR_SOLUTION

pytestmark = pytest.mark.django_db


@pytest.fixture
def challenge(make_challenge):
    return make_challenge()


@pytest.fixture
def scored(challenge, member_a, team_a) -> Submission:
    sub = submission_create(challenge=challenge, user=member_a, code=LINEAR_SOLUTION)
    Submission.objects.filter(pk=sub.pk).update(
        state=State.FINISHED,
        verdict=Verdict.SCORED,
        public_score=0.123456,
        private_score=0.987654,
        stdout="epoch 1 secret-log-line",
        loss_curve=[4.0, 2.0, 1.0],
        finished_at=timezone.now(),
    )
    return Submission.objects.get(pk=sub.pk)


def test_anonymous_visitors_are_sent_to_log_in(client, scored, challenge) -> None:
    batch = RejudgeBatch.objects.create(challenge=challenge, total=0)
    gets = [
        reverse("submissions:new", args=[challenge.slug]),
        reverse("submissions:list"),
        reverse("submissions:detail", args=[scored.pk]),
        reverse("submissions:status", args=[scored.pk]),
        reverse("submissions:curves") + f"?ids={scored.pk}",
        reverse("submissions:rejudge_progress", args=[batch.pk]),
        reverse("submissions:dashboard"),
        reverse("dashboard"),
    ]
    posts = [
        reverse("submissions:new", args=[challenge.slug]),
        reverse("submissions:final", args=[scored.pk]),
        reverse("submissions:rejudge", args=[scored.pk]),
        reverse("submissions:disqualify", args=[scored.pk]),
        reverse("submissions:rejudge_all", args=[challenge.slug]),
        reverse("submissions:rejudge_all_pick"),
    ]
    for method, urls in (("get", gets), ("post", posts)):
        for url in urls:
            response = getattr(client, method)(
                url, {"selected": "1", "reason": "x"} if method == "post" else None
            )
            assert response.status_code == 302, (method, url)
            assert "login" in response["Location"]
    sub = Submission.objects.get(pk=scored.pk)
    assert (sub.state, sub.is_final, sub.disqualified) == (State.FINISHED, False, False)


def test_member_submits_by_pasting_code(client_a, challenge) -> None:
    response = client_a.post(
        reverse("submissions:new", args=[challenge.slug]), {"code": LINEAR_SOLUTION}
    )
    sub = Submission.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("submissions:detail", args=[sub.pk])


def test_member_submits_by_uploading_a_file(client_a, challenge) -> None:
    upload = SimpleUploadedFile("solution.py", LINEAR_SOLUTION.encode(), "text/x-python")
    response = client_a.post(reverse("submissions:new", args=[challenge.slug]), {"file": upload})
    assert response.status_code == 302
    assert Submission.objects.get().code == LINEAR_SOLUTION


def test_precheck_answers_in_the_form(client_a, challenge) -> None:
    response = client_a.post(
        reverse("submissions:new", args=[challenge.slug]),
        {"code": "class Model:\n    def fit(self\n"},
    )
    assert response.status_code == 400
    assert "line" in response.content.decode().lower()
    assert Submission.objects.count() == 0


def test_non_utf8_upload_is_refused_with_a_reason(client_a, challenge) -> None:
    upload = SimpleUploadedFile("solution.py", b"\xff\xfe class Model: pass")
    response = client_a.post(reverse("submissions:new", args=[challenge.slug]), {"file": upload})
    assert response.status_code == 400
    assert "not UTF-8" in response.content.decode()


def test_quota_refusal_says_when_and_sets_retry_after(client_a, make_challenge) -> None:
    challenge = make_challenge(inflight_cap=1)
    url = reverse("submissions:new", args=[challenge.slug])
    client_a.post(url, {"code": LINEAR_SOLUTION})
    response = client_a.post(url, {"code": LINEAR_SOLUTION})
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert "at most 1 at once" in response.content.decode()


def test_user_without_team_sees_why_and_cannot_submit(outsider_client, challenge) -> None:
    url = reverse("submissions:new", args=[challenge.slug])
    assert "Join or create a team" in outsider_client.get(url).content.decode()
    response = outsider_client.post(url, {"code": LINEAR_SOLUTION})
    assert response.status_code == 403
    assert Submission.objects.count() == 0


def test_list_shows_own_team_submissions_only(client_a, client_b, scored) -> None:
    assert f"#{scored.pk}" in client_a.get(reverse("submissions:list")).content.decode()
    assert f"#{scored.pk}" not in client_b.get(reverse("submissions:list")).content.decode()


def test_own_team_sees_public_score_and_logs_but_not_the_private_score(client_a, scored) -> None:
    page = client_a.get(reverse("submissions:detail", args=[scored.pk])).content.decode()
    # Published at the challenge's display precision (5 significant digits), nowhere more.
    assert "0.12346" in page and "0.123456" not in page
    assert "secret-log-line" in page
    assert "0.98765" not in page
    status = client_a.get(reverse("submissions:status", args=[scored.pk])).json()
    assert status["public_score"] == 0.12346
    assert "private_score" not in status


def test_private_score_appears_after_reveal(client_a, scored, challenge) -> None:
    challenge.revealed_at = timezone.now()
    challenge.end_at = timezone.now() - timedelta(minutes=1)
    challenge.save()
    status = client_a.get(reverse("submissions:status", args=[scored.pk])).json()
    assert status["private_score"] == 0.98765


def test_other_team_and_teamless_users_cannot_see_a_submission_at_all(
    client_b, outsider_client, scored
) -> None:
    for visitor in (client_b, outsider_client):
        for name in ("submissions:detail", "submissions:status"):
            assert visitor.get(reverse(name, args=[scored.pk])).status_code == 404
        curves = visitor.get(reverse("submissions:curves") + f"?ids={scored.pk}").json()
        assert curves["curves"] == []
        assert f"#{scored.pk}" not in visitor.get(reverse("submissions:list")).content.decode()


def test_organizer_sees_everything_including_private_score(organizer_client, scored) -> None:
    page = organizer_client.get(reverse("submissions:detail", args=[scored.pk])).content.decode()
    assert "0.98765" in page and "secret-log-line" in page and "Disqualify" in page


def test_team_overlays_its_own_curves(client_a, scored, challenge, member_a) -> None:
    other = submission_create(challenge=challenge, user=member_a, code=LINEAR_SOLUTION)
    Submission.objects.filter(pk=other.pk).update(state=State.FINISHED, loss_curve=[9.0, 3.0])
    data = client_a.get(reverse("submissions:curves") + f"?ids={scored.pk},{other.pk}").json()
    assert sorted(c["loss_curve"] for c in data["curves"]) == [[4.0, 2.0, 1.0], [9.0, 3.0]]
    page = client_a.get(reverse("submissions:detail", args=[other.pk])).content.decode()
    assert f'value="{scored.pk}"' in page  # offered for overlay


def test_member_selects_final_submissions_up_to_the_limit(
    client_a, scored, challenge, member_a
) -> None:
    challenge.max_final = 1
    challenge.save()
    url = reverse("submissions:final", args=[scored.pk])
    client_a.post(url, {"selected": "1"})
    assert Submission.objects.get(pk=scored.pk).is_final
    second = submission_create(challenge=challenge, user=member_a, code=LINEAR_SOLUTION)
    Submission.objects.filter(pk=second.pk).update(state=State.FINISHED, verdict=Verdict.SCORED)
    response = client_a.post(
        reverse("submissions:final", args=[second.pk]), {"selected": "1"}, follow=True
    )
    assert "at most 1" in response.content.decode()
    assert not Submission.objects.get(pk=second.pk).is_final


def test_final_selection_locks_when_the_challenge_ends(client_a, scored, challenge) -> None:
    challenge.end_at = timezone.now() - timedelta(seconds=1)
    challenge.save()
    response = client_a.post(
        reverse("submissions:final", args=[scored.pk]), {"selected": "1"}, follow=True
    )
    assert "locked" in response.content.decode()
    assert not Submission.objects.get(pk=scored.pk).is_final


def test_other_team_and_organizer_cannot_select_finals_for_a_team(
    client_b, organizer_client, scored
) -> None:
    assert (
        client_b.post(reverse("submissions:final", args=[scored.pk]), {"selected": "1"}).status_code
        == 404
    )
    organizer_client.post(reverse("submissions:final", args=[scored.pk]), {"selected": "1"})
    assert not Submission.objects.get(pk=scored.pk).is_final


def test_only_organizers_rejudge_and_disqualify(
    client_a, client_b, organizer_client, scored
) -> None:
    for c in (client_a, client_b):
        assert c.post(reverse("submissions:rejudge", args=[scored.pk])).status_code == 403
        assert (
            c.post(reverse("submissions:disqualify", args=[scored.pk]), {"reason": "x"}).status_code
            == 403
        )
    organizer_client.post(reverse("submissions:rejudge", args=[scored.pk]))
    sub = Submission.objects.get(pk=scored.pk)
    assert (sub.state, sub.public_score, sub.verdict) == (State.QUEUED, None, "")


def test_disqualified_team_sees_the_reason(client_a, organizer_client, scored) -> None:
    organizer_client.post(
        reverse("submissions:disqualify", args=[scored.pk]), {"reason": "hard-coded test labels"}
    )
    sub = Submission.objects.get(pk=scored.pk)
    assert sub.disqualified
    page = client_a.get(reverse("submissions:detail", args=[scored.pk])).content.decode()
    assert "hard-coded test labels" in page


def test_rejudge_all_reports_progress(organizer_client, client_a, scored, challenge) -> None:
    assert (
        client_a.post(reverse("submissions:rejudge_all", args=[challenge.slug])).status_code == 403
    )
    organizer_client.post(reverse("submissions:rejudge_all", args=[challenge.slug]))
    batch = RejudgeBatch.objects.get()
    progress = organizer_client.get(reverse("submissions:rejudge_progress", args=[batch.pk])).json()
    assert (progress["total"], progress["finished"]) == (1, 0)
    assert client_a.get(reverse("submissions:rejudge_progress", args=[batch.pk])).status_code == 403


def test_dashboard_is_for_organizers_and_warns_of_a_refusing_worker(
    organizer_client, client_a, scored
) -> None:
    assert client_a.get(reverse("dashboard")).status_code == 403
    WorkerHeartbeat.objects.create(
        name="weak@host",
        last_seen=timezone.now(),
        sandbox_level="degraded",
        accepts_work=False,
        sandbox_detail="refuses to grade: sandbox level degraded is below the required minimum standard",
    )
    WorkerHeartbeat.objects.create(
        name="good@host", last_seen=timezone.now(), sandbox_level="strong"
    )
    Submission.objects.filter(pk=scored.pk).update(verdict=Verdict.RUNTIME_ERROR)
    page = organizer_client.get(reverse("dashboard")).content.decode()
    assert "Worker weak@host refuses to grade" in page
    assert "good@host" in page
    assert "Runtime error" in page
    assert 'data-testid="throughput">1<' in page


def test_dashboard_shows_why_a_worker_passes_work_on_and_the_platform_events(
    organizer_client, client_a
) -> None:
    from hackathon.submissions.services import platform_event_record

    WorkerHeartbeat.objects.create(
        name="small-disk@host",
        last_seen=timezone.now(),
        sandbox_level="strong",
        declining="the dataset cache /data has 0.5 MB free; big needs 19.5 MB",
    )
    platform_event_record(source="worker", message="exited unexpectedly with status -9")
    page = organizer_client.get(reverse("dashboard")).content.decode()
    assert "Worker small-disk@host passes work on: the dataset cache /data has 0.5 MB" in page
    assert "passing work on" in page
    assert "exited unexpectedly with status -9" in page
    assert "exited unexpectedly" not in client_a.get(reverse("dashboard")).content.decode()


def test_rejudge_all_from_the_dashboard_form(organizer_client, scored, challenge) -> None:
    response = organizer_client.post(
        reverse("submissions:rejudge_all_pick"), {"challenge": challenge.slug}
    )
    assert response.status_code == 302
    assert RejudgeBatch.objects.get().total == 1
    page = organizer_client.get(reverse("dashboard")).content.decode()
    assert "0 of 1 graded again" in page


def test_admin_lists_submissions_and_rejudges_through_the_service(organizer, scored) -> None:
    from django.test import Client

    admin = Client()
    organizer.is_superuser = True
    organizer.save()
    admin.force_login(organizer)
    assert admin.get(reverse("admin:submissions_submission_changelist")).status_code == 200
    assert admin.get(reverse("admin:submissions_workerheartbeat_changelist")).status_code == 200
    admin.post(
        reverse("admin:submissions_submission_changelist"),
        {"action": "rejudge", "_selected_action": [scored.pk]},
    )
    assert Submission.objects.get(pk=scored.pk).state == State.QUEUED
