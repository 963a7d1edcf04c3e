"""Journey 3: the leaderboard and the projector view follow the results live, without a reload."""

from __future__ import annotations

import time
from pathlib import Path

from playwright.sync_api import Locator, Page, expect

from tests.browser import actions
from tests.browser.conftest import BrowserFactory, ScreenshotSaver

CHALLENGE = "Diabetes progression by gradient descent"
SLUG = "browser-journeys"
SOLUTIONS = Path(__file__).resolve().parent / "solutions"
ADAM, NESTEROV = "Adam Optimizers", "Nesterov Club"
LIVE_TIMEOUT_MS = 10_000


def board_rows(page: Page) -> Locator:
    return page.get_by_role("table").first.get_by_role("row")


def projector_rows(page: Page) -> Locator:
    return page.get_by_role("list").first.get_by_role("listitem")


def submit_and_wait(page: Page, solution: str) -> None:
    actions.submit_file(page, CHALLENGE, SOLUTIONS / solution)
    actions.expect_verdict(page, "Scored")


def test_the_leaderboard_and_projector_show_a_team_appear_and_move_up_without_a_reload(
    open_browser: BrowserFactory, save_screenshot: ScreenshotSaver
) -> None:
    adam = open_browser("adam")
    actions.sign_up(adam, "adam_kingma")
    actions.create_team(adam, ADAM)
    nesterov = open_browser("nesterov")
    actions.sign_up(nesterov, "yurii_n")
    actions.create_team(nesterov, NESTEROV)

    board = open_browser("leaderboard")
    board.goto(f"/leaderboard/{SLUG}/")
    expect(board.get_by_role("heading", level=1)).to_contain_text("leaderboard")
    projector = open_browser("projector", width=1280, height=720)
    projector.goto(f"/leaderboard/{SLUG}/projector/")
    # The test bundle uses a scikit-learn dataset as it is: labelled classic on the projector too.
    expect(projector.get_by_role("heading", level=1)).to_contain_text(CHALLENGE)
    expect(projector.get_by_role("heading", level=1)).to_contain_text("classic")
    for page in (board, projector):
        actions.mark_page(page)
        expect(page.get_by_text(ADAM)).to_have_count(0)

    # A team appears: both screens show it without being reloaded.
    submit_and_wait(adam, "weak.py")
    scored_at = time.monotonic()
    expect(board_rows(board).filter(has_text=ADAM)).to_be_visible(timeout=LIVE_TIMEOUT_MS)
    board_latency = time.monotonic() - scored_at
    expect(projector_rows(projector).filter(has_text=ADAM)).to_be_visible(timeout=LIVE_TIMEOUT_MS)
    projector_latency = time.monotonic() - scored_at
    print(
        f"team appeared {board_latency:.2f} s (leaderboard) and {projector_latency:.2f} s "
        "(projector) after its submission page showed the score"
    )

    # A better team enters above it...
    submit_and_wait(nesterov, "medium.py")
    actions.expect_order(board_rows(board), NESTEROV, ADAM)
    actions.expect_order(projector_rows(projector), NESTEROV, ADAM)

    # ...and the first team moves up past it.
    submit_and_wait(adam, "better.py")
    actions.expect_order(board_rows(board), ADAM, NESTEROV)
    actions.expect_order(projector_rows(projector), ADAM, NESTEROV)

    actions.expect_not_reloaded(board)
    actions.expect_not_reloaded(projector)
    save_screenshot(board, "leaderboard", full_page=True)
    save_screenshot(projector, "projector")
