"""The organizers' review page: flagged submissions with the reason, a similar pair side
by side, dismiss and disqualify; in the admin and the export too; organizers only."""

from __future__ import annotations

import pytest
from django.urls import reverse
from hackathon.integrity.models import FlagKind, IntegrityFlag
from hackathon.integrity.services import integrity_check_submission
from hackathon.submissions.models import Submission

from tests.integrity.test_flags import COPIED, EMBEDDED_TABLE, HONEST_MINIBATCH, graded
from tests.integrity.test_flags import regression_challenge as make_regression
from tests.leaderboard.conftest import make_team

pytestmark = pytest.mark.django_db


@pytest.fixture
def flagged():
    challenge = make_regression()
    original = graded(challenge, make_team("Originals"), HONEST_MINIBATCH)
    copy = graded(challenge, make_team("Copycats"), COPIED)
    table = graded(challenge, make_team("Lookup"), EMBEDDED_TABLE, public=0.0)
    for sub in (original, copy, table):
        integrity_check_submission(submission_id=sub.pk)
    return challenge, original, copy, table


def test_the_review_page_lists_flagged_submissions_with_the_reason(
    flagged, organizer_client
) -> None:
    challenge, original, copy, table = flagged
    page = organizer_client.get(reverse("integrity:review", args=[challenge.slug])).content.decode()
    assert f'data-testid="flagged-{copy.pk}"' in page
    assert f'data-testid="flagged-{table.pk}"' in page
    assert f'data-testid="flagged-{original.pk}"' not in page
    assert "numeric literals" in page and "A perfect public score (0)" in page
    assert f"side by side with #{original.pk}" in page


def test_the_side_by_side_view_marks_the_shared_lines(flagged, organizer_client) -> None:
    _, original, copy, _ = flagged
    flag = IntegrityFlag.objects.get(submission=copy, kind=FlagKind.SIMILAR_CODE)
    page = organizer_client.get(reverse("integrity:compare", args=[flag.pk])).content.decode()
    assert "def scale_it(data, mu, sigma):" in page  # the copy, left
    assert "def standardise(X, mean, scale):" in page  # the original, right
    assert page.count('class="shared"') > 40


def test_dismissing_a_flag_takes_it_off_the_list(flagged, organizer_client, organizer) -> None:
    challenge, _, copy, _ = flagged
    flag = IntegrityFlag.objects.get(submission=copy)
    response = organizer_client.post(reverse("integrity:dismiss", args=[flag.pk]))
    assert response.status_code == 302
    flag.refresh_from_db()
    assert flag.dismissed_by == organizer and flag.dismissed_at is not None
    url = reverse("integrity:review", args=[challenge.slug])
    assert f'data-testid="flagged-{copy.pk}"' not in organizer_client.get(url).content.decode()
    everything = organizer_client.get(url + "?dismissed=1").content.decode()
    assert f'data-testid="flagged-{copy.pk}"' in everything and "dismissed by" in everything


def test_disqualifying_from_the_review_page_takes_the_submission_off_the_boards(
    flagged, organizer_client
) -> None:
    challenge, _, _, table = flagged
    url = reverse("integrity:disqualify", args=[table.pk])
    response = organizer_client.post(url, {"reason": "Embedded answer table"})
    assert response["Location"] == reverse("integrity:review", args=[challenge.slug])
    table.refresh_from_db()
    assert table.disqualified and table.disqualified_reason == "Embedded answer table"
    # Refused without a reason, nothing changes.
    other = Submission.objects.exclude(pk=table.pk).first()
    organizer_client.post(reverse("integrity:disqualify", args=[other.pk]), {"reason": " "})
    other.refresh_from_db()
    assert not other.disqualified


def test_flags_are_never_acted_on_automatically(flagged) -> None:
    assert IntegrityFlag.objects.count() == 3
    assert not Submission.objects.filter(disqualified=True).exists()


def test_only_organizers_reach_the_review(flagged, client, client_a) -> None:
    challenge, _, copy, _ = flagged
    flag = IntegrityFlag.objects.get(submission=copy)
    for visitor in (client_a,):
        assert visitor.get(reverse("integrity:review", args=[challenge.slug])).status_code == 404
        assert visitor.get(reverse("integrity:compare", args=[flag.pk])).status_code == 404
        assert visitor.post(reverse("integrity:dismiss", args=[flag.pk])).status_code == 404
        assert (
            visitor.post(reverse("integrity:disqualify", args=[copy.pk]), {"reason": "x"})
        ).status_code == 404
    anonymous = client.get(reverse("integrity:review", args=[challenge.slug]))
    assert anonymous.status_code == 302 and "/login" in anonymous["Location"]
    flag.refresh_from_db()
    assert flag.dismissed_at is None


def test_flags_show_in_the_admin_and_the_export(
    flagged, organizer_client, client, django_user_model
) -> None:
    challenge, _, copy, table = flagged
    admin_user = django_user_model.objects.create_superuser("root", "root@example.com", "pw")
    client.force_login(admin_user)
    admin = client.get("/admin/integrity/integrityflag/")
    assert admin.status_code == 200 and "Embedded data" in admin.content.decode()
    export = organizer_client.get(f"/api/v1/challenges/{challenge.slug}/export/").json()
    by_id = {row["id"]: row for row in export["submissions"]}
    assert [f["kind"] for f in by_id[copy.pk]["integrity_flags"]] == ["similar_code"]
    assert {f["kind"] for f in by_id[table.pk]["integrity_flags"]} == {
        "embedded_data",
        "implausible_score",
    }
