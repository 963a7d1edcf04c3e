from django.apps import AppConfig


class ChallengesConfig(AppConfig):
    name = "hackathon.challenges"
    label = "challenges"
