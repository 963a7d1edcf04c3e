from django.apps import AppConfig


class IntegrityConfig(AppConfig):
    name = "hackathon.integrity"
    label = "integrity"
    verbose_name = "Integrity review"
