"""Journey 5: the organizer freezes the leaderboard, then reveals the final standings."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.browser import actions
from tests.browser.conftest import BrowserFactory

CHALLENGE = "Diabetes progression: freeze and reveal"
SLUG = "browser-freeze"
BOARD = f"/leaderboard/{SLUG}/"
SOLUTIONS = Path(__file__).resolve().parent / "solutions"
FROSTY, WARM = "Frosty Momentum", "Warm Starts"


def numbers_on(page: Page) -> list[float]:
    # Scores are shown to the challenge's display precision (5 significant digits).
    return [float(n) for n in re.findall(r"\d+\.\d+", page.get_by_role("main").inner_text())]


def shows_score(page: Page, score: float) -> bool:
    return any(abs(n - score) < 1e-4 for n in numbers_on(page))


def public_score_of_submission(page: Page) -> float:
    match = re.search(r"Public score\s*(\d+\.\d+)", page.get_by_role("main").inner_text())
    assert match, "the submission page shows no public score"
    return float(match.group(1))


def rank_of(page: Page, team: str) -> int:
    row = page.get_by_role("table").first.get_by_role("row").filter(has_text=team)
    expect(row).to_have_count(1)
    return int(row.get_by_role("cell").first.inner_text().strip())


def test_a_frozen_board_hides_a_later_score_from_other_teams_until_the_organizer_reveals(
    open_browser: BrowserFactory,
) -> None:
    frosty = open_browser("frosty")
    actions.sign_up(frosty, "frosty_f")
    actions.create_team(frosty, FROSTY)
    warm = open_browser("warm")
    actions.sign_up(warm, "warm_w")
    actions.create_team(warm, WARM)

    actions.submit_file(frosty, CHALLENGE, SOLUTIONS / "weak.py")
    actions.expect_verdict(frosty, "Scored")
    actions.submit_file(warm, CHALLENGE, SOLUTIONS / "medium.py")
    actions.expect_verdict(warm, "Scored")

    # The meetup's screen shows the projector view all along, never reloaded.
    projector = open_browser("projector", width=1280, height=720)
    projector.goto(f"{BOARD}projector/")
    projector_rows = projector.get_by_role("list").first.get_by_role("listitem")
    actions.expect_order(projector_rows, WARM, FROSTY)
    actions.mark_page(projector)

    organizer = open_browser("organizer")
    actions.log_in_as_organizer(organizer)
    organizer.goto(BOARD)
    organizer.get_by_role("button", name="Freeze now").click()
    expect(organizer.get_by_role("main")).to_contain_text("Frozen since")

    # After the freeze, Frosty submits something better.
    actions.submit_file(frosty, CHALLENGE, SOLUTIONS / "better.py")
    actions.expect_verdict(frosty, "Scored")
    new_score = public_score_of_submission(frosty)

    frosty.goto(BOARD)
    expect(frosty.get_by_role("main")).to_contain_text("visible only to your team")
    assert shows_score(frosty, new_score), numbers_on(frosty)

    visitor = open_browser("visitor")
    for other in (warm, visitor):
        other.goto(BOARD)
        expect(other.get_by_role("main")).to_contain_text("Frozen at")
        assert not shows_score(other, new_score), (
            f"{other.url} shows the score made after the freeze"
        )
        assert rank_of(other, WARM) < rank_of(other, FROSTY)
    assert not shows_score(projector, new_score), (
        "the projector shows a score made after the freeze"
    )
    actions.expect_order(projector_rows, WARM, FROSTY)
    expect(warm.get_by_role("navigation", name="Leaderboards")).not_to_contain_text("Private")
    warm.goto(f"{BOARD}private/")
    expect(warm.get_by_role("main")).not_to_contain_text(FROSTY)

    # The organizer sees the live standings all along, then reveals them.
    organizer.reload()
    assert shows_score(organizer, new_score), numbers_on(organizer)
    assert rank_of(organizer, FROSTY) < rank_of(organizer, WARM)
    organizer.get_by_label(re.compile("revealing closes them")).check()
    organizer.get_by_role("button", name=re.compile("Reveal", re.I)).click()
    expect(organizer.get_by_role("main")).to_contain_text("Revealed")

    # The projector plays the final standings top-down, on its own.
    expect(projector.get_by_text("Final standings")).to_be_visible()
    actions.expect_order(projector_rows, FROSTY, WARM, timeout_ms=20_000)
    actions.expect_not_reloaded(projector)

    warm.goto(BOARD)
    assert shows_score(warm, new_score), numbers_on(warm)
    assert rank_of(warm, FROSTY) < rank_of(warm, WARM)
    tabs = warm.get_by_role("navigation", name="Leaderboards")
    tabs.get_by_role("link", name="Private").click()
    expect(warm.get_by_role("heading", level=1)).to_contain_text("private leaderboard")
    assert rank_of(warm, FROSTY) < rank_of(warm, WARM)
    warm.get_by_role("navigation", name="Leaderboards").get_by_role("link", name="Shake-up").click()
    expect(warm.get_by_role("heading", level=1)).to_contain_text("shake-up")
    shakeup = warm.get_by_role("table")
    expect(shakeup.get_by_role("columnheader", name="Move")).to_be_visible()
    expect(shakeup.get_by_role("row").filter(has_text=FROSTY)).to_be_visible()
    expect(shakeup.get_by_role("row").filter(has_text=WARM)).to_be_visible()
