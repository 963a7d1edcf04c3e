from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "hackathon.web"
    label = "web"
    verbose_name = "Web"
