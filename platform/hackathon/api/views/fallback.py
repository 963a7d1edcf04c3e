"""The API's answer to a URL it does not have: the one error shape, not an HTML page."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt


@csrf_exempt  # answers 404 to every method; it changes nothing
def api_not_found(request: HttpRequest) -> JsonResponse:
    return JsonResponse(
        {"code": "not_found", "message": f"No API endpoint at {request.path}.", "fields": {}},
        status=404,
    )
