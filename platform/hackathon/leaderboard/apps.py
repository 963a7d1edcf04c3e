from django.apps import AppConfig


class LeaderboardConfig(AppConfig):
    name = "hackathon.leaderboard"
    label = "leaderboard"
