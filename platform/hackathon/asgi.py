"""ASGI entry point: the web server holds long-lived Server-Sent Events connections."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hackathon.settings")


def _pool_database_connections() -> None:
    """Use a connection pool for PostgreSQL in the web process.

    Under ASGI each request runs its sync code in a fresh thread, so persistent
    connections (CONN_MAX_AGE) are not reused: every page would open a new PostgreSQL
    connection (tens of milliseconds on a busy machine) and leave the old one idle. A
    pool makes connections per-process instead. Only here: Celery workers keep plain
    connections (a pool must not cross their fork).
    """
    from django.conf import settings

    database = settings.DATABASES["default"]
    if database["ENGINE"].endswith("postgresql") and "pool" not in database.get("OPTIONS", {}):
        try:
            import psycopg_pool  # noqa: F401
        except ImportError:
            return
        database["CONN_MAX_AGE"] = 0  # Django requires it with a pool
        database.setdefault("OPTIONS", {})["pool"] = {"min_size": 2, "max_size": 20, "timeout": 10}


_pool_database_connections()
application = get_asgi_application()
