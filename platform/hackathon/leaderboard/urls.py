from django.urls import path

from hackathon.leaderboard import views
from hackathon.leaderboard.views import debrief as debrief_pages

app_name = "leaderboard"
urlpatterns = [
    path("live/", views.live_events, name="live"),
    path("<slug:slug>/", views.public_board, name="public"),
    path("<slug:slug>/private/", views.private_board, name="private"),
    path("<slug:slug>/shakeup/", views.shakeup, name="shakeup"),
    path("<slug:slug>/debrief/", debrief_pages.debrief, name="debrief"),
    path(
        "<slug:slug>/debrief/solutions/<int:submission_id>/",
        debrief_pages.shared_solution,
        name="shared_solution",
    ),
    path("<slug:slug>/share/<int:submission_id>/", debrief_pages.share, name="share"),
    path("<slug:slug>/room/", views.room, name="room"),
    path("<slug:slug>/room/fragment/", views.room_fragment, name="room_fragment"),
    path("<slug:slug>/room/refusals/", views.room_refusals_page, name="room_refusals"),
    path("<slug:slug>/room.json", views.room_json, name="room_json"),
    path("<slug:slug>/room/webhooks/", views.room_webhook_add, name="webhook_add"),
    path(
        "<slug:slug>/room/webhooks/<int:webhook_id>/remove/",
        views.room_webhook_remove,
        name="webhook_remove",
    ),
    path("<slug:slug>/projector/", views.projector, name="projector"),
    path("<slug:slug>/fragment/", views.fragment, name="fragment"),
    path("<slug:slug>/data.json", views.board_json, name="json"),
    path("<slug:slug>/progression.json", views.progression_json, name="progression"),
    path("<slug:slug>/curves.json", views.curves_json, name="curves"),
    path("<slug:slug>/export/<str:kind>.csv", views.export_csv, name="export"),
    path("<slug:slug>/actions/<str:action>/", views.phase_action, name="action"),
    path("<slug:slug>/disqualify/", views.disqualify_chosen_team, name="disqualify_chosen"),
    path("<slug:slug>/teams/<int:team_id>/disqualify/", views.disqualify_team, name="disqualify"),
    path("<slug:slug>/teams/<int:team_id>/requalify/", views.requalify_team, name="requalify"),
]
