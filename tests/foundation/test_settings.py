"""Production refuses to start without a real SECRET_KEY; the laptop defaults need none."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

PROBE = (
    "import django; django.setup(); from django.conf import settings; print(settings.SECRET_KEY)"
)


def run_settings(tmp_path, **overrides: str) -> subprocess.CompletedProcess:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"SECRET_KEY", "SECRET_KEY_FILE", "DEBUG", "DATABASE_URL"}
        and not k.startswith(("HACKATHON_", "PYTEST_"))
    }
    env |= {"DJANGO_SETTINGS_MODULE": "hackathon.settings", "HACKATHON_VAR_DIR": str(tmp_path)}
    env |= overrides
    return subprocess.run(
        [sys.executable, "-c", PROBE], env=env, cwd="/", capture_output=True, text=True, timeout=120
    )


def test_settings_refuse_to_start_without_secret_key_when_debug_is_off(tmp_path) -> None:
    result = run_settings(tmp_path, DEBUG="0")
    assert result.returncode != 0
    assert "SECRET_KEY is required when DEBUG is off" in result.stderr


@pytest.mark.parametrize("value", ["   ", "\t\n"])
def test_settings_refuse_a_secret_key_of_only_whitespace(tmp_path, value) -> None:
    result = run_settings(tmp_path, DEBUG="0", SECRET_KEY=value)
    assert result.returncode != 0
    assert "SECRET_KEY is required when DEBUG is off" in result.stderr


def test_settings_strip_whitespace_around_the_secret_key(tmp_path) -> None:
    result = run_settings(tmp_path, DEBUG="0", SECRET_KEY="  s3cret-padded \n")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "s3cret-padded\n"


def test_settings_start_with_a_secret_key(tmp_path) -> None:
    result = run_settings(tmp_path, DEBUG="0", SECRET_KEY="s3cret-from-env")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "s3cret-from-env"


def test_settings_read_the_secret_key_from_a_file(tmp_path) -> None:
    key_file = tmp_path / "key.txt"
    key_file.write_text("s3cret-from-file\n")
    result = run_settings(tmp_path, SECRET_KEY_FILE=str(key_file))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "s3cret-from-file"


def test_the_embedded_start_uses_the_key_it_made_under_var(tmp_path) -> None:
    (tmp_path / "secret_key").write_text("made-by-hackathon-up\n")
    result = run_settings(tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "made-by-hackathon-up"


@pytest.mark.parametrize("value", ["maybe", "2"])
def test_a_malformed_boolean_setting_is_refused_with_its_name(tmp_path, value) -> None:
    result = run_settings(tmp_path, SECRET_KEY="x", DEBUG=value)
    assert result.returncode != 0
    assert "DEBUG must be a boolean" in result.stderr


@pytest.mark.parametrize(
    ("redis_url", "cache_url"),
    [
        ("redis://127.0.0.1:6399/2", "redis://127.0.0.1:6399/2"),
        ("redis://127.0.0.1:6399/0", "redis://127.0.0.1:6399"),
        ("unix:///tmp/r.sock", "unix:///tmp/r.sock?db=0"),
    ],
)
def test_a_cache_redis_url_on_the_broker_database_is_refused(
    tmp_path, redis_url, cache_url
) -> None:
    result = run_settings(tmp_path, SECRET_KEY="x", REDIS_URL=redis_url, CACHE_REDIS_URL=cache_url)
    assert result.returncode != 0
    assert "CACHE_REDIS_URL" in result.stderr and "database of its own" in result.stderr


def test_a_cache_redis_url_on_another_database_of_the_same_server_is_accepted(tmp_path) -> None:
    result = run_settings(
        tmp_path,
        SECRET_KEY="x",
        REDIS_URL="redis://127.0.0.1:6399/0",
        CACHE_REDIS_URL="redis://127.0.0.1:6399/5",
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("name", ["LOGIN_FAILURES_LIMIT", "LOGIN_FAILURES_WINDOW_S"])
def test_a_login_limit_below_one_is_refused_with_its_name(tmp_path, name) -> None:
    result = run_settings(tmp_path, SECRET_KEY="x", **{name: "0"})
    assert result.returncode != 0
    assert name in result.stderr
