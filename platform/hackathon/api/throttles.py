"""Per-user limits on top of the global ones: submitting and password logins."""

from __future__ import annotations

from django.conf import settings
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle


class SubmitRateThrottle(UserRateThrottle):
    """Requests per user to the submit endpoint (the daily quotas are the pipeline's)."""

    scope = "submit"

    def get_rate(self) -> str:
        return getattr(settings, "API_THROTTLE_SUBMIT", None) or "30/minute"


class PasswordLoginThrottle(AnonRateThrottle):
    """Password guesses per client address."""

    scope = "password_login"

    def get_rate(self) -> str:
        return getattr(settings, "API_THROTTLE_LOGIN", None) or "10/minute"
