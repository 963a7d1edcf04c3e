"""Account, profile and team pages. Every write goes through accounts.services."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import get_user_model, login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_POST

from hackathon.accounts import selectors, services
from hackathon.accounts.forms import (
    ApiTokenCreateForm,
    SignupForm,
    TeamCreateForm,
    TeamJoinForm,
)
from hackathon.accounts.models import Team


def _messages_of(error: ValidationError) -> list[str]:
    return [str(m) for m in error.messages]


def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("team")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, "Welcome! Create a team or join one to start competing.")
        return redirect("team")
    return render(request, "registration/signup.html", {"form": form})


# --- Profile and API tokens -----------------------------------------------------------


def _render_profile(
    request: HttpRequest,
    *,
    form: ApiTokenCreateForm | None = None,
    new_key: str | None = None,
    status: int = 200,
) -> HttpResponse:
    context = {
        "team": selectors.user_team(request.user),
        "tokens": selectors.user_api_tokens(request.user),
        "token_form": form or ApiTokenCreateForm(),
        "new_key": new_key,
    }
    response = render(request, "accounts/profile.html", context, status=status)
    # The raw key of a new token must not linger in a cache.
    add_never_cache_headers(response)
    return response


@login_required
def profile(request: HttpRequest) -> HttpResponse:
    return _render_profile(request)


@login_required
@require_POST
def api_token_create_view(request: HttpRequest) -> HttpResponse:
    form = ApiTokenCreateForm(request.POST)
    if form.is_valid():
        try:
            _token, raw_key = services.api_token_create(
                user=request.user, name=form.cleaned_data["name"]
            )
        except ValidationError as error:
            form.add_error("name", error)
        else:
            # Rendered, not redirected: the key is shown this once and stored nowhere.
            return _render_profile(request, new_key=raw_key)
    return _render_profile(request, form=form, status=400)


@login_required
@require_POST
def api_token_revoke_view(request: HttpRequest, token_id: int) -> HttpResponse:
    try:
        services.api_token_revoke(user=request.user, token_id=token_id)
    except ValidationError as error:
        for message in _messages_of(error):
            messages.error(request, message)
        return _render_profile(request, status=404)
    messages.success(request, "Token revoked: programs using it can no longer log in with it.")
    return redirect("profile")


# --- Teams ------------------------------------------------------------------------------


def _render_team(
    request: HttpRequest,
    *,
    create_form: TeamCreateForm | None = None,
    join_form: TeamJoinForm | None = None,
    errors: list[str] | None = None,
    status: int = 200,
) -> HttpResponse:
    team = selectors.user_team(request.user)
    context: dict[str, object] = {"team": team, "errors": errors or []}
    if team is None:
        context["create_form"] = create_form or TeamCreateForm()
        context["join_form"] = join_form or TeamJoinForm()
    else:
        context["members"] = selectors.team_members(team)
        context["is_creator"] = team.created_by_id == request.user.pk
        context["is_full"] = selectors.team_is_full(team)
        context["invite_url"] = request.build_absolute_uri(
            reverse("team_join_link", args=[team.invite_code])
        )
    return render(request, "accounts/team.html", context, status=status)


@login_required
def team(request: HttpRequest) -> HttpResponse:
    return _render_team(request)


@login_required
@require_POST
def team_create_view(request: HttpRequest) -> HttpResponse:
    form = TeamCreateForm(request.POST)
    if form.is_valid():
        try:
            created = services.team_create(user=request.user, name=form.cleaned_data["name"])
        except ValidationError as error:
            if error.code == "already_in_team":
                # The page shows the current team, not the creation form.
                return _render_team(request, errors=_messages_of(error), status=400)
            form.add_error("name", error)
        else:
            messages.success(
                request,
                f"Team “{created.name}” created. Share the invite link with your teammates.",
            )
            return redirect("team")
    return _render_team(request, create_form=form, status=400)


def _join(request: HttpRequest, form: TeamJoinForm) -> HttpResponse | None:
    if not form.is_valid():
        return None
    try:
        joined = services.team_join(user=request.user, code=form.cleaned_data["code"])
    except ValidationError as error:
        form.add_error("code", error)
        return None
    messages.success(request, f"You joined “{joined.name}”.")
    return redirect("team")


@login_required
@require_POST
def team_join_view(request: HttpRequest) -> HttpResponse:
    form = TeamJoinForm(request.POST)
    done = _join(request, form)
    if done:
        return done
    if selectors.user_team(request.user) is not None:
        return _render_team(request, errors=form.errors.get("code", []), status=400)
    return _render_team(request, join_form=form, status=400)


@login_required
def team_join_link(request: HttpRequest, code: str) -> HttpResponse:
    """The invite link: shows which team it is and asks to confirm with a POST."""
    form = TeamJoinForm(request.POST or {"code": code})
    if request.method == "POST":
        done = _join(request, form)
        if done:
            return done
    invited_to = Team.objects.filter(invite_code=code).first()
    current = selectors.user_team(request.user)
    status = 200 if request.method == "GET" else 400
    if invited_to is None and request.method == "GET":
        status = 404
    context = {"form": form, "invited_to": invited_to, "current": current, "code": code}
    return render(request, "accounts/team_join.html", context, status=status)


@login_required
@require_POST
def team_leave_view(request: HttpRequest) -> HttpResponse:
    current = selectors.user_team(request.user)
    try:
        services.team_leave(user=request.user)
    except ValidationError as error:
        return _render_team(request, errors=_messages_of(error), status=400)
    messages.success(request, f"You left “{current.name}”.")
    return redirect("team")


def _team_action_error(request: HttpRequest, error: ValidationError) -> HttpResponse:
    status = 403 if error.code == "not_team_creator" else 400
    return _render_team(request, errors=_messages_of(error), status=status)


@login_required
@require_POST
def team_remove_member_view(request: HttpRequest, user_id: int) -> HttpResponse:
    current = selectors.user_team(request.user)
    if current is None:
        return _render_team(request, errors=["You are not in a team."], status=400)
    member = get_object_or_404(get_user_model(), pk=user_id)
    try:
        services.team_remove_member(actor=request.user, team=current, member=member)
    except ValidationError as error:
        return _team_action_error(request, error)
    messages.success(request, f"{member.get_username()} was removed from the team.")
    return redirect("team")


@login_required
@require_POST
def team_regenerate_code_view(request: HttpRequest) -> HttpResponse:
    current = selectors.user_team(request.user)
    if current is None:
        return _render_team(request, errors=["You are not in a team."], status=400)
    try:
        services.team_regenerate_code(actor=request.user, team=current)
    except ValidationError as error:
        return _team_action_error(request, error)
    messages.success(request, "New invite code created; the old link and code no longer work.")
    return redirect("team")
