from django.urls import path

from hackathon.integrity import views

app_name = "integrity"
urlpatterns = [
    path("<slug:slug>/", views.review, name="review"),
    path("flags/<int:flag_id>/compare/", views.compare, name="compare"),
    path("flags/<int:flag_id>/dismiss/", views.dismiss, name="dismiss"),
    path("flags/<int:flag_id>/restore/", views.restore, name="restore"),
    path("submissions/<int:submission_id>/disqualify/", views.disqualify, name="disqualify"),
]
