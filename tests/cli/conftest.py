"""The platform as real processes for the CLI: uvicorn, a Celery worker grading in the real
sandbox, a private Redis, and a database of its own (hackathon.testing.LiveStack).

Three challenges are loaded from bundles written here: `cli-regression` (a CSV of 300 rows,
so that `hackathon evaluate --data` can split exactly the same data the platform split),
`cli-quota` (one submission a day) and `cli-share` (ended by the test of `hackathon share`).
"""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from hackathon.testing import LiveStack

HACKATHON = str(Path(sys.executable).parent / "hackathon")
PASSWORD = "cli-test-password-9Zq"
ORGANIZER = ("organizer", "cli-organizer-password-4Kd")
SPLIT = {"seed": 1234, "test_fraction": 0.3, "public_fraction": 0.5}

STARTER = """\
import numpy as np


class Model:
    def __init__(self):
        self.loss_curve_ = []

    def fit(self, X, y):
        self.mean_, self.std_ = X.mean(axis=0), X.std(axis=0) + 1e-12
        Z = (X - self.mean_) / self.std_
        self.w_, self.b_ = np.zeros(Z.shape[1]), 0.0
        for _ in range(300):
            error = Z @ self.w_ + self.b_ - y
            self.loss_curve_.append(float(np.mean(error**2)))
            self.w_ -= 0.05 * (2 / len(y)) * (Z.T @ error)
            self.b_ -= 0.05 * 2 * error.mean()
        return self

    def predict(self, X):
        return ((X - self.mean_) / self.std_) @ self.w_ + self.b_
"""


def regression_csv(rows: int = 300, seed: int = 5) -> bytes:
    rs = np.random.RandomState(seed)
    X = rs.normal(size=(rows, 4)) * [1.0, 10.0, 0.1, 3.0]
    y = X @ [2.0, -0.3, 15.0, 0.5] + 4.0 + rs.normal(scale=0.5, size=rows)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["a", "b", "c", "d", "y"])
    for features, target in zip(X.tolist(), y.tolist(), strict=True):
        writer.writerow([*(repr(v) for v in features), repr(target)])
    return out.getvalue().encode()


def write_bundle(root: Path, slug: str, *, daily: int, data: bytes) -> Path:
    folder = root / slug
    (folder / "starter").mkdir(parents=True)
    (folder / "challenge.toml").write_text(
        f'''slug = "{slug}"
title = "CLI test: {slug}"
summary = "Linear regression on a small synthetic CSV."
task = "regression"
metric = "rmse"
extra_metrics = ["mae"]

[data]
source = "csv"
file = "data.csv"
target = "y"

[split]
test_fraction = {SPLIT["test_fraction"]}
public_fraction = {SPLIT["public_fraction"]}
seed = {SPLIT["seed"]}

[limits]
time_s = 20
memory_mb = 512
daily_submissions = {daily}
in_flight = 3
final_selections = 2
'''
    )
    (folder / "description.md").write_text("Predict `y` from four features.\n")
    (folder / "starter" / "solution.py").write_text(STARTER)
    (folder / "data.csv").write_bytes(data)
    return folder


@dataclass
class Cli:
    """Runs the `hackathon` console script as a participant would, with its own config dir."""

    home: Path
    base_url: str

    def run(
        self, *args: str, input_text: str | None = None, timeout: float = 300
    ) -> subprocess.CompletedProcess[str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("HACKATHON_", "DJANGO_", "PYTEST_"))
            and k not in ("DATABASE_URL", "REDIS_URL")
        }
        env["XDG_CONFIG_HOME"] = str(self.home / "config")
        env["HOME"] = str(self.home)
        return subprocess.run(  # noqa: S603 - fixed argv
            [HACKATHON, *args],
            cwd=self.home,
            env=env,
            input=input_text,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def ok(self, *args: str, **kwargs: object) -> str:
        result = self.run(*args, **kwargs)  # type: ignore[arg-type]
        assert result.returncode == 0, (
            f"hackathon {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
        )
        return result.stdout

    def login(self, username: str, password: str = PASSWORD) -> str:
        return self.ok(
            "login",
            "--url",
            self.base_url,
            "--username",
            username,
            "--password-stdin",
            input_text=password + "\n",
        )


@pytest.fixture(scope="package")
def bundles(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cli-bundles")
    data = regression_csv()
    write_bundle(root, "cli-regression", daily=50, data=data)
    write_bundle(root, "cli-quota", daily=1, data=data)
    write_bundle(root, "cli-share", daily=50, data=data)  # ended by its test
    return root


@pytest.fixture(scope="package")
def live_site(tmp_path_factory: pytest.TempPathFactory, bundles: Path) -> Iterator[LiveStack]:
    site = LiveStack(
        workdir=tmp_path_factory.mktemp("cli-site"),
        database_url=os.environ.get("DATABASE_URL"),
        challenges_dir=bundles,
    )
    try:
        site.start()
        site.manage(
            "shell",
            "-c",
            "from django.contrib.auth import get_user_model\n"
            "User = get_user_model()\n"
            "for name in ('carol', 'dave', 'erin', 'frank', 'gina', 'hana'):\n"
            f"    User.objects.create_user(name, password={PASSWORD!r})\n"
            f"User.objects.create_superuser({ORGANIZER[0]!r}, password={ORGANIZER[1]!r})\n",
        )
    except BaseException:
        site.stop()
        raise
    yield site
    site.stop()


@pytest.fixture
def cli_factory(live_site: LiveStack, tmp_path: Path) -> Callable[[str], Cli]:
    """A fresh terminal (home and config folder) per participant name."""

    def make(name: str) -> Cli:
        home = tmp_path / name
        home.mkdir()
        return Cli(home=home, base_url=live_site.base_url)

    return make


@pytest.fixture
def organizer_credentials() -> tuple[str, str]:
    return ORGANIZER
