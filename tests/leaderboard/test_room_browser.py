"""The room view and the score progression chart in a real browser (Chromium over uvicorn):
a new diagnostic and a refused upload show on the organizer's open room page without a
reload; the chart draws one line per team and the baseline. Screenshots for the README
(docs/screenshots)."""

from __future__ import annotations

import os
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from hackathon.accounts.services import team_create
from hackathon.leaderboard.services import leaderboard_record_result

from tests.leaderboard.conftest import make_challenge, make_team, scored
from tests.leaderboard.servers import uvicorn_server
from tests.leaderboard.test_room import DIVERGED, _sub
from tests.leaderboard.test_room_refusals import LABELS_ONLY

CHROMIUM = os.environ.get("HACKATHON_CHROMIUM") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"]
SCREENSHOTS = Path(
    os.environ.get("HACKATHON_SCREENSHOTS_DIR")
    or Path(__file__).resolve().parents[2] / "docs" / "screenshots"
)

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_the_room_view_updates_live_and_the_progression_chart_draws(organizer_client) -> None:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"Chromium is not installed at {CHROMIUM} (bootstrap.py installs it).")
    from playwright.sync_api import expect, sync_playwright  # heavy; browser tests only

    now = timezone.now()
    challenge = make_challenge(metric="roc_auc")  # ranked on probabilities: predict_proba
    teams = [make_team(name) for name in ("Adam Optimizers", "Nesterov Club", "Plain SGD")]
    members = []
    for name in ("Momentum Mates", "Batch Norms", "Early Stoppers"):
        user = get_user_model().objects.create_user(name.split()[0].lower(), password="pw-1234")
        team_create(user=user, name=name)
        members.append(user)

    def refused_upload(user: object) -> None:  # through the submit page, as a team does
        member = Client()
        member.force_login(user)
        page = reverse("submissions:new", args=[challenge.slug])
        assert member.post(page, {"code": LABELS_ONLY}).status_code == 400

    refused_upload(members[0])
    refused_upload(members[1])
    for k, team in enumerate(teams):
        scored(challenge, team, 0.6 + 0.05 * k, at=now - timedelta(minutes=50 - 10 * k))
        scored(challenge, team, 0.7 + 0.05 * k, at=now - timedelta(minutes=20 - 5 * k))
    scored(challenge, None, 0.55, at=now - timedelta(minutes=55), is_baseline=True)
    first = _sub(
        challenge,
        teams[2],
        created=now,
        finished=now,
        verdict="runtime_error",
        diagnostics=[DIVERGED],
    )
    leaderboard_record_result(submission=first)
    session = organizer_client.cookies[settings.SESSION_COOKIE_NAME].value

    with uvicorn_server() as host, sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            context.add_cookies(
                [{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": f"http://{host}"}]
            )
            page = context.new_page()
            page.goto(f"http://{host}/leaderboard/{challenge.slug}/room/")
            line = page.locator('[data-code="diverged"] strong')
            expect(line).to_have_text("1 team", timeout=20_000)
            refusals = page.locator('[data-reason="missing_predict_proba"] strong')
            expect(refusals).to_have_text("2 teams")
            expect(page.get_by_test_id("room-live")).to_have_text("(live)", timeout=20_000)
            shown_at = page.get_by_test_id("room-body").get_attribute("data-at")

            def arrive() -> None:  # Playwright's loop runs in this thread: the ORM may not
                at = timezone.now()
                second = _sub(
                    challenge,
                    teams[0],
                    created=at,
                    finished=at,
                    verdict="scored",
                    diagnostics=[DIVERGED],
                )
                leaderboard_record_result(submission=second)
                refused_upload(members[2])

            worker = threading.Thread(target=arrive)
            worker.start()
            worker.join()
            # Pushed, no reload: the page refetched its body. (On SQLite the server reads a
            # copy of the test database made at its start, so only PostgreSQL sees the row.)
            body = page.get_by_test_id("room-body")
            expect(body).not_to_have_attribute("data-at", shown_at, timeout=20_000)
            if connection.vendor == "postgresql":
                expect(line).to_have_text("2 teams", timeout=20_000)
                expect(refusals).to_have_text("3 teams", timeout=20_000)
                listing = page.locator('[data-reason="missing_predict_proba"] a')
                expect(listing).to_have_text("3 uploads")
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOTS / "room-view.png"), full_page=True)

            board = context.new_page()
            board.goto(f"http://{host}/leaderboard/{challenge.slug}/")
            chart = board.get_by_test_id("progression-chart")
            expect(chart.locator("path")).to_have_count(4, timeout=20_000)  # 3 teams + baseline
            expect(chart.locator("text", has_text="baseline")).to_have_count(1)
            chart.scroll_into_view_if_needed()
            board.locator("#lb-progression").screenshot(
                path=str(SCREENSHOTS / "score-progression.png")
            )
        finally:
            browser.close()
