"""Settings for the hackathon platform, read from environment variables.

Defaults serve a laptop (`hackathon up`: SQLite under var/, the embedded Redis on a
Unix socket); production sets DATABASE_URL, REDIS_URL and SECRET_KEY (docker-compose.yml).
"""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path
from urllib.parse import parse_qs, parse_qsl, urlencode, urlsplit, urlunsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from hackathon.envconf import (
    CHALLENGE_DATA_SECRET_FILE,
    env_bool,
    env_float,
    env_int,
    env_list,
    env_str,
)

PACKAGE_DIR = Path(__file__).resolve().parent
BASE_DIR = PACKAGE_DIR.parent.parent
VAR_DIR = Path(env_str("HACKATHON_VAR_DIR", str(BASE_DIR / "var"))).resolve()
CHALLENGES_DIR = Path(env_str("CHALLENGES_DIR", str(BASE_DIR / "challenges"))).resolve()

TESTING = "pytest" in sys.modules or env_bool("HACKATHON_TESTING", False)
DEBUG = env_bool("DEBUG", False)

# A key of only whitespace (an empty line in a .env file) counts as missing.
_secret = (env_str("SECRET_KEY") or "").strip()
_embedded_secret = VAR_DIR / "secret_key"
if not _secret and not env_str("DATABASE_URL") and _embedded_secret.exists():
    # The embedded start (`hackathon up`) made this key; manage.py in the same checkout uses it.
    _secret = _embedded_secret.read_text().strip()
if not _secret:
    if not DEBUG and not TESTING and not env_bool("HACKATHON_EMBEDDED", False):
        raise ImproperlyConfigured(
            "SECRET_KEY is required when DEBUG is off. Set SECRET_KEY (or SECRET_KEY_FILE), "
            "or start the embedded platform with `hackathon up`, which makes one under var/."
        )
    _secret = "insecure-development-key-only-for-local-use"  # noqa: S105 - the development fallback; production refuses to start without a key
SECRET_KEY = _secret

# The installation's challenge-data secret: generated built-ins (and any bundle without a
# pinned seed) draw their data from it, so no public source reveals their hidden labels.
# Production sets it (or CHALLENGE_DATA_SECRET_FILE); the embedded start keeps it in var/,
# made once (challenges.installation); tests get a fresh one per session.
CHALLENGE_DATA_SECRET = (env_str("CHALLENGE_DATA_SECRET") or "").strip()
CHALLENGE_DATA_SECRET_PATH = VAR_DIR / CHALLENGE_DATA_SECRET_FILE
if not CHALLENGE_DATA_SECRET and TESTING:
    CHALLENGE_DATA_SECRET = secrets.token_urlsafe(50)

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "hackathon.web",
    "hackathon.accounts",
    "hackathon.challenges",
    "hackathon.submissions",
    "hackathon.leaderboard",
    "hackathon.integrity",
    "hackathon.api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "hackathon.urls"
ASGI_APPLICATION = "hackathon.asgi.application"
WSGI_APPLICATION = "hackathon.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [PACKAGE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "hackathon.web.context_processors.site",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'hackathon.sqlite3'}"
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=0)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    DATABASES["default"]["OPTIONS"] = {
        # Concurrent writers (web, workers, beat) wait for the lock instead of failing.
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    if TESTING:
        # A file, not memory: real worker processes started by the tests share it.
        DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-{os.getpid()}.sqlite3")}
else:
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    DATABASES["default"]["CONN_MAX_AGE"] = env_int("DATABASE_CONN_MAX_AGE", 60)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis and Celery -----------------------------------------------------------------
EMBEDDED_REDIS_SOCKET = VAR_DIR / "redis.sock"
REDIS_URL = env_str("REDIS_URL") or f"unix://{EMBEDDED_REDIS_SOCKET}"


def _redis_database(url: str) -> tuple[str, int]:
    """(the server a Redis URL names, its database number), as redis-py reads them."""
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    raw = query.get("db", [parts.path.strip("/") if parts.scheme != "unix" else ""])[0]
    if not (raw or "0").isdigit():
        raise ImproperlyConfigured(f"{url}: the Redis database must be a number, got {raw!r}")
    server = f"unix:{parts.path}" if parts.scheme == "unix" else f"{parts.hostname}:{parts.port}"
    return server, int(raw or "0")


REDIS_DATABASES = 16  # a Redis server's default number of databases (0 to 15)


def _next_database(url: str) -> str:
    """`url` with the database number after its own (same server, same credentials); after
    the last of a default server's 16, the first."""
    parts = urlsplit(url)
    _, db = _redis_database(url)
    following = (db + 1) % REDIS_DATABASES
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "db"]
    if parts.scheme == "unix":
        # Not urlunsplit: it drops the empty host of unix:///path.
        return f"unix://{parts.path}?{urlencode([*query, ('db', str(following))])}"
    return urlunsplit(parts._replace(path=f"/{following}", query=urlencode(query)))


# Throttle and login-attempt counters, shared by every web process (hackathon.failopen_cache),
# in a Redis database of their own: the broker's and the live streams' is REDIS_URL's.
CACHE_REDIS_URL = env_str("CACHE_REDIS_URL") or _next_database(REDIS_URL)
if _redis_database(CACHE_REDIS_URL) == _redis_database(REDIS_URL):
    raise ImproperlyConfigured(
        f"CACHE_REDIS_URL ({CACHE_REDIS_URL}) names the database of REDIS_URL: the cache needs "
        "a database of its own (another number after the /), as clearing it empties the "
        "database. Leave CACHE_REDIS_URL unset to use the next database of REDIS_URL's server."
    )
CACHES = {
    "default": {
        "BACKEND": "hackathon.failopen_cache.FailOpenRedisCache",
        "LOCATION": CACHE_REDIS_URL,
        # Each test process counts on its own, as an in-process cache would.
        "KEY_PREFIX": f"test-{os.getpid()}" if TESTING else "hackathon",
        "OPTIONS": {"socket_connect_timeout": 1.0, "socket_timeout": 1.0},
    }
}


def _broker_url(redis_url: str) -> str:
    # kombu spells a Unix-socket Redis as redis+socket://; redis-py as unix://.
    if redis_url.startswith("unix://"):
        return "redis+socket://" + redis_url[len("unix://") :]
    return redis_url


CELERY_BROKER_URL = _broker_url(REDIS_URL)
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_ENABLE_UTC = True
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {"hackathon.submissions.tasks.grade_submission": {"queue": "grading"}}
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {
    # Redis hands an unacknowledged message out again after this long, whatever happened to
    # the worker that had it: no grading message waits longer (the sweeper re-sends sooner).
    "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 300),
}
CELERY_WORKER_SEND_TASK_EVENTS = False
# Celery's Django fix-up closes the database connection before and after every task unless
# it may reuse it: a new PostgreSQL session for every graded submission (a backend forked,
# authenticated, its catalog caches cold: several ms of CPU on both sides each time).
# Connections are kept across tasks instead and checked as Django checks them between
# requests (CONN_MAX_AGE, the health check): see hackathon.celery.
CELERY_DB_REUSE_MAX = 1_000_000_000
# Every periodic job, declared in one place (a plain dict module: no Django import).
from hackathon.submissions.schedule import BEAT_SCHEDULE as CELERY_BEAT_SCHEDULE  # noqa: E402, F401

# --- Grading --------------------------------------------------------------------------
# strong (bwrap + unprivileged uid + seccomp), standard (bwrap + rlimits), degraded (none).
SANDBOX_MIN_LEVEL = env_str("SANDBOX_MIN_LEVEL", "standard")
DATASET_CACHE_DIR = Path(env_str("DATASET_CACHE_DIR", str(VAR_DIR / "datasets"))).resolve()
GRADING_MAX_ATTEMPTS = env_int("GRADING_MAX_ATTEMPTS", 3)
# A submission whose grading process died this many times (killed, out of memory, its worker
# gone) ends as a refunded internal error at once, not after GRADING_RETRY_DEADLINE_S.
GRADING_MAX_WORKER_DEATHS = env_int("GRADING_MAX_WORKER_DEATHS", 3)
GRADING_STALE_MARGIN_S = env_float("GRADING_STALE_MARGIN_S", 60.0)
WORKER_NAME = env_str("WORKER_NAME", "")
GRADING_RETRY_BACKOFF_S = env_float("GRADING_RETRY_BACKOFF_S", 5.0)  # doubles per attempt
GRADING_RETRY_BACKOFF_MAX_S = env_float("GRADING_RETRY_BACKOFF_MAX_S", 300.0)
# A platform fault (disk, database, broker) is retried until this long after the first one
# (and at least GRADING_MAX_ATTEMPTS times), then ends as a refunded internal error.
GRADING_RETRY_DEADLINE_S = env_float("GRADING_RETRY_DEADLINE_S", 3600.0)
# A worker takes a run only with the challenge's uncached data + this margin free in its
# dataset cache, and this much free in the sandbox state dir (else it passes the run on).
GRADING_DISK_MARGIN_MB = env_float("GRADING_DISK_MARGIN_MB", 16.0)
GRADING_MIN_FREE_SCRATCH_MB = env_float("GRADING_MIN_FREE_SCRATCH_MB", 32.0)
# A message delivered this long ago whose submission is still queued is lost (its worker died).
GRADING_UNACKED_STALE_S = env_float("GRADING_UNACKED_STALE_S", 30.0)
GRADING_DB_RETRY_S = env_float("GRADING_DB_RETRY_S", 60.0)  # wait out a database restart
GRADING_QUEUED_GRACE_S = env_float("GRADING_QUEUED_GRACE_S", 20.0)  # then the sweeper re-sends
GRADING_LONG_THRESHOLD_S = env_float("GRADING_LONG_THRESHOLD_S", 60.0)  # -> "grading-long"
# Heartbeat every 5 s, gone after 20 s of silence; with a sweep every 10 s
# (SWEEPER_INTERVAL_S) a dead worker's work is back in the queue within 30 s.
WORKER_HEARTBEAT_INTERVAL_S = env_float("WORKER_HEARTBEAT_INTERVAL_S", 5.0)
WORKER_HEARTBEAT_TIMEOUT_S = env_float("WORKER_HEARTBEAT_TIMEOUT_S", 20.0)

# --- Live updates (Server-Sent Events) -------------------------------------------------
LIVE_HEARTBEAT_SECONDS = env_float("LIVE_HEARTBEAT_SECONDS", 15.0)

# --- Site -----------------------------------------------------------------------------
SITE_NAME = env_str("SITE_NAME", "Gradient Descent Hackathon")
TEAM_MAX_SIZE = env_int("TEAM_MAX_SIZE", 4)
SUBMISSION_MAX_BYTES = env_int("SUBMISSION_MAX_BYTES", 1024 * 1024)
# A notebook upload may carry outputs (plots): its file may be larger; its code may not.
NOTEBOOK_MAX_BYTES = env_int("NOTEBOOK_MAX_BYTES", 16 * 1024 * 1024)
BUNDLE_MAX_BYTES = env_int("BUNDLE_MAX_BYTES", 50 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 60 * 1024 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
ORGANIZERS_GROUP = "organizers"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
# Site-wide assets (design, favicon); apps keep theirs in <app>/static/.
STATICFILES_DIRS = [PACKAGE_DIR / "static"]
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(VAR_DIR / "static"))).resolve()
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"
        if not DEBUG and not TESTING
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = True
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media"))).resolve()
MEDIA_URL = "/media/"

# --- Email ----------------------------------------------------------------------------
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "hackathon@localhost")

# --- Security for deployments behind TLS ----------------------------------------------
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", False)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", False)
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True

# --- REST API -------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "hackathon.api.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticatedOrReadOnly"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "hackathon.api.errors.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.UserRateThrottle",
        "rest_framework.throttling.AnonRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "user": env_str("API_THROTTLE_USER", "600/minute"),
        "anon": env_str("API_THROTTLE_ANON", "300/minute"),
    },
    # Throttles key on the client address. 0: REMOTE_ADDR, which uvicorn already sets from
    # X-Forwarded-For sent by a trusted proxy (FORWARDED_ALLOW_IPS); trusting the header here
    # too would let any client pick a fresh address per request.
    "NUM_PROXIES": env_int("NUM_PROXIES", 0),
}
# Per-user submit requests (hackathon.api.throttles).
API_THROTTLE_SUBMIT = env_str("API_THROTTLE_SUBMIT", "30/minute")
# Failed password logins per client address and per username, on the login form and the API's
# token endpoint alike (hackathon.accounts.login_limits).
LOGIN_FAILURES_LIMIT = env_int("LOGIN_FAILURES_LIMIT", 10)
LOGIN_FAILURES_WINDOW_S = env_int("LOGIN_FAILURES_WINDOW_S", 300)
if LOGIN_FAILURES_LIMIT < 1 or LOGIN_FAILURES_WINDOW_S < 1:
    raise ImproperlyConfigured(
        "LOGIN_FAILURES_LIMIT and LOGIN_FAILURES_WINDOW_S must be at least 1, got "
        f"{LOGIN_FAILURES_LIMIT} and {LOGIN_FAILURES_WINDOW_S}"
    )
SPECTACULAR_SETTINGS = {
    "TITLE": "Gradient Descent Hackathon API",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "hackathon.api.schema.describe_api",  # authentication, errors, live events
    ],
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

if TESTING:
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
