"""Who is looking: the viewer's team and role, and which challenges they may open."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.http import Http404

from hackathon.accounts.selectors import user_is_organizer, user_team
from hackathon.challenges.models import Challenge

__all__ = ["challenge_for_viewer", "user_is_organizer", "user_team"]


def challenge_for_viewer(*, slug: str, user: AbstractBaseUser | AnonymousUser) -> Challenge:
    """The challenge if the viewer may see it (published, or the viewer organizes), else 404."""
    try:
        from hackathon.challenges.selectors import challenge_get_for
    except ImportError:  # the challenges app's selectors are not there yet
        challenge = Challenge.objects.filter(slug=slug).first()
        if challenge is None or not (challenge.is_published or user_is_organizer(user)):
            raise Http404("No such challenge.") from None
        return challenge
    return challenge_get_for(slug=slug, user=user)
