from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest

from hackathon.accounts.selectors import is_organizer


def site(request: HttpRequest) -> dict:
    return {
        "SITE_NAME": settings.SITE_NAME,
        "TEAM_MAX_SIZE": settings.TEAM_MAX_SIZE,
        "is_organizer": is_organizer(getattr(request, "user", AnonymousUser())),
    }
