"""A submission's live events for API clients: the same Server-Sent Events the pages get,
authenticated by API token (or session), for `hackathon submit --wait`.

Served by the ASGI app (uvicorn); events are those the pipeline publishes on the topic
`submission:<id>`: `state` (queued, running), `progress` (loss curve while training) and
`finished` (verdict and public score, never the private one).
"""

from __future__ import annotations

from typing import Any

from asgiref.sync import sync_to_async
from django.http import HttpRequest, HttpResponse, JsonResponse

from hackathon import live
from hackathon.accounts.services import api_token_authenticate
from hackathon.api.authentication import KEYWORDS
from hackathon.submissions.models import Submission
from hackathon.submissions.selectors import submission_visible_to


def _error(status: int, code: str, message: str, **headers: str) -> JsonResponse:
    response = JsonResponse({"code": code, "message": message, "fields": {}}, status=status)
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


def _token_user(request: HttpRequest) -> tuple[Any, JsonResponse | None]:
    """(user, None) from an Authorization header, (None, None) without one, or an error."""
    header = request.headers.get("Authorization", "").split()
    if not header or header[0].lower() not in KEYWORDS:
        return None, None
    if len(header) != 2:
        return None, _error(401, "authentication_failed", "Invalid Authorization header.")

    user = api_token_authenticate(header[1])
    if user is None:
        return None, _error(
            401, "authentication_failed", "Invalid or revoked API token.", WWW_Authenticate="Token"
        )
    return user, None


def _visible(submission_id: int, user: Any) -> int:
    """200, 403 or 404 for this user and submission."""
    submission = Submission.objects.filter(pk=submission_id).first()
    if submission is None:
        return 404
    return 200 if submission_visible_to(submission, user) else 403


async def submission_events(request: HttpRequest, pk: int) -> HttpResponse:
    """GET /api/v1/submissions/<id>/events/: text/event-stream until the client leaves."""
    if request.method != "GET":
        return _error(
            405, "method_not_allowed", f"Method {request.method} not allowed.", Allow="GET"
        )
    user, failure = await sync_to_async(_token_user)(request)
    if failure is not None:
        return failure
    if user is None:
        user = await request.auser()
    if not user.is_authenticated:
        return _error(
            401,
            "not_authenticated",
            "Authentication credentials were not provided.",
            WWW_Authenticate="Token",
        )
    status = await sync_to_async(_visible)(pk, user)
    if status == 404:
        return _error(404, "not_found", f"Submission #{pk} does not exist.")
    if status == 403:
        return _error(403, "not_your_team", f"Submission #{pk} belongs to another team.")

    return live.sse_response(request, [live.submission_topic(pk)])
