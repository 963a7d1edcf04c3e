"""Gradient-descent hackathon platform (Django project root).

Importing the package loads nothing: the Celery app is `hackathon.celery` (workers start
with `celery -A hackathon.celery`), and the code that sends tasks imports it from there.
The CLI (`hackathon ...`) thus starts without Celery, kombu or Django.
"""
