from django.urls import path

from hackathon.challenges import views

app_name = "challenges"
urlpatterns = [
    path("", views.challenge_list, name="list"),
    path("manage/", views.manage_list, name="manage_list"),
    path("manage/new/", views.manage_new, name="manage_new"),
    path("manage/upload/", views.manage_upload, name="manage_upload"),
    path("manage/<slug:slug>/", views.manage_detail, name="manage_detail"),
    path("manage/<slug:slug>/edit/", views.manage_edit, name="manage_edit"),
    path("manage/<slug:slug>/publish/", views.manage_publish, name="manage_publish"),
    path("manage/<slug:slug>/baseline/", views.manage_baseline, name="manage_baseline"),
    path("manage/<slug:slug>/bundle.zip", views.manage_bundle_download, name="manage_bundle"),
    path("<slug:slug>/", views.challenge_detail, name="detail"),
    path(
        "<slug:slug>/train.csv", views.challenge_download, {"kind": "train.csv"}, name="train_csv"
    ),
    path(
        "<slug:slug>/train.csv.gz",
        views.challenge_download,
        {"kind": "train.csv.gz"},
        name="train_csv_gz",
    ),
    path(
        "<slug:slug>/train.npz", views.challenge_download, {"kind": "train.npz"}, name="train_npz"
    ),
    path(
        "<slug:slug>/starter-kit.zip",
        views.challenge_download,
        {"kind": "starter-kit.zip"},
        name="starter_kit",
    ),
]
