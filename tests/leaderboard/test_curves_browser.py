"""The leader's curves against the baseline's under an optimizer challenge's public board, in
Chromium: drawn from curves.json as a visitor may see it (public instances only before the
reveal), the mean or one instance, with the target line. Screenshot for the README."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from hackathon.submissions.models import Submission

from tests.leaderboard.conftest import make_challenge, make_team, scored
from tests.leaderboard.servers import uvicorn_server

CHROMIUM = os.environ.get("HACKATHON_CHROMIUM") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"]
SCREENSHOTS = Path(
    os.environ.get("HACKATHON_SCREENSHOTS_DIR")
    or Path(__file__).resolve().parents[2] / "docs" / "screenshots"
)
TARGET = 60_000.0

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _valley_run(index: int, part: str, rate: float, seed: int) -> dict:
    """A stored run shaped like the valley's: full passes of 2,000 examples, the loss falling
    from about 650,000 towards the noise floor at `rate` per pass, until the target."""
    rng = np.random.RandomState(seed)
    floor, start = 44_000.0, 650_000.0
    examples, train, validation = [], [], [[0, start, False]]
    for step in range(1, 400):
        value = floor + (start - floor) * rate**step * (1 + 0.3 * np.sin(step / 3))
        examples.append(2000 * step)
        train.append(float(value * (1 + 0.02 * rng.normal())))
        validation.append([2000 * step, float(value * 1.08), False])
        if value * 1.08 <= TARGET:
            break
    return {
        "index": index, "part": part, "n_train": 2000, "budget": 1_000_000,
        "steps": len(examples), "examples": examples[-1], "ended": "target",
        "score": float(examples[-1]), "reached_at": examples[-1], "test_loss": None,
        "seconds": 1.0, "train": {"step": list(range(1, len(examples) + 1)),
                                  "examples": examples, "loss": train},
        "validation": validation, "diagnostics": [],
    }  # fmt: skip


def test_the_public_board_draws_the_leaders_curves_against_the_baselines() -> None:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"Chromium is not installed at {CHROMIUM} (bootstrap.py installs it).")
    from playwright.sync_api import expect, sync_playwright

    challenge = make_challenge(
        title="The valley: least squares with a condition number of 10,000",
        track="optimizer", task="regression", metric="budget_to_target",
        workload={"model": "linear", "budget": 1_000_000, "scoring": "budget_to_target",
                  "target": TARGET, "penalty": 1_000_000},
    )  # fmt: skip
    runs = {"Momentum Maniacs": (0.978, 1), "Plain Descent": (0.995, 2), None: (0.985, 3)}
    for name, (rate, seed) in runs.items():
        team = make_team(name) if name else None
        instances = [
            _valley_run(0, "public", rate, seed),
            _valley_run(1, "public", rate * 0.999, seed + 10),
            _valley_run(2, "private", rate, seed + 20),
        ]
        score = float(np.mean([i["score"] for i in instances[:2]]))
        sub = scored(challenge, team, score, is_baseline=name is None)
        Submission.objects.filter(pk=sub.pk).update(instances=instances)

    with uvicorn_server() as host, sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.goto(f"http://{host}/leaderboard/{challenge.slug}/")
            chart = page.get_by_test_id("leader-curves-chart")
            for series in ("leader-train", "leader-validation", "baseline-train",
                           "baseline-validation", "target"):  # fmt: skip
                expect(chart.locator(f'[data-series="{series}"]')).to_have_count(1, timeout=20_000)
            expect(chart.locator(".chart-legend")).to_contain_text("leader: Momentum Maniacs")
            expect(chart.locator(".chart-legend")).to_contain_text("baseline")
            # A visitor picks the mean or a public instance; the private one is not offered.
            picker = page.locator("[data-curves-instance] option")
            expect(picker).to_have_text(
                ["mean of the instances", "instance 1 (public)", "instance 2 (public)"]
            )
            mean_path = chart.locator('[data-series="leader-validation"]').get_attribute("d")
            page.select_option("[data-curves-instance]", "1")
            expect(chart.locator('[data-series="leader-validation"]')).not_to_have_attribute(
                "d", mean_path or ""
            )
            expect(chart.locator('[data-series="baseline-train"]')).to_have_count(1)
            page.select_option("[data-curves-instance]", "mean")
            page.locator("#lb-curves").scroll_into_view_if_needed()
            page.locator("#lb-curves").screenshot(path=str(SCREENSHOTS / "leaderboard-curves.png"))
            page.uncheck("[data-curves-log]")
            expect(chart.locator('[data-series="leader-train"]')).to_have_count(1)
        finally:
            browser.close()
