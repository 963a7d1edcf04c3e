"""Leaderboard pages, fragments, exports, organizer actions and the live event stream.

Every output is built from `selectors.leaderboard_view` / `shakeup_view`, which apply
the one visibility rule; views only choose a template or a format.
"""

from __future__ import annotations

import csv

from asgiref.sync import sync_to_async
from django import forms
from django.contrib import messages
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseForbidden,
    JsonResponse,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from hackathon import live
from hackathon.accounts.models import Team
from hackathon.accounts.selectors import is_organizer, user_team
from hackathon.challenges.models import Challenge
from hackathon.challenges.precision import score_text
from hackathon.challenges.selectors import challenge_get_for
from hackathon.leaderboard import services, webhooks
from hackathon.leaderboard.curves import leader_curves
from hackathon.leaderboard.models import ChatWebhook
from hackathon.leaderboard.room import REFUSALS_LISTED, room_refusals, room_snapshot
from hackathon.leaderboard.selectors import (
    LeaderboardView,
    disqualified_teams,
    leaderboard_export_rows,
    leaderboard_view,
    live_channels_for,
    score_progression,
    shakeup_view,
    viewer_visibility,
)
from hackathon.submissions.models import RefusalReason, Submission

PAGE_SIZE = 50


def _int_param(request: HttpRequest, name: str, default: int) -> int:
    raw = request.GET.get(name, "")
    return int(raw) if raw.isdigit() else default


def _board(request: HttpRequest, challenge: Challenge, kind: str) -> LeaderboardView:
    # `as=public` shows what an anonymous visitor sees (the projector on the meetup's
    # screen, opened by an organizer). It can only narrow what a viewer sees.
    viewer = AnonymousUser() if request.GET.get("as") == "public" else request.user
    return leaderboard_view(
        challenge=challenge,
        viewer=viewer,
        kind=kind,
        page=_int_param(request, "page", 1),
        page_size=_int_param(request, "page_size", PAGE_SIZE),
    )


def _page_context(request: HttpRequest, challenge: Challenge, kind: str) -> dict:
    board = _board(request, challenge, kind)
    return {
        "challenge": challenge,
        "board": board,
        "visibility": board.visibility,
        "topic": live.challenge_topic(challenge.pk),
        "kind": kind,
        "disqualified": disqualified_teams(challenge=challenge)
        if board.visibility.is_organizer
        else [],
        "disqualify_choices": _disqualify_choices(challenge)
        if board.visibility.is_organizer
        else [],
    }


def _disqualify_choices(challenge: Challenge) -> list[Team]:
    """Teams that submitted to the challenge and are not disqualified, by name."""
    return list(
        Team.objects.filter(submissions__challenge=challenge)
        .exclude(disqualifications__challenge=challenge)
        .distinct()
        .order_by("name")
    )


def _forbidden(request: HttpRequest, challenge: Challenge, message: str) -> HttpResponse:
    context = {
        "challenge": challenge,
        "message": message,
        "visibility": viewer_visibility(challenge=challenge, viewer=request.user),
    }
    return render(request, "leaderboard/hidden.html", context, status=403)


@require_GET
def public_board(request: HttpRequest, slug: str) -> HttpResponse:
    challenge = challenge_get_for(slug=slug, user=request.user)
    if request.GET.get("jump") == "me":
        board = _board(request, challenge, "public")
        target = reverse("leaderboard:public", args=[slug])
        if board.own and board.own.page:
            return redirect(f"{target}?page={board.own.page}#team-{board.visibility.team_id}")
        messages.info(request, "Your team is not on this leaderboard yet.")
        return redirect(target)
    return render(request, "leaderboard/board.html", _page_context(request, challenge, "public"))


@require_GET
def private_board(request: HttpRequest, slug: str) -> HttpResponse:
    challenge = challenge_get_for(slug=slug, user=request.user)
    try:
        context = _page_context(request, challenge, "private")
    except PermissionDenied as exc:
        return _forbidden(request, challenge, str(exc))
    return render(request, "leaderboard/board.html", context)


@require_GET
def shakeup(request: HttpRequest, slug: str) -> HttpResponse:
    challenge = challenge_get_for(slug=slug, user=request.user)
    try:
        view = shakeup_view(
            challenge=challenge, viewer=request.user, page=_int_param(request, "page", 1)
        )
    except PermissionDenied as exc:
        return _forbidden(request, challenge, str(exc))
    context = {"challenge": challenge, "shakeup": view, "topic": live.challenge_topic(challenge.pk)}
    return render(request, "leaderboard/shakeup.html", context)


@require_GET
def projector(request: HttpRequest, slug: str) -> HttpResponse:
    challenge = challenge_get_for(slug=slug, user=request.user)
    visibility = viewer_visibility(challenge=challenge, viewer=request.user)
    context = {
        "challenge": challenge,
        "visibility": visibility,
        "topic": live.challenge_topic(challenge.pk),
        "data_url": reverse("leaderboard:json", args=[slug]),
        "progression_url": reverse("leaderboard:progression", args=[slug]),
    }
    return render(request, "leaderboard/projector.html", context)


@never_cache
@require_GET
def fragment(request: HttpRequest, slug: str) -> HttpResponse:
    """The board's table alone, as this viewer may see it: what live pages swap in."""
    challenge = challenge_get_for(slug=slug, user=request.user)
    kind = request.GET.get("kind", "public")
    if kind not in ("public", "private"):
        return HttpResponseBadRequest("kind must be public or private.")
    try:
        board = _board(request, challenge, kind)
    except PermissionDenied as exc:
        return HttpResponseForbidden(str(exc))
    html = render_to_string(
        "leaderboard/_table.html", {"board": board, "challenge": challenge}, request=request
    )
    return HttpResponse(html)


@never_cache
@require_GET
def board_json(request: HttpRequest, slug: str) -> JsonResponse:
    """A page of a board as JSON (projector view, benchmarks), as this viewer may see it."""
    challenge = challenge_get_for(slug=slug, user=request.user)
    kind = request.GET.get("kind", "public")
    if kind not in ("public", "private"):
        return JsonResponse({"detail": "kind must be public or private."}, status=400)
    try:
        board = _board(request, challenge, kind)
    except PermissionDenied as exc:
        return JsonResponse({"detail": str(exc)}, status=403)
    data = board.as_dict()
    data["phase"] = _phase(challenge)
    return JsonResponse(data)


@never_cache
@require_GET
def progression_json(request: HttpRequest, slug: str) -> JsonResponse:
    """The best public score over time of the top ten and the baselines, as this viewer
    may see it (nothing after the freeze while the board is frozen for them)."""
    challenge = challenge_get_for(slug=slug, user=request.user)
    # `as=public`, as for the board's JSON: the projector shows what a visitor sees.
    viewer = AnonymousUser() if request.GET.get("as") == "public" else request.user
    return JsonResponse(score_progression(challenge=challenge, viewer=viewer))


@never_cache
@require_GET
def curves_json(request: HttpRequest, slug: str) -> JsonResponse:
    """An optimizer challenge's public leader's trusted curves against the baseline's, as
    this viewer may see them (the board's leader while frozen; public instances only until
    the private board is visible to them)."""
    challenge = challenge_get_for(slug=slug, user=request.user)
    viewer = AnonymousUser() if request.GET.get("as") == "public" else request.user
    return JsonResponse(leader_curves(challenge=challenge, viewer=viewer))


def _phase(challenge: Challenge) -> dict:
    return {
        "end_at": challenge.end_at.isoformat() if challenge.end_at else None,
        "freeze_at": challenge.freeze_at.isoformat() if challenge.freeze_at else None,
        "is_frozen": challenge.is_frozen,
        "revealed_at": challenge.revealed_at.isoformat() if challenge.revealed_at else None,
    }


@require_GET
def export_csv(request: HttpRequest, slug: str, kind: str) -> HttpResponse:
    """A whole board as CSV. Private: organizers only. Public: as the viewer may see it."""
    challenge = challenge_get_for(slug=slug, user=request.user)
    if kind not in ("public", "private"):
        raise Http404("No such leaderboard.")
    if kind == "private" and not is_organizer(request.user):
        return HttpResponseForbidden("Only organizers may export the private leaderboard.")
    rows = leaderboard_export_rows(challenge=challenge, viewer=request.user, kind=kind)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{challenge.slug}-{kind}.csv"'
    writer = csv.writer(response)
    writer.writerow(
        [
            "rank",
            "team",
            "score",
            "ci_low",
            "ci_high",
            "entries",
            "last_submission_at",
            "baseline",
            "statistically_tied",
        ]
    )
    for row in rows:
        writer.writerow(
            [
                row.rank or "",
                _csv_safe(row.name),
                row.score_text,  # THE publishing rule: display precision, as on the page
                "" if row.ci_low is None else score_text(row.ci_low, row.precision),
                "" if row.ci_high is None else score_text(row.ci_high, row.precision),
                "" if row.entries is None else row.entries,
                row.last_submission_at.isoformat() if row.last_submission_at else "",
                "yes" if row.is_baseline else "",
                "yes" if row.statistically_tied else "",
            ]
        )
    return response


def _csv_safe(text: str) -> str:
    # A team name starting with =, +, - or @ would run as a formula in a spreadsheet.
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


# --- Organizer actions ---------------------------------------------------------------------

_PHASE_ACTIONS = {
    "freeze": (services.leaderboard_freeze, "The public leaderboard is frozen."),
    "unfreeze": (services.leaderboard_unfreeze, "The public leaderboard is live again."),
    "reveal": (services.leaderboard_reveal, "The final standings are revealed."),
}


def _organizer_challenge(request: HttpRequest, slug: str) -> Challenge:
    if not is_organizer(request.user):
        raise PermissionDenied("Only organizers may do this.")
    return get_object_or_404(Challenge, slug=slug)


def _redirect_target(request: HttpRequest, default: str) -> str:
    """The posted `next` if it stays on this site (a relative path or an allowed host over
    the request's scheme), else `default`: never an open redirect."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    allowed = url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return target if target and allowed else default


@require_POST
def phase_action(request: HttpRequest, slug: str, action: str) -> HttpResponse:
    challenge = _organizer_challenge(request, slug)
    if action not in _PHASE_ACTIONS:
        raise Http404("No such action.")
    service, done = _PHASE_ACTIONS[action]
    options = {}
    if action == "reveal":
        # The page asks for this confirmation, saying that the reveal ends the challenge.
        options["close_submissions"] = request.POST.get("close_submissions") == "1"
    try:
        service(challenge=challenge, actor=request.user, **options)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, done)
    default = reverse("leaderboard:public", args=[slug])
    return redirect(_redirect_target(request, default))


@require_POST
def disqualify_chosen_team(request: HttpRequest, slug: str) -> HttpResponse:
    """The board's form: the team is chosen by name from a list (its id is the value)."""
    try:
        team_id = int(request.POST.get("team", ""))
    except ValueError:
        _organizer_challenge(request, slug)
        messages.error(request, "Choose the team to disqualify.")
        return redirect(reverse("leaderboard:public", args=[slug]))
    return disqualify_team(request, slug, team_id)


@require_POST
def disqualify_team(request: HttpRequest, slug: str, team_id: int) -> HttpResponse:
    challenge = _organizer_challenge(request, slug)
    team = get_object_or_404(Team, pk=team_id)
    try:
        services.leaderboard_disqualify_team(
            challenge=challenge,
            team=team,
            actor=request.user,
            reason=request.POST.get("reason", ""),
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"{team.name} is disqualified from {challenge.title}.")
    return redirect(reverse("leaderboard:public", args=[slug]))


@require_POST
def requalify_team(request: HttpRequest, slug: str, team_id: int) -> HttpResponse:
    challenge = _organizer_challenge(request, slug)
    team = get_object_or_404(Team, pk=team_id)
    try:
        services.leaderboard_requalify_team(challenge=challenge, team=team, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"{team.name} is back on the leaderboards.")
    return redirect(reverse("leaderboard:public", args=[slug]))


# --- The organizers' room view -------------------------------------------------------------


@require_GET
def room(request: HttpRequest, slug: str) -> HttpResponse:
    """What the room is struggling with, live (organizers only)."""
    challenge = _organizer_challenge(request, slug)
    context = {
        "challenge": challenge,
        "room": room_snapshot(challenge=challenge),
        "topic": live.challenge_topic(challenge.pk),
        "fragment_url": reverse("leaderboard:room_fragment", args=[slug]),
        "webhooks": ChatWebhook.objects.filter(challenge=challenge),
        "webhook_kinds": ChatWebhook.Kind.choices,
        "deliveries": webhooks.webhook_log(challenge=challenge),
    }
    return render(request, "leaderboard/room.html", context)


class _WebhookForm(forms.Form):
    kind = forms.ChoiceField(choices=ChatWebhook.Kind.choices)
    url = forms.URLField(max_length=1000, assume_scheme="https")

    def clean_url(self) -> str:
        url = self.cleaned_data["url"]
        if not url.startswith(("https://", "http://")):
            raise forms.ValidationError("The webhook URL must start with https:// or http://.")
        return url


@require_POST
def room_webhook_add(request: HttpRequest, slug: str) -> HttpResponse:
    challenge = _organizer_challenge(request, slug)
    form = _WebhookForm(request.POST)
    if form.is_valid():
        webhooks.webhook_add(challenge=challenge, **form.cleaned_data)
        messages.success(request, "Webhook added; it hears of events from now on.")
    else:
        messages.error(request, " ".join(e for errs in form.errors.values() for e in errs))
    return redirect(reverse("leaderboard:room", args=[slug]) + "#webhooks")


@require_POST
def room_webhook_remove(request: HttpRequest, slug: str, webhook_id: int) -> HttpResponse:
    challenge = _organizer_challenge(request, slug)
    get_object_or_404(ChatWebhook, pk=webhook_id, challenge=challenge).delete()
    messages.success(request, "Webhook removed.")
    return redirect(reverse("leaderboard:room", args=[slug]) + "#webhooks")


@never_cache
@require_GET
def room_fragment(request: HttpRequest, slug: str) -> HttpResponse:
    """The room view's body alone, what the page swaps in on a live event."""
    challenge = _organizer_challenge(request, slug)
    return render(
        request,
        "leaderboard/_room.html",
        {"challenge": challenge, "room": room_snapshot(challenge=challenge)},
    )


@require_GET
def room_refusals_page(request: HttpRequest, slug: str) -> HttpResponse:
    """The uploads refused before grading, of one reason or all (organizers only)."""
    challenge = _organizer_challenge(request, slug)
    reason = request.GET.get("reason", "")[:40]
    minutes = _int_param(request, "minutes", 0)
    context = {
        "challenge": challenge,
        "refusals": room_refusals(challenge=challenge, reason=reason, minutes=minutes),
        "label": dict(RefusalReason.choices).get(reason, reason),
        "minutes": minutes,
        "limit": REFUSALS_LISTED,
    }
    return render(request, "leaderboard/room_refusals.html", context)


@never_cache
@require_GET
def room_json(request: HttpRequest, slug: str) -> JsonResponse:
    challenge = _organizer_challenge(request, slug)
    return JsonResponse(room_snapshot(challenge=challenge))


# --- Live events (Server-Sent Events, served by the ASGI app) -------------------------------

MAX_TOPICS = 4


def _channels_for_topic(topic: str, user: AbstractBaseUser | AnonymousUser) -> list[str]:
    """The live channels behind a topic that this user may listen to.

    `challenge:<id>`: anyone who may see the challenge, with the extra channels of their
    audience (organizers, own team). `submission:<id>`: its team and organizers only.
    """
    kind, _, raw_id = topic.partition(":")
    if not raw_id.isdigit():
        raise ValueError(f"Unknown topic {topic!r}: expected challenge:<id> or submission:<id>.")
    if kind == "challenge":
        challenge = Challenge.objects.filter(pk=int(raw_id)).first()
        if challenge is None:
            raise Http404("No such challenge.")
        challenge = challenge_get_for(slug=challenge.slug, user=user)
        return live_channels_for(challenge=challenge, viewer=user)
    if kind == "submission":
        team_id = (
            Submission.objects.filter(pk=int(raw_id)).values_list("team_id", flat=True).first()
        )
        if team_id is None and not Submission.objects.filter(pk=int(raw_id)).exists():
            raise Http404("No such submission.")
        team = user_team(user)
        if is_organizer(user) or (team is not None and team.pk == team_id):
            return [live.submission_topic(int(raw_id))]
        raise PermissionDenied("Only the submission's team and organizers may follow it.")
    raise ValueError(f"Unknown topic {topic!r}: expected challenge:<id> or submission:<id>.")


def _channels_for_topics(topics: list[str], user: AbstractBaseUser | AnonymousUser) -> list[str]:
    channels: list[str] = []
    for topic in topics:
        channels += [c for c in _channels_for_topic(topic, user) if c not in channels]
    return channels


async def live_events(request: HttpRequest) -> HttpResponse:
    """GET /leaderboard/live/?topic=challenge:1[&topic=submission:2]: an SSE stream."""
    if request.method != "GET":
        return HttpResponse(status=405, headers={"Allow": "GET"})
    topics = request.GET.getlist("topic")
    if not topics or len(topics) > MAX_TOPICS:
        return HttpResponseBadRequest(f"Give 1 to {MAX_TOPICS} topic parameters.")
    user = await request.auser()
    try:
        channels = await sync_to_async(_channels_for_topics)(topics, user)
    except ValueError as exc:
        return HttpResponseBadRequest(str(exc))
    except PermissionDenied as exc:
        return HttpResponseForbidden(str(exc))
    except Http404 as exc:
        return HttpResponse(str(exc), status=404)
    return live.sse_response(request, channels)
