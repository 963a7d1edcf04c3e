"""A participant signs up, logs out and logs in again, in Chromium."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser import actions
from tests.browser.conftest import BrowserFactory


def test_a_participant_signs_up_logs_out_and_logs_in_again(
    open_browser: BrowserFactory,
) -> None:
    page = open_browser("participant")
    actions.sign_up(page, "ada")
    actions.log_out(page)
    expect(page.get_by_role("navigation", name="Main")).not_to_contain_text("ada")

    actions.log_in(page, "ada", "not-the-password", succeeds=False)
    expect(
        page.get_by_text(re.compile(r"enter a correct username and password", re.I))
    ).to_be_visible()

    actions.log_in(page, "ada")
