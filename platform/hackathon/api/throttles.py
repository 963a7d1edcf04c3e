"""Per-user limits on top of the global ones: submitting. (Password logins are limited by
hackathon.accounts.login_limits, the same counters as the login form's.)"""

from __future__ import annotations

from django.conf import settings
from rest_framework.throttling import UserRateThrottle


class SubmitRateThrottle(UserRateThrottle):
    """Requests per user to the submit endpoint (the daily quotas are the pipeline's)."""

    scope = "submit"

    def get_rate(self) -> str:
        return getattr(settings, "API_THROTTLE_SUBMIT", None) or "30/minute"
