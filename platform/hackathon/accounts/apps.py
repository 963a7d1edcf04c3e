from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "hackathon.accounts"
    label = "accounts"
