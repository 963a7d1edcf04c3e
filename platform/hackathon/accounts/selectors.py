"""Reads about users, teams and tokens."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Q, QuerySet

from hackathon.accounts.models import ApiToken, Membership, Team


def user_team(user: User | AnonymousUser) -> Team | None:
    """The team the user belongs to, or None (anonymous users are in no team)."""
    if not user.is_authenticated:
        return None
    membership = Membership.objects.select_related("team").filter(user=user).first()
    return membership.team if membership else None


def is_organizer(user: User | AnonymousUser | None) -> bool:
    """THE organizer rule, used by every page, API view, service and the admin: an active
    user who is staff, a superuser or a member of the "organizers" group."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    if user.is_staff or user.is_superuser:
        return True
    return user.groups.filter(name=settings.ORGANIZERS_GROUP).exists()


def organizer_accounts() -> QuerySet[User]:
    """The users `is_organizer` holds for, as a query (superusers first, then oldest)."""
    return (
        User.objects.filter(is_active=True)
        .filter(Q(is_staff=True) | Q(is_superuser=True) | Q(groups__name=settings.ORGANIZERS_GROUP))
        .distinct()
        .order_by("-is_superuser", "pk")
    )


def team_members(team: Team) -> QuerySet[Membership]:
    """Memberships of the team, oldest first, with their users."""
    return team.memberships.select_related("user").order_by("joined_at", "id")


def team_is_full(team: Team) -> bool:
    return team.memberships.count() >= settings.TEAM_MAX_SIZE


def user_api_tokens(user: User) -> QuerySet[ApiToken]:
    """The user's tokens that are still usable, newest first."""
    return ApiToken.objects.filter(user=user, revoked_at__isnull=True).order_by("-created_at")
