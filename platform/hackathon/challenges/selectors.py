"""Reads for challenges: what a user may see, grouped for the list page."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone

from hackathon.accounts.selectors import is_organizer
from hackathon.challenges.models import Challenge


def challenge_list_for(user: Any) -> QuerySet[Challenge]:
    """Published challenges; organizers also see drafts."""
    qs = Challenge.objects.defer("description_md", "starter_code", "baseline_code")
    return qs if is_organizer(user) else qs.filter(is_published=True)


def challenge_get_for(*, slug: str, user: Any) -> Challenge:
    """The challenge if `user` may see it; 404 otherwise (drafts exist only for organizers)."""
    challenge = Challenge.objects.filter(slug=slug).first()
    if challenge is None or not (challenge.is_published or is_organizer(user)):
        raise Http404("No such challenge")
    return challenge


@dataclass
class ChallengeGroups:
    open: list[Challenge] = field(default_factory=list)
    upcoming: list[Challenge] = field(default_factory=list)
    finished: list[Challenge] = field(default_factory=list)
    drafts: list[Challenge] = field(default_factory=list)


def challenge_groups_for(user: Any) -> ChallengeGroups:
    groups = ChallengeGroups()
    now = timezone.now()
    for challenge in challenge_list_for(user):
        if not challenge.is_published:
            groups.drafts.append(challenge)
        elif challenge.end_at and now >= challenge.end_at:
            groups.finished.append(challenge)
        elif challenge.start_at and now < challenge.start_at:
            groups.upcoming.append(challenge)
        else:
            groups.open.append(challenge)
    return groups


def challenge_status(challenge: Challenge) -> str:
    now = timezone.now()
    if not challenge.is_published:
        return "draft"
    if challenge.end_at and now >= challenge.end_at:
        return "finished"
    if challenge.start_at and now < challenge.start_at:
        return "upcoming"
    return "open"
