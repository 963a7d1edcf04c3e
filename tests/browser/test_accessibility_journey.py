"""Journey 6: the keyboard alone is enough; every control has a label; a phone screen fits."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.browser import a11y, actions
from tests.browser.conftest import BrowserFactory

CHALLENGE = "Diabetes progression by gradient descent"
SLUG = "browser-journeys"
SOLUTIONS = Path(__file__).resolve().parent / "solutions"

# Counts pointer presses in this tab across page loads: the keyboard journey must end at 0.
POINTER_COUNTER = """
window.addEventListener('pointerdown', (event) => {
  if (!event.isTrusted) return;
  const count = Number(sessionStorage.getItem('pointerPresses') || 0) + 1;
  sessionStorage.setItem('pointerPresses', String(count));
}, true);
"""


def follow_with_enter(page: Page, name: str | re.Pattern[str]) -> None:
    """Tab to a link or button that loads a page, press Enter, wait for the page."""
    a11y.tab_to(page, name)
    with page.expect_navigation():
        page.keyboard.press("Enter")


def fill_field(page: Page, name: str | re.Pattern[str], text: str) -> None:
    a11y.tab_to(page, name)
    page.keyboard.type(text)


def test_a_participant_signs_up_joins_a_team_and_submits_with_the_keyboard_only(
    open_browser: BrowserFactory,
) -> None:
    captain = open_browser("captain")
    actions.sign_up(captain, "keyboard_captain")
    actions.create_team(captain, "Tab Order")
    code = captain.get_by_label("Invite code").input_value()

    page = open_browser("keyboard user")
    page.context.add_init_script(POINTER_COUNTER)
    # Intercept file choosers from the start: enabling it only around the key press races
    # with the press (Playwright then misses about one chooser in six).
    page.on("filechooser", lambda _chooser: None)
    page.goto("/")

    follow_with_enter(page, re.compile(r"^Sign up$"))
    expect(page).to_have_url(re.compile(r"/accounts/signup/$"))
    fill_field(page, re.compile(r"^Username"), "keyboard_kim")
    fill_field(page, re.compile(r"^E-?mail", re.I), "kim@example.org")
    fill_field(page, re.compile(r"^Password:?$"), actions.PASSWORD)
    fill_field(page, re.compile(r"^Password confirmation"), actions.PASSWORD)
    follow_with_enter(page, re.compile(r"^Sign up$"))
    expect(page.get_by_role("navigation", name="Main")).to_contain_text("keyboard_kim")

    follow_with_enter(page, re.compile(r"^My team$"))
    fill_field(page, re.compile(r"^Invite code"), code)
    follow_with_enter(page, re.compile(r"^Join team$"))
    expect(page.get_by_role("heading", name="Tab Order", level=1)).to_be_visible()

    follow_with_enter(page, re.compile(r"^Challenges$"))
    follow_with_enter(page, re.compile(re.escape(CHALLENGE)))
    expect(page.get_by_role("heading", name=CHALLENGE, level=1)).to_be_visible()
    follow_with_enter(page, re.compile(r"^Submit a solution$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Submit to")

    # The file input opens the system's file chooser from the keyboard (Space).
    a11y.tab_to(page, re.compile(r"^Upload solution", re.I))
    with page.expect_file_chooser() as chooser:
        page.keyboard.press("Space")
    chooser.value.set_files(SOLUTIONS / "medium.py")
    follow_with_enter(page, re.compile(r"^Submit for grading$"))
    expect(page).to_have_url(actions.SUBMISSION_URL)
    actions.expect_verdict(page, "Scored")

    presses = page.evaluate("Number(sessionStorage.getItem('pointerPresses') || 0)")
    assert presses == 0, f"the keyboard journey used the pointer {presses} times"


def participant_pages(submission_url: str) -> list[str]:
    return [
        "/",
        "/challenges/",
        f"/challenges/{SLUG}/",
        f"/submissions/new/{SLUG}/",
        submission_url,
        "/submissions/",
        f"/leaderboard/{SLUG}/",
        f"/leaderboard/{SLUG}/projector/",
        "/accounts/team/",
        "/accounts/profile/",
        "/accounts/password/change/",
    ]


ANONYMOUS_PAGES = ["/accounts/signup/", "/accounts/login/", "/accounts/password/reset/"]
ORGANIZER_PAGES = [
    "/dashboard/",
    "/challenges/manage/",
    "/challenges/manage/new/",
    f"/challenges/manage/{SLUG}/",
    f"/challenges/manage/{SLUG}/edit/",
    "/challenges/manage/upload/",
    f"/leaderboard/{SLUG}/",
]


def problems_on(page: Page, path: str) -> list[str]:
    response = page.goto(path)
    assert response is not None and response.ok, f"{path}: HTTP {response and response.status}"
    page.wait_for_load_state("networkidle")
    found = [f"{path}: no label for {html}" for html in a11y.unlabelled_controls(page)]
    overflow = a11y.horizontal_overflow(page)
    if overflow:
        found.append(overflow)
    return found


def test_every_page_labels_its_controls_and_fits_a_375_px_wide_phone(
    open_browser: BrowserFactory,
) -> None:
    participant = open_browser("participant on a phone", width=375, height=740)
    actions.sign_up(participant, "phone_pat")
    actions.create_team(participant, "Small Screens")
    actions.submit_file(participant, CHALLENGE, SOLUTIONS / "weak.py")
    actions.expect_verdict(participant, "Scored")
    submission_url = participant.url

    anonymous = open_browser("visitor on a phone", width=375, height=740)
    organizer = open_browser("organizer on a phone", width=375, height=740)
    actions.log_in_as_organizer(organizer)

    problems: list[str] = []
    for page, paths in (
        (anonymous, ANONYMOUS_PAGES),
        (participant, participant_pages(submission_url)),
        (organizer, ORGANIZER_PAGES),
    ):
        for path in paths:
            problems += problems_on(page, path)
    assert problems == [], "\n".join(problems)
