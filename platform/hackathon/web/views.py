"""Pages that belong to the site as a whole."""

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from hackathon.accounts.selectors import user_team
from hackathon.challenges.models import Challenge


def home(request: HttpRequest) -> HttpResponse:
    challenges = Challenge.objects.filter(is_published=True).order_by("start_at", "slug")
    context = {"challenges": challenges, "has_team": user_team(request.user) is not None}
    return render(request, "web/home.html", context)


def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness for load balancers and compose health checks: the database answers."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})
