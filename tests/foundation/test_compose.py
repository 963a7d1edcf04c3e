"""docker-compose.yml and the Dockerfile agree with the code (no Docker engine here).

The variables the code reads are found by scanning the source (tests/foundation/envscan.py).
"""

from __future__ import annotations

import importlib
import re
import shlex
from pathlib import Path

import pytest
import yaml
from celery import Celery
from django.conf import settings
from django.core.management import get_commands
from django.urls import resolve

from tests.foundation.envscan import TOOL_VARIABLES, variables_read_by_the_code

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_TEXT = (ROOT / "docker-compose.yml").read_text()
COMPOSE = yaml.safe_load(COMPOSE_TEXT)
SERVICES = COMPOSE["services"]
OURS = {name: s for name, s in SERVICES.items() if "build" in s}  # built from our Dockerfile
SECRET_NAME = re.compile(r"SECRET|PASSWORD|TOKEN|(^|_)KEY$|AUTH")
INTERPOLATION = re.compile(r"\$\{(?P<name>[A-Z0-9_]+)(?P<op>:\?|:-|\?|-)?(?P<arg>[^}]*)\}")


def celery_commands() -> dict[str, list[str]]:
    return {n: s["command"] for n, s in OURS.items() if s["command"][:1] == ["celery"]}


def known_queues() -> set[str]:
    queues = {settings.CELERY_TASK_DEFAULT_QUEUE}
    queues |= {route["queue"] for route in settings.CELERY_TASK_ROUTES.values()}
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        queues.add(entry.get("options", {}).get("queue", settings.CELERY_TASK_DEFAULT_QUEUE))
    try:
        from hackathon.submissions.scheduling import GRADING_QUEUES
    except ImportError:
        GRADING_QUEUES = ()  # noqa: N806
    return queues | set(GRADING_QUEUES)


def option(command: list[str], flag: str) -> str:
    return command[command.index(flag) + 1]


def test_compose_has_the_services_production_needs() -> None:
    assert {"postgres", "redis", "web", "worker", "beat"} <= set(SERVICES)
    assert set(OURS) >= {"web", "worker", "beat"}


def test_every_environment_name_of_our_services_is_read_by_the_code() -> None:
    read = set(variables_read_by_the_code()) | TOOL_VARIABLES
    assert {"SECRET_KEY", "DATABASE_URL", "REDIS_URL", "ALLOWED_HOSTS"} <= read  # the scan works
    unknown = {
        f"{service}: {name}"
        for service, spec in OURS.items()
        for name in spec.get("environment", {})
        if name not in read
    }
    assert unknown == set()


def test_every_env_of_the_dockerfile_is_read_by_the_code_or_python() -> None:
    read = set(variables_read_by_the_code()) | TOOL_VARIABLES
    dockerfile = (ROOT / "Dockerfile").read_text()
    block = re.search(r"^ENV (.*?)(?=^\S)", dockerfile, re.S | re.M).group(1)
    names = re.findall(r"([A-Z_][A-Z0-9_]*)=", block)
    assert names
    unknown = [n for n in names if n not in read and not n.startswith(("PYTHON", "PIP_"))]
    assert unknown == []


def test_the_services_get_what_production_requires() -> None:
    for name in ("web", "worker", "beat", "migrate"):
        env = OURS[name]["environment"]
        for required in ("SECRET_KEY", "DATABASE_URL", "REDIS_URL"):
            assert required in env, (name, required)


def test_no_secret_has_a_committed_default() -> None:
    offenders = []
    for match in INTERPOLATION.finditer(COMPOSE_TEXT):
        if SECRET_NAME.search(match["name"]) and match["op"] in {":-", "-"} and match["arg"]:
            offenders.append(match.group(0))
    for service, spec in SERVICES.items():
        for name, value in (spec.get("environment") or {}).items():
            value = str(value)
            if SECRET_NAME.search(name) and INTERPOLATION.sub("", value).strip():
                offenders.append(f"{service}: {name} has a literal value")
            for url_password in re.findall(r"://[^:/@]*:([^@]+)@", value):
                if INTERPOLATION.fullmatch(url_password) is None:
                    offenders.append(f"{service}: {name} embeds a literal password")
    assert offenders == []
    for required in ("SECRET_KEY", "POSTGRES_PASSWORD", "REDIS_PASSWORD"):
        assert re.search(r"\$\{" + required + r":\?[^}]+\}", COMPOSE_TEXT), required


def test_the_web_command_serves_the_asgi_application_and_its_health_check_exists() -> None:
    command = OURS["web"]["command"]
    assert command[0] == "uvicorn"
    module, attribute = command[1].split(":")
    assert module == settings.ASGI_APPLICATION.rsplit(".", 1)[0]
    assert callable(getattr(importlib.import_module(module), attribute))
    check = " ".join(OURS["web"]["healthcheck"]["test"])
    path = re.search(r"127\.0\.0\.1:8000(/\S*?)'", check).group(1)
    assert resolve(path).url_name == "healthz"
    assert option(command, "--port") == "8000"


def test_celery_services_name_the_project_app_and_real_queues() -> None:
    commands = celery_commands()
    assert {"worker", "beat"} <= set(commands)
    queues = known_queues()
    consumed: set[str] = set()
    for service, command in commands.items():
        assert option(command, "-A") == "hackathon.celery", service
        app_module = importlib.import_module(option(command, "-A"))
        assert isinstance(app_module.app, Celery), service
        assert command[3] in {"worker", "beat"}, service
        if command[3] == "worker":
            wanted = set(option(command, "-Q").split(","))
            assert wanted <= queues, (service, wanted - queues)
            consumed |= wanted
    assert "grading" in option(commands["worker"], "-Q").split(",")
    assert consumed == queues, "every queue the code sends to has a worker"


def test_the_grading_worker_can_run_bubblewrap_without_being_privileged() -> None:
    worker = OURS["worker"]
    assert "seccomp=unconfined" in worker["security_opt"]
    assert "systempaths=unconfined" in worker["security_opt"]
    for name, spec in SERVICES.items():
        assert not spec.get("privileged"), name
        for volume in spec.get("volumes", []):
            assert "docker.sock" not in str(volume), name
    assert "container_name" not in worker  # so --scale worker=N works
    assert "ports" not in worker
    assert "bubblewrap" in (ROOT / "Dockerfile").read_text()


def test_the_grading_worker_gets_cgroup_delegation_and_host_wide_uid_leases() -> None:
    """The kernel limits each sandbox (grader/cgroups.py) only where the worker can write its
    own cgroup; uid leases (grader/slots.py) are shared by every worker container of a host."""
    worker = OURS["worker"]
    assert worker["cgroup"] == "host"
    volumes = [str(v) for v in worker.get("volumes", [])]
    assert "/sys/fs/cgroup:/sys/fs/cgroup:rw" in volumes
    assert "/run/hackathon-sandbox:/run/hackathon-sandbox" in volumes
    assert "libseccomp2" in (ROOT / "Dockerfile").read_text()


def test_one_shot_commands_are_real_management_commands() -> None:
    command = OURS["migrate"]["command"]
    script = command[-1] if command[:2] == ["sh", "-c"] else shlex.join(command)
    management = re.findall(r"python manage\.py (\S+)", script)
    assert "migrate" in management
    available = get_commands()
    assert [m for m in management if m not in available] == []
    for name in ("web", "worker", "beat"):
        assert OURS[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"


@pytest.mark.parametrize("service", ["postgres", "redis", "web", "worker"])
def test_long_running_services_have_health_checks(service) -> None:
    assert SERVICES[service]["healthcheck"]["test"]


def test_postgres_and_media_are_on_volumes() -> None:
    assert any("/var/lib/postgresql/data" in v for v in SERVICES["postgres"]["volumes"])
    assert any(
        str(settings.MEDIA_ROOT) != "" and v.endswith(":/data/media")
        for v in OURS["web"]["volumes"]
    )
    assert OURS["web"]["environment"]["MEDIA_ROOT"] == "/data/media"
    assert {"pgdata", "media"} <= set(COMPOSE["volumes"])
