"""The debrief in a real browser (Chromium over uvicorn), as a visitor after the reveal: every
chart draws from the page's data (one bar per bin, one dot per submission, a line per top
team and the dashed baseline, one slope per team), without a script error; a shared
solution opens with its diff. Screenshot for the README (docs/screenshots)."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from hackathon.challenges.models import Challenge
from hackathon.leaderboard.models import SharedSolution
from hackathon.leaderboard.services import leaderboard_freeze, leaderboard_reveal
from hackathon.submissions.models import Submission

from tests.leaderboard.conftest import make_challenge, make_team, scored
from tests.leaderboard.servers import uvicorn_server

CHROMIUM = os.environ.get("HACKATHON_CHROMIUM") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"]
SCREENSHOTS = Path(
    os.environ.get("HACKATHON_SCREENSHOTS_DIR")
    or Path(__file__).resolve().parents[2] / "docs" / "screenshots"
)

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

TEAMS = [
    # name, public, private, learning rate, batch size, optimizer
    ("Adam Optimizers", 0.86, 0.84, 0.001, 32, "adam"),
    ("Nesterov Club", 0.88, 0.81, 0.01, 64, "nesterov"),
    ("Plain SGD", 0.80, 0.83, 0.05, 16, "sgd"),
    ("Momentum Mates", 0.83, 0.80, 0.02, 128, "momentum"),
    ("RMS Prop Shop", 0.79, 0.78, 0.003, 32, "rmsprop"),
    ("Full Batch", 0.75, 0.77, 0.3, 512, "gd"),
    ("Late Bloomers", 0.70, 0.72, 1.0, 8, "sgd"),
]
STARTER = "import numpy as np\n\nclass Model:\n    def fit(self, X, y):\n        return self\n"


def _seed(organizer: object) -> tuple[Challenge, int]:
    now = timezone.now()
    challenge = make_challenge(title="Moons with momentum", starter_code=STARTER)
    finals = {}
    for k, (name, public, private, lr, batch, kind) in enumerate(TEAMS):
        team = make_team(name)
        for attempt in range(3):  # earlier, weaker tries with other settings
            sub = scored(
                challenge,
                team,
                public - 0.08 * (3 - attempt),
                private=private - 0.08 * (3 - attempt),
                at=now - timedelta(hours=3 - attempt, minutes=k),
            )
            Submission.objects.filter(pk=sub.pk).update(
                hyperparameters={
                    "learning_rate": lr * 3**attempt,
                    "batch_size": batch,
                    "optimizer": kind,
                }
            )
        sub = scored(challenge, team, public, private=private, at=now - timedelta(minutes=30 + k))
        curve = [0.7 * (0.93 + 0.01 * k) ** e + 0.05 for e in range(60)]
        Submission.objects.filter(pk=sub.pk).update(
            hyperparameters={"learning_rate": lr, "batch_size": batch, "optimizer": kind},
            loss_curve=curve,
            code=STARTER.replace("return self", f"self.lr = {lr}  # {kind}\n        return self"),
        )
        finals[name] = sub.pk
    base = scored(
        challenge, None, 0.74, private=0.73, at=now - timedelta(hours=4), is_baseline=True
    )
    Submission.objects.filter(pk=base.pk).update(
        loss_curve=[0.7 * 0.97**e + 0.1 for e in range(60)]
    )
    leaderboard_freeze(challenge=challenge, actor=organizer)
    Challenge.objects.filter(pk=challenge.pk).update(end_at=timezone.now())
    challenge.refresh_from_db()
    leaderboard_reveal(challenge=challenge, actor=organizer)
    shared = Submission.objects.get(pk=finals["Adam Optimizers"])
    SharedSolution.objects.create(challenge=challenge, team=shared.team, final_when_shared=shared)
    return challenge, shared.pk


def test_the_debrief_draws_every_chart_for_a_visitor_after_the_reveal(organizer) -> None:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"Chromium is not installed at {CHROMIUM} (bootstrap.py installs it).")
    from playwright.sync_api import expect, sync_playwright  # heavy; browser tests only

    challenge, shared_pk = _seed(organizer)
    points = Submission.objects.filter(challenge=challenge, is_baseline=False).count()
    errors: list[str] = []
    with uvicorn_server() as host, sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(f"http://{host}/leaderboard/{challenge.slug}/debrief/")
            histogram = page.get_by_test_id("debrief-distribution")
            expect(histogram.locator("rect.debrief-bar")).to_have_count(3)  # ceil(sqrt(7))
            expect(histogram.locator("text", has_text="baseline")).to_have_count(1)
            for key in ("learning_rate", "batch_size"):
                scatter = page.get_by_test_id(f"debrief-scatter-{key}")
                expect(scatter.locator("circle")).to_have_count(points)
            kinds = page.get_by_test_id("debrief-kinds")
            expect(kinds.locator("circle")).to_have_count(points)
            expect(kinds.locator("text", has_text="nesterov")).to_have_count(1)
            curves = page.get_by_test_id("debrief-curves")
            expect(curves.locator("path.series")).to_have_count(6)  # top five + baseline
            expect(curves.locator(".chart-legend li").first).to_have_text("1. Adam Optimizers")
            expect(page.get_by_test_id("debrief-curves-source")).to_contain_text(
                "reported by each solution"
            )
            expect(
                page.get_by_test_id("debrief-slope").locator("line.debrief-slope")
            ).to_have_count(len(TEAMS))
            expect(page.get_by_test_id("debrief-up")).to_contain_text("Plain SGD")
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOTS / "debrief.png"), full_page=True)

            page.get_by_test_id("debrief-shared").get_by_role("link").click()
            expect(page).to_have_url(
                f"http://{host}/leaderboard/{challenge.slug}/debrief/solutions/{shared_pk}/"
            )
            expect(page.get_by_test_id("shared-diff").locator(".diff-add")).to_contain_text(
                "self.lr = 0.001"
            )
        finally:
            browser.close()
    assert errors == []
