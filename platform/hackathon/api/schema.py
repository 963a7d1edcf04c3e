"""OpenAPI helpers: every documented error uses the one error shape of `errors.py`."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers


class ErrorSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable machine-readable code, e.g. `quota_exceeded`.")
    message = serializers.CharField(help_text="What went wrong, for a human.")
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Messages per input field (400 only; empty otherwise).",
    )
    quota = serializers.CharField(
        required=False,
        help_text="429 only: which limit was reached (daily, total, in_flight, rate).",
    )
    retry_after = serializers.IntegerField(
        required=False,
        allow_null=True,
        help_text="429 only: seconds until the next slot opens (also `Retry-After`); "
        "null when none will (total quota).",
    )
    verdict = serializers.CharField(
        required=False, help_text="400 from the pre-check: the verdict it would give."
    )


_DESCRIPTIONS = {
    400: "Invalid input",
    401: "Not authenticated or invalid token",
    403: "Not allowed (e.g. not your team, organizers only)",
    404: "Not found",
    409: "Conflict (e.g. the challenge is not open)",
    413: "File too large",
    429: "Quota or rate limit reached (see Retry-After)",
}


def error_responses(*codes: int) -> dict[int, OpenApiResponse]:
    """Responses for the given error statuses; 401 and 429 (throttling) apply everywhere."""
    wanted = sorted({*codes, 401, 429})
    return {
        code: OpenApiResponse(response=ErrorSerializer, description=_DESCRIPTIONS[code])
        for code in wanted
    }


API_DESCRIPTION = """\
The platform's REST API; the `hackathon` command-line tool is a client of it.

**Authentication.** Send a personal API token as `Authorization: Token <key>` (or
`Bearer <key>`). Make one on your profile page, or trade a username and password for one
with `POST /api/v1/auth/token/`. Pages' session cookies work too (with the CSRF token for
writes).

**Errors.** Every error is JSON `{"code", "message", "fields"}`: 400 invalid input (`fields`
holds the messages per field), 401 not authenticated, 403 not allowed (another team's
submission, organizers only), 404, 409 (the challenge is not open, the final selection is
full), 413 (file too large), 429 (quota or rate limit: the `Retry-After` header, and
`quota` = `daily`, `total`, `in_flight` or `rate` with `retry_after` in seconds).

**Live events.** `GET /api/v1/submissions/{id}/events/` (same authentication) is a
Server-Sent Events stream of the submission's events: `state` (queued, running),
`progress` (the loss curve while training) and `finished` (verdict and public score).
Each `data:` line is JSON `{"topic", "event", "data"}`; send `Last-Event-ID` to resume.
"""


def describe_api(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict:
    """drf-spectacular post-processing hook: the API's description (not per operation)."""
    result.setdefault("info", {})["description"] = API_DESCRIPTION
    return result
