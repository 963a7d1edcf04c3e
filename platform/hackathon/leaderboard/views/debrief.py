"""The debrief pages: what worked (charts, shake-up, shared solutions), a shared solution
with its diff against the starter, and the team's share toggle.

Who sees them is THE visibility rule, through `debrief.debrief_view` (organizers at any
time, as a preview; everyone else once the private board is visible to them). Sharing goes
through `sharing.solution_share`, the one write every route uses.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from hackathon import live
from hackathon.challenges.selectors import challenge_get_for
from hackathon.leaderboard.debrief import HIDDEN_MESSAGE, debrief_view
from hackathon.leaderboard.models import TeamScore
from hackathon.leaderboard.sharing import (
    share_state,
    shared_solution_get,
    solution_share,
    starter_diff,
)
from hackathon.leaderboard.views import _forbidden, _redirect_target
from hackathon.leaderboard.visibility import viewer_visibility
from hackathon.submissions.errors import SubmissionRejected
from hackathon.submissions.models import Submission
from hackathon.submissions.selectors import submission_visible_to


@require_GET
def debrief(request: HttpRequest, slug: str) -> HttpResponse:
    challenge = challenge_get_for(slug=slug, user=request.user)
    try:
        data = debrief_view(challenge=challenge, viewer=request.user)
    except PermissionDenied as exc:
        return _forbidden(request, challenge, str(exc))
    visibility = viewer_visibility(challenge=challenge, viewer=request.user)
    own_final, own_share = None, None
    if visibility.team_id is not None:
        final_id = (
            TeamScore.objects.filter(challenge=challenge, team_id=visibility.team_id)
            .values_list("private_submission_id", flat=True)
            .first()
        )
        if final_id is not None:
            own_final = Submission.objects.select_related("challenge").filter(pk=final_id).first()
        if own_final is not None:
            own_share = share_state(submission=own_final, user=request.user)
    context = {
        "challenge": challenge,
        "debrief": data,
        "visibility": visibility,
        "own_final": own_final,
        "own_share": own_share,
        "topic": live.challenge_topic(challenge.pk),
    }
    return render(request, "leaderboard/debrief.html", context)


@require_GET
def shared_solution(request: HttpRequest, slug: str, submission_id: int) -> HttpResponse:
    """A shared solution, read-only, with its diff against the starter."""
    challenge = challenge_get_for(slug=slug, user=request.user)
    if not viewer_visibility(challenge=challenge, viewer=request.user).may_see_private:
        return _forbidden(request, challenge, HIDDEN_MESSAGE)
    shared = shared_solution_get(challenge=challenge, submission_id=submission_id)
    if shared is None:
        raise Http404("No such shared solution.")
    diff, cut = starter_diff(starter=challenge.starter_code, code=shared.submission.code)
    context = {
        "challenge": challenge,
        "shared": shared,
        "code_lines": shared.submission.code.splitlines(),
        "diff": diff,
        "diff_cut": cut,
        "has_starter": bool(challenge.starter_code.strip()),
    }
    return render(request, "leaderboard/shared_solution.html", context)


@require_POST
def share(request: HttpRequest, slug: str, submission_id: int) -> HttpResponse:
    """The team's toggle (submission page, debrief): share or stop sharing."""
    submission = get_object_or_404(
        Submission.objects.select_related("challenge"), pk=submission_id, challenge__slug=slug
    )
    shared = request.POST.get("shared") == "1"
    try:
        solution_share(submission=submission, user=request.user, shared=shared)
    except SubmissionRejected as exc:
        messages.error(request, exc.message)
    else:
        done = (
            f"#{submission.pk} is shared on the debrief as your team's solution."
            if shared
            else "Your team's solution is no longer shared on the debrief."
        )
        messages.success(request, done)
    if submission_visible_to(submission, request.user):
        default = reverse("submissions:detail", args=[submission.pk])
    else:  # another team's: its page does not exist for this viewer
        default = reverse("leaderboard:public", args=[slug])
    return redirect(_redirect_target(request, default))
