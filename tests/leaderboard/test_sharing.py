"""Sharing a solution on the debrief: opt-in by the team, refused before the end by every
route (the submission page, the debrief, the API), only the team's final submission; the
shared code is shown read-only with its diff against the starter, escaped, and only once
shared, to those who may see the debrief."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from hackathon.challenges.models import Challenge
from hackathon.leaderboard.models import SharedSolution
from hackathon.leaderboard.services import leaderboard_freeze, leaderboard_reveal
from hackathon.submissions.models import Submission
from rest_framework.test import APIClient

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
    assert (shared.submission_id, shared.team_id, shared.shared_by_id) == (
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
