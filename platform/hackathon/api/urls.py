"""The REST API under /api/: version 1, its OpenAPI schema and the browsable docs."""

from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from hackathon.api.views import accounts, challenges, events, organizer, submissions
from hackathon.api.views.fallback import api_not_found

app_name = "api"

v1 = [
    path("me/", accounts.MeView.as_view(), name="me"),
    path("auth/token/", accounts.PasswordTokenView.as_view(), name="auth-token"),
    path("tokens/", accounts.TokenListView.as_view(), name="tokens"),
    path("tokens/<int:pk>/", accounts.TokenRevokeView.as_view(), name="token-revoke"),
    path("teams/", accounts.TeamCreateView.as_view(), name="team-create"),
    path("teams/me/", accounts.TeamMeView.as_view(), name="team-me"),
    path("teams/join/", accounts.TeamJoinView.as_view(), name="team-join"),
    path("challenges/", challenges.ChallengeListView.as_view(), name="challenge-list"),
    path("challenges/bundle/", organizer.ChallengeBundleView.as_view(), name="challenge-bundle"),
    path(
        "challenges/<slug:slug>/", challenges.ChallengeDetailView.as_view(), name="challenge-detail"
    ),
    path(
        "challenges/<slug:slug>/training.csv",
        challenges.TrainingCsvView.as_view(),
        name="challenge-training-csv",
    ),
    path(
        "challenges/<slug:slug>/train.npz",
        challenges.TrainingNpzView.as_view(),
        name="challenge-training-npz",
    ),
    path(
        "challenges/<slug:slug>/train.csv.gz",
        challenges.TrainingCsvGzView.as_view(),
        name="challenge-training-csv-gz",
    ),
    path(
        "challenges/<slug:slug>/starter-kit.zip",
        challenges.StarterKitView.as_view(),
        name="challenge-starter-kit",
    ),
    path(
        "challenges/<slug:slug>/leaderboard/",
        challenges.LeaderboardView.as_view(),
        name="challenge-leaderboard",
    ),
    path(
        "challenges/<slug:slug>/progression/",
        challenges.ProgressionView.as_view(),
        name="challenge-progression",
    ),
    path(
        "challenges/<slug:slug>/submissions/",
        submissions.ChallengeSubmissionsView.as_view(),
        name="challenge-submissions",
    ),
    path(
        "challenges/<slug:slug>/rejudge/",
        organizer.ChallengeRejudgeView.as_view(),
        name="challenge-rejudge",
    ),
    path(
        "challenges/<slug:slug>/export/",
        organizer.ChallengeExportView.as_view(),
        name="challenge-export",
    ),
    path("submissions/", submissions.SubmissionListView.as_view(), name="submission-list"),
    path(
        "submissions/<int:pk>/",
        submissions.SubmissionDetailView.as_view(),
        name="submission-detail",
    ),
    path(
        "submissions/<int:pk>/final/",
        submissions.SubmissionFinalView.as_view(),
        name="submission-final",
    ),
    path(
        "submissions/<int:pk>/share/",
        submissions.SubmissionShareView.as_view(),
        name="submission-share",
    ),
    path("submissions/<int:pk>/events/", events.submission_events, name="submission-events"),
    path(
        "submissions/<int:pk>/rejudge/",
        organizer.SubmissionRejudgeView.as_view(),
        name="submission-rejudge",
    ),
    path(
        "submissions/<int:pk>/disqualify/",
        organizer.SubmissionDisqualifyView.as_view(),
        name="submission-disqualify",
    ),
]

urlpatterns = [
    path("v1/", include(v1)),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
    # Anything else under /api/ is a JSON 404 too, never Django's HTML page.
    re_path(r"", api_not_found, name="not-found"),
]
