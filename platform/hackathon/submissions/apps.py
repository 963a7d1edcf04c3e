from django.apps import AppConfig


class SubmissionsConfig(AppConfig):
    name = "hackathon.submissions"
    label = "submissions"
