"""URL map of the whole site."""

from django.contrib import admin
from django.urls import include, path

from hackathon.submissions.views import dashboard as organizer_dashboard

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("hackathon.web.urls")),
    path("accounts/", include("hackathon.accounts.urls")),
    path("challenges/", include("hackathon.challenges.urls")),
    path("dashboard/", organizer_dashboard, name="dashboard"),
    path("submissions/", include("hackathon.submissions.urls")),
    path("leaderboard/", include("hackathon.leaderboard.urls")),
    path("review/", include("hackathon.integrity.urls")),
    path("api/", include("hackathon.api.urls")),
]
