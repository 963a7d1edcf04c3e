"""ASGI entry point: the web server holds long-lived Server-Sent Events connections."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hackathon.settings")
application = get_asgi_application()
