"""Sharing a solution on the debrief: opt-in by the team, refused before the end by every
route (the submission page, the debrief, the API), only the team's final submission; the
shared code is shown read-only with its diff against the starter, escaped, and only once
shared, to those who may see the debrief. What is shown is the team's final submission as
the private board has it when it is shown: a rejudge, a disqualification or a selection
changed after the end moved follows it, and a disqualified submission's code is never shown."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from hackathon.challenges.models import Challenge
from hackathon.leaderboard.models import SharedSolution, TeamScore
from hackathon.leaderboard.services import (
    leaderboard_disqualify_team,
    leaderboard_freeze,
    leaderboard_requalify_team,
    leaderboard_reveal,
)
from hackathon.submissions.grading import submission_claim, submission_store_result
from hackathon.submissions.models import Submission
from hackathon.submissions.services import (
    submission_disqualify,
    submission_rejudge,
    submission_set_final,
)
from rest_framework.test import APIClient

from grader.contract import GradingResult, Verdict
from tests.leaderboard.conftest import make_challenge, scored

pytestmark = pytest.mark.django_db

STARTER = "import numpy as np\n\nclass Model:\n    def fit(self, X, y):\n        return self\n"
SOLUTION = (
    "import numpy as np\n\nclass Model:\n    def fit(self, X, y):\n"
    '        self.note = "</pre><script>alert(1)</script>"\n        return self\n'
)


def _final(challenge: Challenge, team: object, score: float = 0.8) -> Submission:
    sub = scored(challenge, team, score, is_final=True)
    Submission.objects.filter(pk=sub.pk).update(code=SOLUTION)
    sub.refresh_from_db()
    return sub


def _end(challenge: Challenge) -> None:
    Challenge.objects.filter(pk=challenge.pk).update(end_at=timezone.now() - timedelta(minutes=1))


def _api(user: object) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_sharing_is_refused_before_the_end_by_every_route(client_a, member_a, team_a) -> None:
    challenge = make_challenge(starter_code=STARTER)
    final = _final(challenge, team_a)
    share = reverse("leaderboard:share", args=[challenge.slug, final.pk])

    page = client_a.post(share, {"shared": "1"}, follow=True).content.decode()
    assert "Solutions can be shared only after the challenge has ended" in page
    answer = _api(member_a).post(f"/api/v1/submissions/{final.pk}/share/")
    assert answer.status_code == 409 and answer.json()["code"] == "refused"
    assert "only after the challenge has ended" in answer.json()["message"]
    assert not SharedSolution.objects.exists()
    # The submission page states the rule where the toggle will be, and offers no button.
    detail = client_a.get(reverse("submissions:detail", args=[final.pk])).content.decode()
    assert 'data-testid="share-toggle"' in detail and 'data-testid="share-button"' not in detail


def test_after_the_end_a_team_shares_its_final_submission_and_the_debrief_shows_it_escaped(
    organizer, client_a, client_b, client, member_a, member_b, team_a, team_b
) -> None:
    challenge = make_challenge(starter_code=STARTER)
    final = _final(challenge, team_a)
    other = scored(challenge, team_a, 0.5)  # not the one that counts on the private board
    theirs = _final(challenge, team_b, 0.7)
    leaderboard_freeze(challenge=challenge, actor=organizer)
    _end(challenge)
    solution_url = reverse("leaderboard:shared_solution", args=[challenge.slug, final.pk])

    # Not shared yet: no code, to anyone.
    assert client.get(solution_url).status_code == 403  # the debrief itself is hidden
    leaderboard_reveal(challenge=challenge, actor=organizer)
    assert client.get(solution_url).status_code == 404
    debrief = client.get(reverse("leaderboard:debrief", args=[challenge.slug])).content.decode()
    assert "No team has shared its solution yet." in debrief and "alert(1)" not in debrief

    # Only the team, only its final submission.
    assert _api(member_b).post(f"/api/v1/submissions/{final.pk}/share/").status_code == 403
    refused = _api(member_a).post(f"/api/v1/submissions/{other.pk}/share/")
    assert refused.status_code == 409 and f"#{final.pk}" in refused.json()["message"]
    page = client_b.post(
        reverse("leaderboard:share", args=[challenge.slug, final.pk]), {"shared": "1"}, follow=True
    )
    assert "Only members of the submitting team can share it." in page.content.decode()
    assert not SharedSolution.objects.exists()

    # The submission page's toggle shares it.
    detail = client_a.get(reverse("submissions:detail", args=[final.pk])).content.decode()
    assert 'data-testid="share-button"' in detail
    client_a.post(reverse("leaderboard:share", args=[challenge.slug, final.pk]), {"shared": "1"})
    shared = SharedSolution.objects.get()
    assert (shared.final_when_shared_id, shared.team_id, shared.shared_by_id) == (
        final.pk,
        team_a.pk,
        member_a.pk,
    )
    answer = _api(member_b).post(f"/api/v1/submissions/{theirs.pk}/share/")  # the API's route
    assert answer.status_code == 200 and answer.json()["shared"] is True

    debrief = client.get(reverse("leaderboard:debrief", args=[challenge.slug])).content.decode()
    assert solution_url in debrief and "Team A" in debrief
    code_page = client.get(solution_url)
    html = code_page.content.decode()
    assert code_page.status_code == 200
    assert "<script>alert(1)</script>" not in html  # escaped, never markup
    assert "&lt;/pre&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in html
    diff = html.split('data-testid="shared-diff"')[1].split("</pre>")[0]
    assert '<span class="diff-add">+        self.note = ' in diff
    assert '<span class="diff-file">--- starter/solution.py</span>' in diff

    # Stop sharing: gone from the debrief.
    assert _api(member_a).delete(f"/api/v1/submissions/{final.pk}/share/").json() == {
        "shared": False,
        "shared_at": None,
    }
    assert client.get(solution_url).status_code == 404


def test_a_shared_solution_is_hidden_again_when_the_end_moves_later(
    organizer, client, client_a, member_a, team_a
) -> None:
    challenge = make_challenge(starter_code=STARTER)
    final = _final(challenge, team_a)
    _end(challenge)
    assert _api(member_a).post(f"/api/v1/submissions/{final.pk}/share/").status_code == 200
    url = reverse("leaderboard:shared_solution", args=[challenge.slug, final.pk])
    assert client.get(url).status_code == 200
    Challenge.objects.filter(pk=challenge.pk).update(end_at=timezone.now() + timedelta(hours=1))
    assert client.get(url).status_code == 403
    assert client_a.get(url).status_code == 403
    # A disqualified submission's code leaves the debrief.
    _end(challenge)
    Submission.objects.filter(pk=final.pk).update(disqualified=True)
    assert client.get(url).status_code == 404


def test_the_admin_lists_shared_solutions_but_cannot_add_one(organizer) -> None:
    from django.contrib.auth.models import User
    from django.test import Client

    root = User.objects.create_superuser("root", "root@example.org", "pw-root-123")
    admin = Client()
    admin.force_login(root)
    assert admin.get(reverse("admin:leaderboard_sharedsolution_changelist")).status_code == 200
    assert admin.get(reverse("admin:leaderboard_sharedsolution_add")).status_code == 403


def _coded(challenge: Challenge, team: object, score: float, code: str, **kw: object) -> Submission:
    sub = scored(challenge, team, score, **kw)
    Submission.objects.filter(pk=sub.pk).update(code=STARTER + f"# {code}\n")
    sub.refresh_from_db()
    return sub


def _regrade(sub: Submission, organizer: object, score: float) -> None:
    """A rejudge as the worker does it: the score leaves the boards, the new one is stored."""
    submission_rejudge(submission=sub, actor=organizer)
    claimed, token = submission_claim(submission_id=sub.pk, worker="rejudge-test")
    result = GradingResult(Verdict.SCORED, public_score=score, private_score=score)
    assert submission_store_result(submission=claimed, token=token, result=result).startswith(
        "finished"
    )


def _shown(client: object, challenge: Challenge) -> str:
    page = client.get(reverse("leaderboard:debrief", args=[challenge.slug]))
    assert page.status_code == 200
    return page.content.decode().split('data-testid="debrief-shared"')[1].split("</ul>")[0]


def _solution(challenge: Challenge, sub: Submission) -> str:
    return reverse("leaderboard:shared_solution", args=[challenge.slug, sub.pk])


def _final_id(challenge: Challenge, team: object) -> int | None:
    return TeamScore.objects.get(challenge=challenge, team=team).private_submission_id


def test_a_rejudge_that_moves_the_final_moves_the_shared_code_with_it(
    organizer, client, client_a, member_a, team_a, team_b
) -> None:
    challenge = make_challenge(starter_code=STARTER)
    first = _coded(challenge, team_a, 0.9, "FIRST-SOLUTION")  # best public: the final
    second = _coded(challenge, team_a, 0.8, "SECOND-SOLUTION")
    _coded(challenge, team_b, 0.85, "TEAM-B-SOLUTION")
    _end(challenge)
    assert _api(member_a).post(f"/api/v1/submissions/{first.pk}/share/").status_code == 200
    shown = _shown(client, challenge)
    assert _solution(challenge, first) in shown and "rank 1" in shown and "0.9" in shown
    assert "FIRST-SOLUTION" in client.get(_solution(challenge, first)).content.decode()

    # The rejudge drops the first's score: the second is the final, and what is shared.
    _regrade(first, organizer, 0.5)
    assert _final_id(challenge, team_a) == second.pk
    shown = _shown(client, challenge)
    assert _solution(challenge, second) in shown and _solution(challenge, first) not in shown
    assert "rank 2" in shown and "0.8" in shown  # the rank and score of what is shown
    page = client.get(_solution(challenge, second)).content.decode()
    assert "SECOND-SOLUTION" in page and "FIRST-SOLUTION" not in page
    assert f"submission #{second.pk}, the team's final submission" in page
    assert client.get(_solution(challenge, first)).status_code == 404
    # The team sees it where it looks: the new final says it is shown, the old one says where.
    detail = client_a.get(reverse("submissions:detail", args=[second.pk])).content.decode()
    assert 'data-testid="shared-badge"' in detail and 'data-testid="unshare-button"' in detail
    detail = client_a.get(reverse("submissions:detail", args=[first.pk])).content.decode()
    assert f"Your team shares its final submission, #{second.pk}, on the debrief" in detail
    assert 'data-testid="shared-badge"' not in detail
    share = SharedSolution.objects.get()
    assert share.final_when_shared_id == first.pk  # the record of what the team shared

    # Graded again above the second, the first is the final again, and shown again.
    _regrade(first, organizer, 0.95)
    assert _solution(challenge, first) in _shown(client, challenge)
    assert client.get(_solution(challenge, second)).status_code == 404


def test_a_disqualified_final_is_never_shown_and_the_share_follows_the_next_final(
    organizer, client, client_a, member_a, team_a
) -> None:
    challenge = make_challenge(starter_code=STARTER)
    selected = _coded(challenge, team_a, 0.7, "SELECTED-FINAL", is_final=True)
    best = _coded(challenge, team_a, 0.9, "BEST-PUBLIC")
    _end(challenge)
    assert _final_id(challenge, team_a) == selected.pk  # a selected final counts
    assert _api(member_a).post(f"/api/v1/submissions/{best.pk}/share/").status_code == 409
    assert _api(member_a).post(f"/api/v1/submissions/{selected.pk}/share/").status_code == 200

    submission_disqualify(submission=selected, actor=organizer, reason="Copied code.")
    assert _final_id(challenge, team_a) == best.pk
    shown = _shown(client, challenge)
    assert _solution(challenge, best) in shown and "SELECTED-FINAL" not in shown
    assert client.get(_solution(challenge, selected)).status_code == 404
    assert "BEST-PUBLIC" in client.get(_solution(challenge, best)).content.decode()

    # A disqualified team shows nothing, until the organizers requalify it.
    leaderboard_disqualify_team(challenge=challenge, team=team_a, actor=organizer, reason="x")
    assert "No team has shared its solution yet." in _shown(client, challenge)
    assert client.get(_solution(challenge, best)).status_code == 404
    leaderboard_requalify_team(challenge=challenge, team=team_a, actor=organizer)
    assert _solution(challenge, best) in _shown(client, challenge)
    # Its last scored submission disqualified too: the team has no final, nothing is shown.
    submission_disqualify(submission=best, actor=organizer, reason="Copied code.")
    assert not TeamScore.objects.filter(challenge=challenge, team=team_a).exists()
    assert "No team has shared its solution yet." in _shown(client, challenge)
    for sub in (selected, best):
        assert client.get(_solution(challenge, sub)).status_code == 404
    detail = client_a.get(reverse("submissions:detail", args=[best.pk])).content.decode()
    assert "the debrief shows none now" in detail and 'data-testid="unshare-button"' in detail


def test_a_final_selected_while_the_end_moved_later_is_shared_once_it_ends_again(
    organizer, client, member_a, team_a
) -> None:
    challenge = make_challenge(starter_code=STARTER)
    early = _coded(challenge, team_a, 0.9, "EARLY")
    late = _coded(challenge, team_a, 0.6, "LATE")
    _end(challenge)
    assert _api(member_a).post(f"/api/v1/submissions/{early.pk}/share/").status_code == 200
    Challenge.objects.filter(pk=challenge.pk).update(end_at=timezone.now() + timedelta(hours=1))
    submission_set_final(
        submission=Submission.objects.select_related("challenge").get(pk=late.pk),
        user=member_a,
        selected=True,
    )
    assert client.get(reverse("leaderboard:debrief", args=[challenge.slug])).status_code == 403
    _end(challenge)
    shown = _shown(client, challenge)
    assert _solution(challenge, late) in shown and _solution(challenge, early) not in shown
    assert "LATE" in client.get(_solution(challenge, late)).content.decode()


def test_stopping_from_any_of_the_teams_submissions_stops_the_share(
    organizer, client, client_a, member_a, member_b, team_a, team_b
) -> None:
    challenge = make_challenge(starter_code=STARTER)
    first = _coded(challenge, team_a, 0.9, "FIRST")
    second = _coded(challenge, team_a, 0.8, "SECOND")
    _end(challenge)
    assert _api(member_a).post(f"/api/v1/submissions/{first.pk}/share/").status_code == 200
    _regrade(first, organizer, 0.5)  # the second is the final now
    # Another team cannot stop it; the team can, from the submission it shared.
    assert _api(member_b).delete(f"/api/v1/submissions/{first.pk}/share/").status_code == 403
    assert SharedSolution.objects.exists()
    detail = client_a.get(reverse("submissions:detail", args=[first.pk])).content.decode()
    assert 'data-testid="unshare-button"' in detail  # the old final's page offers to stop
    page = client_a.post(
        reverse("leaderboard:share", args=[challenge.slug, first.pk]), {"shared": "0"}, follow=True
    ).content.decode()
    assert "Your team&#x27;s solution is no longer shared on the debrief." in page
    assert not SharedSolution.objects.exists()
    assert client.get(_solution(challenge, second)).status_code == 404
    # Sharing again, from the final, records it as the one shared.
    assert _api(member_a).post(f"/api/v1/submissions/{second.pk}/share/").json()["shared"]
    assert SharedSolution.objects.get().final_when_shared_id == second.pk
