from django.urls import path

app_name = "leaderboard"
urlpatterns: list = []
