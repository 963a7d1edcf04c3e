"""The accessibility checks the journeys rely on find what they claim to find."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page

from tests.browser import a11y


@pytest.fixture
def phone_page(chromium: Browser) -> Iterator[Page]:
    context = chromium.new_context(viewport={"width": 375, "height": 700})
    yield context.new_page()
    context.close()


def test_the_label_scan_reports_unnamed_controls_and_accepts_named_ones(phone_page: Page) -> None:
    phone_page.set_content(
        """
        <label for="a">Team name</label><input id="a">
        <label>Invite code <input name="code"></label>
        <input aria-label="Search">
        <span id="h">Learning rate</span><input aria-labelledby="h">
        <input type="hidden" name="csrf">
        <button>Join team</button>
        <input id="unnamed" placeholder="a placeholder is not a label">
        <select id="choice"><option>1</option></select>
        <button id="icon"><svg></svg></button>
        """
    )
    found = a11y.unlabelled_controls(phone_page)
    assert len(found) == 3, found
    assert ['id="unnamed"' in found[0], 'id="choice"' in found[1], 'id="icon"' in found[2]] == [
        True,
        True,
        True,
    ]


def test_the_width_check_reports_a_page_wider_than_a_phone(phone_page: Page) -> None:
    phone_page.set_content('<p>fits</p><div style="width: 300px">narrow</div>')
    assert a11y.horizontal_overflow(phone_page) is None

    phone_page.set_content(
        '<div style="overflow-x: auto"><table style="width: 900px"><tr><td>wide, scrolls in '
        "its box</td></tr></table></div>"
    )
    assert a11y.horizontal_overflow(phone_page) is None

    phone_page.set_content('<pre style="width: 600px" class="log">a long line</pre>')
    problem = a11y.horizontal_overflow(phone_page)
    assert problem is not None
    assert "pre.log" in problem
    assert re.search(r"page is 6\d\d px wide in a 375 px viewport", problem), problem


def test_tab_to_walks_the_focus_order_and_names_what_it_could_not_reach(
    phone_page: Page,
) -> None:
    phone_page.set_content(
        '<a href="#x">Skip</a><label for="n">Name</label><input id="n"><button>Save</button>'
        '<div onclick="1">Not focusable</div>'
    )
    a11y.tab_to(phone_page, "Save")
    assert phone_page.evaluate("document.activeElement.textContent") == "Save"

    with pytest.raises(AssertionError, match="Not focusable"):
        a11y.tab_to(phone_page, "Not focusable", limit=6)
