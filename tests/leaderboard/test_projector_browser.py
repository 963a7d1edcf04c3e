"""The projector in a real browser: live over SSE, the reveal played top-down, and the
score progression under the board as visitors see it."""

from __future__ import annotations

import os
import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone
from hackathon.leaderboard.services import leaderboard_freeze, leaderboard_rebuild

from tests.leaderboard.conftest import make_challenge, make_team, scored
from tests.leaderboard.servers import uvicorn_server

CHROMIUM = os.environ.get("HACKATHON_CHROMIUM") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"]
SCREENSHOTS = Path(
    os.environ.get("HACKATHON_SCREENSHOTS_DIR")
    or Path(__file__).resolve().parents[2] / "docs" / "screenshots"
)

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

# Records each state of the projector's list, so the test sees how the reveal unfolded.
RECORD_ROWS = """
window.__states = [];
new MutationObserver(() => {
  const names = [...document.querySelectorAll('#pj-board > li .pj-name')].map(e => e.textContent);
  window.__states.push(names.join('|'));
}).observe(document.getElementById('pj-board'), {childList: true});
"""

FILLS_ITS_BOX = """() => {
  const box = document.querySelector('[data-testid="projector-progression"]');
  const svg = box && box.querySelector('svg');
  if (!svg) return false;
  const [, , w, h] = svg.getAttribute('viewBox').split(' ').map(Number);
  return Math.abs(w - box.clientWidth) <= 1 && Math.abs(h - box.clientHeight) <= 1;
}"""


def test_the_projector_plays_the_reveal_top_down_when_the_organizer_reveals(
    organizer_client,
) -> None:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"Chromium is not installed at {CHROMIUM} (bootstrap.py installs it).")
    from playwright.sync_api import expect, sync_playwright

    challenge = make_challenge()
    # Public order Alpha, Beta, Gamma; private order Beta, Gamma, Alpha.
    for name, public, private in (("Alpha", 0.9, 0.6), ("Beta", 0.8, 0.9), ("Gamma", 0.7, 0.8)):
        scored(challenge, make_team(name), public, private=private, record=False)
    leaderboard_rebuild(challenge=challenge)
    session = organizer_client.cookies[settings.SESSION_COOKIE_NAME].value

    with uvicorn_server() as host, sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            screen = browser.new_page()
            screen.goto(f"http://{host}/leaderboard/{challenge.slug}/projector/")
            rows = screen.locator("#pj-board > li .pj-name")
            expect(rows).to_have_text(["Alpha", "Beta", "Gamma"], timeout=20_000)
            expect(screen.locator("#pj-live")).to_have_text("live", timeout=20_000)
            screen.evaluate(RECORD_ROWS)

            organizer = browser.new_context()
            organizer.add_cookies(
                [{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": f"http://{host}"}]
            )
            board = organizer.new_page()
            board.goto(f"http://{host}/leaderboard/{challenge.slug}/")
            # Submissions are open: the reveal asks to confirm that it closes them.
            board.get_by_label(re.compile("revealing closes them")).check()
            board.get_by_role("button", name="Close submissions and reveal final standings").click()
            expect(board.get_by_role("main")).to_contain_text("Revealed")

            expect(screen.locator("#pj-status")).to_have_text("Final standings", timeout=20_000)
            expect(rows).to_have_text(["Beta", "Gamma", "Alpha"], timeout=20_000)
            states = screen.evaluate("window.__states")
        finally:
            browser.close()
    # The reveal starts from an empty list and plays it top-down, one row at a time, and
    # nothing (a live refresh of the public board) comes in between.
    assert "Beta" in states, states
    assert states[states.index("Beta") :] == ["Beta", "Beta|Gamma", "Beta|Gamma|Alpha"], states


def test_the_projector_draws_the_progression_as_a_visitor_sees_it_up_to_the_freeze(
    organizer, organizer_client
) -> None:
    """Opened by an organizer (whose own view is the whole race), the projector's chart is
    the visitors': a line per team and the dashed baseline, ending at the freeze, the team
    that only scored after the freeze absent. Screenshot for the README."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"Chromium is not installed at {CHROMIUM} (bootstrap.py installs it).")
    from playwright.sync_api import expect, sync_playwright

    now = timezone.now()
    challenge = make_challenge(title="Noisy logistic regression by SGD")
    teams = {
        n: make_team(n) for n in ("Adam Optimizers", "Nesterov Club", "Plain SGD", "Late Team")
    }
    for k, name in enumerate(("Adam Optimizers", "Nesterov Club", "Plain SGD")):
        for step in range(4):
            scored(
                challenge,
                teams[name],
                0.62 + 0.04 * step + 0.02 * k,
                at=now - timedelta(minutes=95 - 20 * step - 4 * k),
            )
    scored(challenge, None, 0.6, at=now - timedelta(minutes=100), is_baseline=True)
    leaderboard_freeze(challenge=challenge, actor=organizer)
    scored(challenge, teams["Late Team"], 0.95)  # after the freeze: not on the projector
    session = organizer_client.cookies[settings.SESSION_COOKIE_NAME].value

    with uvicorn_server() as host, sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 720})
            context.add_cookies(
                [{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": f"http://{host}"}]
            )
            screen = context.new_page()
            screen.goto(f"http://{host}/leaderboard/{challenge.slug}/projector/")
            chart = screen.get_by_test_id("projector-progression")
            expect(chart.locator("path")).to_have_count(4, timeout=20_000)  # 3 teams + baseline
            expect(chart.locator("text", has_text="baseline")).to_have_count(1)
            expect(chart.locator("text", has_text="freeze")).to_have_count(1)
            expect(chart.locator("text", has_text="Late Team")).to_have_count(0)
            expect(screen.locator("#pj-live")).to_have_text("live", timeout=20_000)
            # Drawn at the size of the box left under the board (redrawn as the board fills).
            screen.wait_for_function(FILLS_ITS_BOX, timeout=20_000)
            screen.screenshot(path=str(SCREENSHOTS / "projector-progression.png"))
        finally:
            browser.close()
