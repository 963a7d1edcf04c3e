"""Who is an organizer: the accounts app decides; a fallback keeps this app usable alone."""

from __future__ import annotations

from typing import Any

from django.conf import settings


def is_organizer(user: Any) -> bool:
    if not getattr(user, "is_authenticated", False):
        return False
    try:
        from hackathon.accounts.selectors import user_is_organizer
    except ImportError:
        return bool(user.is_staff or user.groups.filter(name=settings.ORGANIZERS_GROUP).exists())
    return user_is_organizer(user)
