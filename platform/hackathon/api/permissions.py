"""Who may call what: the one organizer rule (`accounts.selectors.is_organizer`) for the API."""

from __future__ import annotations

from typing import Any

from rest_framework import permissions
from rest_framework.request import Request

from hackathon.accounts.selectors import is_organizer


class IsOrganizer(permissions.BasePermission):
    message = "Only organizers may do this."

    def has_permission(self, request: Request, view: Any) -> bool:
        return is_organizer(request.user)
