# One image for every service of docker-compose.yml (web, worker, beat, migrate).
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=hackathon.settings \
    HACKATHON_VAR_DIR=/data \
    STATIC_ROOT=/app/staticfiles

# bubblewrap: the grading sandbox. libpq5 is not needed (psycopg[binary] ships its own).
RUN apt-get update \
    && apt-get install -y --no-install-recommends bubblewrap libseccomp2 \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml README.md manage.py ./
COPY platform ./platform
COPY grader ./grader
COPY challenges ./challenges
# Editable, as on a laptop: settings find challenges/ and manage.py beside the code. The
# project's own modules are compiled here (pip compiles only what it installs into
# site-packages): with PYTHONDONTWRITEBYTECODE nothing writes bytecode at run time, and
# without it every worker start would compile grader/ and platform/ again (~0.1 s of CPU).
RUN pip install -e ".[server]" \
    && python -m compileall -q platform grader \
    && SECRET_KEY=collectstatic-only python manage.py collectstatic --noinput --verbosity 0

# The web and beat run as this unprivileged user; the grading worker runs as root in its
# container because it starts each sandbox under its own unprivileged uid (see README).
RUN useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin hackathon \
    && mkdir -p /data/media /data/beat \
    && chown -R hackathon:hackathon /data
USER hackathon

EXPOSE 8000
CMD ["uvicorn", "hackathon.asgi:application", "--host", "0.0.0.0", "--port", "8000", "--lifespan", "off", "--proxy-headers"]
