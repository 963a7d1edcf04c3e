"""Pages: submit, a team's submissions, one submission (live), organizer actions, dashboard."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from hackathon.accounts.models import Team
from hackathon.accounts.selectors import is_organizer, user_team
from hackathon.challenges.models import Challenge
from hackathon.challenges.optimizer import visible_instances
from hackathon.challenges.selectors import challenge_get_for
from hackathon.challenges.visibility import viewer_may_see_private
from hackathon.submissions import hooks, selectors, services
from hackathon.submissions.errors import QuotaExceeded, SubmissionRejected
from hackathon.submissions.forms import DisqualifyForm, SubmitForm, refusal_reason
from hackathon.submissions.models import RejudgeBatch, State, Submission, Verdict

MAX_OVERLAY = 6


def _require_organizer(request: HttpRequest) -> None:
    if not is_organizer(request.user):
        raise PermissionDenied("Organizers only.")


def _visible_submission(request: HttpRequest, pk: int) -> Submission:
    submission = get_object_or_404(
        Submission.objects.select_related("challenge", "team", "user"), pk=pk
    )
    if not selectors.submission_visible_to(submission, request.user):
        # Another team's submission does not exist as far as this viewer can tell.
        raise Http404("No such submission.")
    return submission


@login_required
def submit(request: HttpRequest, slug: str) -> HttpResponse:
    challenge = challenge_get_for(slug=slug, user=request.user)
    team = user_team(request.user)
    organizer = is_organizer(request.user)
    errors: list[str] = []
    status = 200
    retry_after: int | None = None
    if request.method == "POST":
        form = SubmitForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                submission = services.submission_create(
                    challenge=challenge,
                    user=request.user,
                    code=form.cleaned_data["source"],
                    filename=form.cleaned_data["filename"],
                )
            except SubmissionRejected as exc:
                errors.append(exc.message)
                status = exc.http_status
                if isinstance(exc, QuotaExceeded) and exc.retry_after:
                    retry_after = exc.retry_after
            else:
                messages.success(request, f"Submission #{submission.pk} is queued for grading.")
                return redirect("submissions:detail", pk=submission.pk)
        else:
            status = 400
            services.upload_refusal_record(
                challenge=challenge,
                user=request.user,
                reason=refusal_reason(form),
                message=" ".join(e for errors in form.errors.values() for e in errors),
            )
    else:
        form = SubmitForm()
    response = render(
        request,
        "submissions/submit.html",
        _submit_context(challenge, team, organizer, form, errors),
        status=status,
    )
    if retry_after:
        response["Retry-After"] = str(retry_after)
    return response


def _submit_context(
    challenge: Challenge, team: Team | None, organizer: bool, form: SubmitForm, errors: list[str]
) -> dict:
    usage = services.quota_usage(team=team, challenge=challenge) if team else None
    return {
        "challenge": challenge,
        "team": team,
        "is_organizer": organizer,
        "form": form,
        "errors": errors,
        "usage": usage,
        "allowed_imports": services.allowed_imports_for(challenge),
        "can_submit": organizer or (team is not None and challenge.is_open),
    }


@login_required
def submission_list(request: HttpRequest) -> HttpResponse:
    challenge = None
    if slug := request.GET.get("challenge"):
        challenge = challenge_get_for(slug=slug, user=request.user)
    team = user_team(request.user)
    qs = selectors.submissions_for_user(user=request.user, challenge=challenge)
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    challenges = Challenge.objects.filter(
        pk__in=selectors.submissions_for_user(user=request.user).values("challenge")
    )
    return render(
        request,
        "submissions/list.html",
        {"page": page, "team": team, "challenge": challenge, "challenges": challenges},
    )


def _status_payload(submission: Submission, user: AbstractBaseUser | AnonymousUser) -> dict:
    """What the detail page shows, as JSON (its live script refreshes from it)."""
    challenge = submission.challenge
    show_private = viewer_may_see_private(challenge=challenge, viewer=user)
    scores = selectors.published_scores(submission, with_private=show_private)
    now = timezone.now()
    payload = {
        "id": submission.pk,
        "state": submission.state,
        "queue_position": selectors.submission_queue_position(submission),
        "started_at": submission.started_at.isoformat() if submission.started_at else None,
        "elapsed_s": (now - submission.started_at).total_seconds()
        if submission.state == State.RUNNING and submission.started_at
        else None,
        "verdict": submission.verdict,
        "verdict_label": Verdict(submission.verdict).label if submission.verdict else "",
        "message": submission.message,
        "public_score": scores["public_score"],
        "public_score_text": scores["public_score_text"],
        "public_ci": [scores["public_ci_low"], scores["public_ci_high"]]
        if scores["public_ci_low"] is not None
        else None,
        "extra_scores": scores["extra_scores"],
        "fit_seconds": submission.fit_seconds,
        "predict_seconds": submission.predict_seconds,
        "peak_memory_mb": submission.peak_memory_mb,
        "cpu_seconds": submission.cpu_seconds,
        "hyperparameters": submission.hyperparameters,
        "loss_curve": submission.loss_curve,
        "diagnostics": submission.diagnostics,
        "track": challenge.track,
        # Optimizer track: the trusted runs per instance (private ones with the private board).
        "instances": visible_instances(submission.instances, show_private=show_private),
        # The page is shown only to the team and organizers, who may read the logs.
        "stdout": submission.stdout,
        "stderr": submission.stderr,
        "disqualified": submission.disqualified,
        "disqualified_reason": submission.disqualified_reason,
        "is_final": submission.is_final,
        # While queued, results of others move the queue: the page listens to them too.
        "challenge_topic": f"challenge:{challenge.pk}" if submission.state == State.QUEUED else "",
    }
    if show_private:
        payload["private_score"] = scores["private_score"]
        payload["private_score_text"] = scores["private_score_text"]
    return payload


@login_required
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    submission = _visible_submission(request, pk)
    user = request.user
    challenge = submission.challenge
    organizer = is_organizer(user)
    team = user_team(user)
    own_team = team is not None and team.pk == submission.team_id
    overlay = []
    if submission.team_id:
        overlay = list(
            Submission.objects.filter(
                team_id=submission.team_id, challenge=challenge, state=State.FINISHED
            )
            .exclude(pk=submission.pk)
            .exclude(loss_curve=[])
            .order_by("-created_at")
            .values("pk", "created_at", "public_score")[:30]
        )
    finals = 0
    if submission.team_id:
        finals = Submission.objects.filter(
            team_id=submission.team_id, challenge=challenge, is_final=True
        ).count()
    stream = reverse("leaderboard:live")
    return render(
        request,
        "submissions/detail.html",
        {
            "submission": submission,
            "challenge": challenge,
            "status": _status_payload(submission, user),
            "show_private": viewer_may_see_private(challenge=challenge, viewer=user),
            "is_organizer": organizer,
            "own_team": own_team,
            "can_select_final": own_team
            and not challenge.has_ended
            and submission.verdict == Verdict.SCORED
            and not submission.disqualified,
            "finals": finals,
            "overlay": overlay,
            "live_url": f"{stream}?topic=submission:{submission.pk}" if stream else "",
            "disqualify_form": DisqualifyForm(),
            # After the end, the team may share its final submission on the debrief.
            "share": hooks.share_state(submission=submission, user=user) if own_team else None,
        },
    )


@login_required
@require_GET
def status_json(request: HttpRequest, pk: int) -> JsonResponse:
    submission = _visible_submission(request, pk)
    return JsonResponse(_status_payload(submission, request.user))


@login_required
@require_GET
def curves_json(request: HttpRequest) -> JsonResponse:
    """Loss curves of several submissions, for the overlay; only those the viewer may see."""
    try:
        ids = [int(x) for x in request.GET.get("ids", "").split(",") if x.strip()][:MAX_OVERLAY]
    except ValueError:
        return JsonResponse({"error": "ids must be comma-separated numbers"}, status=400)
    curves = []
    for sub in Submission.objects.filter(pk__in=ids).select_related("challenge"):
        if selectors.submission_visible_to(sub, request.user):
            curves.append({"id": sub.pk, "label": f"#{sub.pk}", "loss_curve": sub.loss_curve or []})
    return JsonResponse({"curves": curves})


@login_required
@require_POST
def select_final(request: HttpRequest, pk: int) -> HttpResponse:
    submission = _visible_submission(request, pk)
    selected = request.POST.get("selected") == "1"
    try:
        services.submission_set_final(submission=submission, user=request.user, selected=selected)
    except SubmissionRejected as exc:
        messages.error(request, exc.message)
        return redirect("submissions:detail", pk=pk)
    messages.success(
        request,
        f"#{pk} is {'now one of your final submissions' if selected else 'no longer final'}.",
    )
    return redirect("submissions:detail", pk=pk)


@login_required
@require_POST
def rejudge(request: HttpRequest, pk: int) -> HttpResponse:
    _require_organizer(request)
    submission = get_object_or_404(Submission, pk=pk)
    try:
        services.submission_rejudge(submission=submission, actor=request.user)
    except SubmissionRejected as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"#{pk} is queued for grading again.")
    return redirect("submissions:detail", pk=pk)


@login_required
@require_POST
def disqualify(request: HttpRequest, pk: int) -> HttpResponse:
    _require_organizer(request)
    submission = get_object_or_404(Submission, pk=pk)
    form = DisqualifyForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Give the reason the team will see (at most 300 characters).")
        return redirect("submissions:detail", pk=pk)
    try:
        services.submission_disqualify(
            submission=submission, actor=request.user, reason=form.cleaned_data["reason"]
        )
    except SubmissionRejected as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"#{pk} is disqualified; it left the leaderboards.")
    return redirect("submissions:detail", pk=pk)


@login_required
@require_POST
def rejudge_all(request: HttpRequest, slug: str = "") -> HttpResponse:
    _require_organizer(request)
    slug = slug or request.POST.get("challenge", "")
    if not slug:
        messages.error(request, "Choose the challenge to rejudge.")
        return redirect("dashboard")
    challenge = get_object_or_404(Challenge, slug=slug)
    batch = services.challenge_rejudge_all(challenge=challenge, actor=request.user)
    messages.success(
        request, f"Rejudging {batch.total} submissions of {challenge.title}; progress below."
    )
    return redirect(reverse("dashboard") + f"#rejudge-{batch.pk}")


@login_required
@require_GET
def rejudge_progress(request: HttpRequest, batch_id: int) -> JsonResponse:
    _require_organizer(request)
    batch = get_object_or_404(RejudgeBatch, pk=batch_id)
    return JsonResponse({"id": batch.pk, **selectors.rejudge_progress(batch)})


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    _require_organizer(request)
    return render(
        request,
        "submissions/dashboard.html",
        {
            "board": selectors.organizer_dashboard(),
            "challenges": Challenge.objects.order_by("slug"),
        },
    )
