"""The organizers' integrity review: flagged submissions, a similar pair side by side,
dismiss and disqualify. Organizers only; everyone else gets a 404 (the page does not
exist for them)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from hackathon.accounts.selectors import is_organizer
from hackathon.challenges.models import Challenge
from hackathon.integrity import selectors, services
from hackathon.integrity.models import FlagKind, IntegrityFlag
from hackathon.submissions.errors import SubmissionRejected
from hackathon.submissions.models import Submission
from hackathon.submissions.services import submission_disqualify


def _require_organizer(request: HttpRequest) -> None:
    if not is_organizer(request.user):
        raise Http404("No such page.")


@login_required
@require_GET
def review(request: HttpRequest, slug: str) -> HttpResponse:
    _require_organizer(request)
    challenge = get_object_or_404(Challenge, slug=slug)
    show_dismissed = request.GET.get("dismissed") == "1"
    return render(
        request,
        "integrity/review.html",
        {
            "challenge": challenge,
            "flagged": selectors.flags_for_review(
                challenge=challenge, include_dismissed=show_dismissed
            ),
            "show_dismissed": show_dismissed,
            "kinds": FlagKind,
        },
    )


@login_required
@require_GET
def compare(request: HttpRequest, flag_id: int) -> HttpResponse:
    _require_organizer(request)
    flag = get_object_or_404(
        IntegrityFlag.objects.select_related(
            "submission__team", "submission__challenge", "other_submission__team"
        ),
        pk=flag_id,
    )
    if flag.other_submission_id is None:
        raise Http404("Only a similar-code flag has a pair to compare.")
    pair = selectors.side_by_side(flag=flag)
    return render(
        request, "integrity/compare.html", {"pair": pair, "challenge": flag.submission.challenge}
    )


def _back(flag_or_submission: IntegrityFlag | Submission) -> str:
    slug = flag_or_submission.challenge.slug
    return reverse("integrity:review", args=[slug])


@login_required
@require_POST
def dismiss(request: HttpRequest, flag_id: int) -> HttpResponse:
    _require_organizer(request)
    flag = get_object_or_404(IntegrityFlag.objects.select_related("challenge"), pk=flag_id)
    try:
        services.integrity_flag_dismiss(flag=flag, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"The flag on #{flag.submission_id} is dismissed.")
    return redirect(_back(flag))


@login_required
@require_POST
def restore(request: HttpRequest, flag_id: int) -> HttpResponse:
    _require_organizer(request)
    flag = get_object_or_404(IntegrityFlag.objects.select_related("challenge"), pk=flag_id)
    services.integrity_flag_restore(flag=flag, actor=request.user)
    messages.success(request, f"The flag on #{flag.submission_id} is back for review.")
    return redirect(_back(flag) + "?dismissed=1")


@login_required
@require_POST
def disqualify(request: HttpRequest, submission_id: int) -> HttpResponse:
    _require_organizer(request)
    submission = get_object_or_404(Submission.objects.select_related("challenge"), pk=submission_id)
    try:
        submission_disqualify(
            submission=submission, actor=request.user, reason=request.POST.get("reason", "")
        )
    except SubmissionRejected as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"#{submission.pk} is disqualified; it left the leaderboards.")
    return redirect(_back(submission))
