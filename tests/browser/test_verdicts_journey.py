"""Journey 4: broken solutions get their verdict and a message that says what went wrong."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import expect

from tests.browser import actions
from tests.browser.conftest import BrowserFactory, ScreenshotSaver

CHALLENGE = "Diabetes progression by gradient descent"
SOLUTIONS = Path(__file__).resolve().parent / "solutions"


def test_a_forbidden_import_a_diverging_and_a_too_slow_solution_each_get_a_specific_verdict(
    open_browser: BrowserFactory, save_screenshot: ScreenshotSaver
) -> None:
    page = open_browser("participant")
    actions.sign_up(page, "grace_h")
    actions.create_team(page, "Exploding Gradients")

    # The pre-check answers in the form at once; the refused file uses no quota.
    actions.open_submit_form(page, CHALLENGE)
    quota = page.get_by_role("region", name=re.compile("quota", re.I))
    expect(quota).to_contain_text("0 of 50 used")
    page.get_by_label(re.compile(r"^Upload solution", re.I)).set_input_files(
        SOLUTIONS / "forbidden_import.py"
    )
    page.get_by_role("button", name=re.compile(r"^Submit", re.I)).click()
    alert = page.get_by_role("alert").filter(has_text="subprocess")
    expect(alert).to_contain_text(re.compile(r"line 3: import of 'subprocess' is not allowed"))
    expect(alert).to_contain_text("numpy")  # it says what is allowed instead
    expect(page).not_to_have_url(actions.SUBMISSION_URL)
    expect(quota).to_contain_text("0 of 50 used")

    # Two submissions graded one after the other, each watched in its own tab.
    slow = page
    actions.submit_file(slow, CHALLENGE, SOLUTIONS / "too_slow.py")
    diverging = page.context.new_page()
    actions.submit_file(diverging, CHALLENGE, SOLUTIONS / "diverges.py")

    actions.expect_verdict(diverging, "Invalid predictions")
    main = diverging.get_by_role("main")
    expect(main).to_contain_text(re.compile(r"NaN in \d+ rows"))
    expect(main).to_contain_text("Training diverged")
    chart = diverging.get_by_role("img", name=re.compile(r"loss", re.I))
    expect(chart).to_be_visible()

    actions.expect_verdict(slow, "Time limit exceeded")
    expect(slow.get_by_role("main")).to_contain_text(re.compile(r"(longer|more) than 5 s"))
    expect(slow.get_by_role("main")).not_to_contain_text(re.compile(r"Public score\s*\d"))

    # The organizer's dashboard counts them among the failures of the last hour.
    organizer = open_browser("organizer")
    actions.log_in_as_organizer(organizer)
    nav = organizer.get_by_role("navigation", name="Main")
    nav.get_by_role("link", name="Dashboard").click()
    expect(organizer.get_by_role("heading", level=1)).to_contain_text(re.compile("dashboard", re.I))
    failures = organizer.get_by_role("region", name=re.compile(r"Failed submissions", re.I))
    expect(failures).to_contain_text("Time limit exceeded")
    expect(failures).to_contain_text("Invalid predictions")
    expect(organizer.get_by_role("region", name="Workers")).to_contain_text("online")
    save_screenshot(organizer, "dashboard", full_page=True)
