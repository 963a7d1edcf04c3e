"""URL map of the whole site."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("hackathon.web.urls")),
    path("accounts/", include("hackathon.accounts.urls")),
    path("challenges/", include("hackathon.challenges.urls")),
    path("submissions/", include("hackathon.submissions.urls")),
    path("leaderboard/", include("hackathon.leaderboard.urls")),
    path("api/", include("hackathon.api.urls")),
]
