"""Gradient-descent hackathon platform (Django project root)."""

from .celery import app as celery_app

__all__ = ("celery_app",)
