from django.urls import path

from hackathon.submissions import views

app_name = "submissions"
urlpatterns = [
    path("", views.submission_list, name="list"),
    path("new/<slug:slug>/", views.submit, name="new"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("curves.json", views.curves_json, name="curves"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/status.json", views.status_json, name="status"),
    path("<int:pk>/final/", views.select_final, name="final"),
    path("<int:pk>/rejudge/", views.rejudge, name="rejudge"),
    path("<int:pk>/disqualify/", views.disqualify, name="disqualify"),
    path("rejudge-all/", views.rejudge_all, name="rejudge_all_pick"),
    path("rejudge-all/<slug:slug>/", views.rejudge_all, name="rejudge_all"),
    path("rejudges/<int:batch_id>.json", views.rejudge_progress, name="rejudge_progress"),
]
