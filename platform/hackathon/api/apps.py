from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "hackathon.api"
    label = "api"
