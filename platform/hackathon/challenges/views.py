"""Challenge pages: the public list, page and downloads; the organizer's authoring pages."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from hackathon.accounts.selectors import is_organizer, user_team
from hackathon.challenges.archive import read_bundle_zip, write_zip
from hackathon.challenges.authoring import (
    initial_from_spec,
    preview_challenge,
    preview_spec,
    spec_from_form,
)
from hackathon.challenges.bundle import spec_files
from hackathon.challenges.downloads import contract_for, download_response
from hackathon.challenges.errors import ChallengeDataError
from hackathon.challenges.forms import BundleUploadForm, ChallengeForm
from hackathon.challenges.models import Challenge
from hackathon.challenges.optimizer import workload_shown
from hackathon.challenges.rendering import render_markdown
from hackathon.challenges.rules import gradient_descent_rule, public_labels_note
from hackathon.challenges.selectors import challenge_get_for, challenge_groups_for, challenge_status
from hackathon.challenges.services import challenge_set_published, challenge_to_spec
from hackathon.challenges.spec import metric_direction
from hackathon.organizing.services import (
    challenge_apply_spec,
    challenge_load_bundle,
    challenge_queue_baseline,
)
from hackathon.submissions.models import Submission
from hackathon.submissions.services import quota_usage


def organizer_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not is_organizer(request.user):
            raise PermissionDenied("Organizers only.")
        return view(request, *args, **kwargs)

    return wrapper


# --- participants -------------------------------------------------------------------------


def challenge_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "challenges/list.html",
        {"groups": challenge_groups_for(request.user), "now": timezone.now()},
    )


def challenge_detail(request: HttpRequest, slug: str) -> HttpResponse:
    challenge = challenge_get_for(slug=slug, user=request.user)
    context = {
        "challenge": challenge,
        "status": challenge_status(challenge),
        "description_html": render_markdown(challenge.description_md),
        "direction": metric_direction(challenge.metric),
        "needs_proba": challenge.metric in ("log_loss", "roc_auc")
        or bool({"log_loss", "roc_auc"} & set(challenge.extra_metrics)),
        "contract": contract_for(challenge),
        "workload": workload_shown(challenge),
        "usage": _team_usage(request.user, challenge),
        "leaderboard_url": f"/leaderboard/{challenge.slug}/",
        "submit_url": f"/submissions/new/{challenge.slug}/",
        "gd_rule": gradient_descent_rule(challenge),
        "classic_note": public_labels_note(challenge),
    }
    return render(request, "challenges/detail.html", context)


def _team_usage(user: Any, challenge: Challenge) -> Any:
    """The viewer's team's quota usage on this challenge, when they are in a team."""
    if not user.is_authenticated:
        return None
    team = user_team(user)
    return quota_usage(team=team, challenge=challenge) if team else None


def challenge_download(request: HttpRequest, slug: str, kind: str) -> HttpResponse:
    """train.csv, train.csv.gz, train.npz or the starter kit, with HTTP range support."""
    return download_response(request, challenge_get_for(slug=slug, user=request.user), kind)


# --- organizers ---------------------------------------------------------------------------


@organizer_required
def manage_list(request: HttpRequest) -> HttpResponse:
    challenges = Challenge.objects.defer("description_md", "starter_code", "baseline_code")
    return render(request, "challenges/manage_list.html", {"challenges": challenges})


@organizer_required
def manage_detail(request: HttpRequest, slug: str) -> HttpResponse:
    challenge = get_object_or_404(Challenge, slug=slug)
    preview = preview_challenge(challenge) if challenge.train_X_id else None
    baselines = Submission.objects.filter(challenge=challenge, is_baseline=True).order_by(
        "-created_at"
    )[:5]
    return render(
        request,
        "challenges/manage_detail.html",
        {
            "challenge": challenge,
            "preview": preview,
            "status": challenge_status(challenge),
            "direction": metric_direction(challenge.metric),
            "baselines": baselines,
        },
    )


def _authoring(request: HttpRequest, challenge: Challenge | None) -> HttpResponse:
    existing = challenge_to_spec(challenge) if challenge else None
    initial = initial_from_spec(existing) if existing else None
    preview = None
    if request.method != "POST":
        form = ChallengeForm(existing=existing, initial=initial)
    else:
        form = ChallengeForm(request.POST, request.FILES, existing=existing, initial=initial)
        if form.is_valid():
            try:
                spec = spec_from_form(form.document, texts=form.texts, data_files=form.data_files)
                if challenge is None and Challenge.objects.filter(slug=spec.slug).exists():
                    raise ChallengeDataError(
                        "form", "a challenge with this slug already exists", field="slug"
                    )
                if "preview" in request.POST:
                    preview = preview_spec(spec)
                else:
                    outcome = challenge_apply_spec(
                        spec=spec,
                        origin="",
                        allow_resplit=form.cleaned_data["allow_resplit"],
                        actor=request.user,
                    )
                    verb = "created" if outcome.created else "saved"
                    messages.success(request, f"Challenge {outcome.challenge.slug} {verb}.")
                    return redirect("challenges:manage_detail", slug=outcome.challenge.slug)
            except ChallengeDataError as exc:
                form.add_spec_errors(exc)
    return render(
        request,
        "challenges/manage_form.html",
        {
            "form": form,
            "challenge": challenge,
            "preview": preview,
            "max_upload": settings.BUNDLE_MAX_BYTES,
        },
        status=400 if form.errors else 200,
    )


@organizer_required
@require_http_methods(["GET", "POST"])
def manage_new(request: HttpRequest) -> HttpResponse:
    return _authoring(request, None)


@organizer_required
@require_http_methods(["GET", "POST"])
def manage_edit(request: HttpRequest, slug: str) -> HttpResponse:
    return _authoring(request, get_object_or_404(Challenge, slug=slug))


@organizer_required
@require_POST
def manage_publish(request: HttpRequest, slug: str) -> HttpResponse:
    challenge = get_object_or_404(Challenge, slug=slug)
    published = request.POST.get("published") == "1"
    challenge_set_published(challenge=challenge, published=published)
    messages.success(request, f"{challenge.slug} {'published' if published else 'unpublished'}.")
    return redirect("challenges:manage_detail", slug=slug)


@organizer_required
@require_http_methods(["GET", "POST"])
def manage_upload(request: HttpRequest) -> HttpResponse:
    form = BundleUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["bundle"]
        try:
            files = read_bundle_zip(
                upload.read(), name=upload.name, max_bytes=settings.BUNDLE_MAX_BYTES
            )
            outcome = challenge_load_bundle(
                files=files,
                origin=upload.name,
                actor=request.user,
                allow_resplit=form.cleaned_data["allow_resplit"],
            )
        except ChallengeDataError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, f"Bundle {outcome.challenge.slug} loaded.")
            queued = challenge_queue_baseline(challenge=outcome.challenge, actor=request.user)
            if queued.submission is not None:
                messages.success(request, f"Baseline queued for grading (#{queued.submission.pk}).")
            return redirect("challenges:manage_detail", slug=outcome.challenge.slug)
    status = 400 if request.method == "POST" else 200
    return render(request, "challenges/manage_upload.html", {"form": form}, status=status)


@organizer_required
def manage_bundle_download(request: HttpRequest, slug: str) -> HttpResponse:
    challenge = get_object_or_404(Challenge, slug=slug)
    body = write_zip(spec_files(challenge_to_spec(challenge)), prefix=f"{challenge.slug}/")
    response = HttpResponse(body, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{challenge.slug}-bundle.zip"'
    return response


@organizer_required
@require_POST
def manage_baseline(request: HttpRequest, slug: str) -> HttpResponse:
    challenge = get_object_or_404(Challenge, slug=slug)
    outcome = challenge_queue_baseline(challenge=challenge, actor=request.user)
    if outcome.submission is not None:
        messages.success(request, f"Baseline queued for grading (#{outcome.submission.pk}).")
    else:
        messages.error(request, f"Baseline not submitted: {outcome.reason}.")
    return redirect("challenges:manage_detail", slug=slug)
