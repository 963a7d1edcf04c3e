"""The starter kit works as its README says: `hackathon evaluate solution.py --data train.npz` (or train.csv.gz)
runs the starter solution through the local grader, with the challenge's settings."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from hackathon.challenges.downloads import starter_kit_zip

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("data", ["train.npz", "train.csv.gz"])
def test_the_starter_kit_evaluates_locally_with_the_cli(
    make_challenge: object, tmp_path: Path, data: str
) -> None:
    challenge = make_challenge(slug="kit-cli")
    zipfile.ZipFile(io.BytesIO(starter_kit_zip(challenge))).extractall(tmp_path)
    kit = tmp_path / "kit-cli"
    env = {
        k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE")
    }
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "hackathon.cli.main",
            "evaluate",
            "solution.py",
            "--data",
            data,
        ],
        cwd=kit,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "verdict:  Scored" in proc.stdout
    assert f"trained on {round(challenge.n_train * 0.7)}" in proc.stdout
    assert "rmse (validation, public part" in proc.stdout


def test_the_bundle_and_data_modules_work_without_django_settings() -> None:
    """The CLI reuses them on a participant's laptop, where no Django project is set up."""
    code = (
        "import sys\n"
        f"sys.path[:0] = [{str(ROOT / 'platform')!r}, {str(ROOT)!r}]\n"
        "from hackathon.challenges.bundle import load_bundle_dir\n"
        "from hackathon.challenges.data import build_split\n"
        "from hackathon.challenges.archive import read_bundle_zip, write_zip\n"
        "from hackathon.challenges.bundle import spec_files\n"
        f"spec = load_bundle_dir({str(ROOT / 'challenges' / 'diabetes-gd-classic')!r})\n"
        "dataset, split = build_split(spec)\n"
        "assert read_bundle_zip(write_zip(spec_files(spec))) == dict(spec_files(spec))\n"
        "from django.conf import settings\n"
        "assert not settings.configured, 'Django settings were needed'\n"
        "print(len(split.train_y))\n"
    )
    env = {"PATH": "/usr/bin:/bin"}  # no DJANGO_SETTINGS_MODULE, no DATABASE_URL
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "309"


def test_without_a_usable_sandbox_evaluate_runs_the_code_anyway_and_says_so(
    make_challenge: object, tmp_path: Path
) -> None:
    """As on macOS or in a container without user namespaces: the same harness and scoring,
    one line saying there is no sandbox, the same score as in the sandbox."""
    challenge = make_challenge(slug="kit-nosandbox")
    zipfile.ZipFile(io.BytesIO(starter_kit_zip(challenge))).extractall(tmp_path)
    kit = tmp_path / "kit-nosandbox"
    base = {
        k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE")
    }
    argv = [sys.executable, "-m", "hackathon.cli.main", "evaluate", "solution.py"]
    argv += ["--data", "train.npz", "--json"]
    runs = {}
    for name, env in (("sandbox", base), ("none", {**base, "GRADER_BWRAP": "/bin/false"})):
        proc = subprocess.run(
            argv, cwd=kit, capture_output=True, text=True, timeout=300, env=env, check=False
        )
        assert proc.returncode == 0, proc.stderr[-2000:]
        runs[name] = (json.loads(proc.stdout), proc.stderr)
    result, notice = runs["none"]
    assert notice.count("No usable sandbox on this machine") == 1
    assert result["sandbox_level"] == "degraded" and result["verdict"] == "scored"
    assert runs["sandbox"][0]["sandbox_level"] != "degraded"
    assert "No usable sandbox" not in runs["sandbox"][1]
    assert result["public_score"] == runs["sandbox"][0]["public_score"]
