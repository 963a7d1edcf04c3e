"""Who may call what: organizers are staff or members of the organizers group."""

from __future__ import annotations

from typing import Any

from rest_framework import permissions
from rest_framework.request import Request


def is_organizer(user: Any) -> bool:
    if not user or not user.is_authenticated:
        return False
    from hackathon.accounts.selectors import user_is_organizer

    return bool(user_is_organizer(user))


class IsOrganizer(permissions.BasePermission):
    message = "Only organizers may do this."

    def has_permission(self, request: Request, view: Any) -> bool:
        return is_organizer(request.user)
