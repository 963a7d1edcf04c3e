"""What people do on the site, as browser steps shared by the journeys.

Elements are found the way a person finds them: by role and accessible name or label.
"""

from __future__ import annotations

import io
import re
import time
import zipfile
from pathlib import Path

from playwright.sync_api import Download, Locator, Page, expect

from tests.browser.livesite import ORGANIZER_PASSWORD, ORGANIZER_USERNAME

PASSWORD = "gradient-Descent-42"


def sign_up(page: Page, username: str, password: str = PASSWORD) -> None:
    page.goto("/accounts/signup/")
    page.get_by_label(re.compile(r"^Username", re.I)).fill(username)
    page.get_by_label(re.compile(r"^E-?mail", re.I)).fill(f"{username}@example.org")
    page.get_by_label(re.compile(r"^Password:?$", re.I)).fill(password)
    page.get_by_label(re.compile(r"^Password confirmation", re.I)).fill(password)
    page.get_by_role("button", name=re.compile(r"^Sign up$", re.I)).click()
    expect(page.get_by_role("navigation", name="Main")).to_contain_text(username)


def log_in(page: Page, username: str, password: str = PASSWORD, *, succeeds: bool = True) -> None:
    page.goto("/accounts/login/")
    page.get_by_label(re.compile(r"^Username", re.I)).fill(username)
    page.get_by_label(re.compile(r"^Password:?$", re.I)).fill(password)
    page.get_by_role("button", name=re.compile(r"^Log in$", re.I)).click()
    if succeeds:
        expect(page.get_by_role("navigation", name="Main")).to_contain_text(username)


def log_in_as_organizer(page: Page) -> None:
    log_in(page, ORGANIZER_USERNAME, ORGANIZER_PASSWORD)


def log_out(page: Page) -> None:
    page.get_by_role("button", name=re.compile(r"^Log out", re.I)).click()
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name=re.compile(r"^Log in$", re.I))).to_be_visible()


def open_team_page(page: Page) -> None:
    page.goto("/")
    nav = page.get_by_role("navigation", name="Main")
    menu = nav.get_by_role("button", name="Menu")
    if menu.is_visible():  # a phone-width page folds its links into a menu
        menu.click()
    nav.get_by_role("link", name="My team").click()


def create_team(page: Page, name: str) -> str:
    """Create a team from the team page; return the invite link it shows."""
    open_team_page(page)
    page.get_by_label(re.compile(r"^Team name", re.I)).fill(name)
    page.get_by_role("button", name=re.compile(r"^Create", re.I)).click()
    expect(page.get_by_role("heading", name=name, exact=True, level=1)).to_be_visible()
    return invite_link(page)


def invite_link(page: Page) -> str:
    link = page.get_by_label(re.compile(r"invite link", re.I))
    expect(link).to_have_value(re.compile(r"^https?://"))
    return link.input_value()


def join_team_by_link(page: Page, link: str, team_name: str) -> None:
    """Open an invite link, confirm, and land on the team's page."""
    page.goto(link)
    expect(page.get_by_role("heading", level=1)).to_have_text(
        re.compile(rf"^Join .{re.escape(team_name)}.\?$")
    )
    page.get_by_role("button", name="Join team").click()
    expect(page.get_by_role("heading", name=team_name, exact=True, level=1)).to_be_visible()


def read_zip(download: Download) -> dict[str, str]:
    """The text files of a downloaded zip, by name."""
    with zipfile.ZipFile(io.BytesIO(download.path().read_bytes())) as archive:
        return {
            info.filename: archive.read(info).decode("utf-8", errors="replace")
            for info in archive.infolist()
            if not info.is_dir()
        }


def open_challenge(page: Page, title: str) -> None:
    page.goto("/challenges/")
    page.get_by_role("link", name=re.compile(re.escape(title))).first.click()
    expect(page.get_by_role("heading", name=title, level=1)).to_be_visible()


def download_starter_kit(page: Page) -> dict[str, str]:
    """From a challenge page: the starter kit's text files, by name."""
    with page.expect_download() as download:
        page.get_by_role("link", name=re.compile(r"^Starter kit", re.I)).click()
    return read_zip(download.value)


def submit_file(page: Page, challenge_title: str, path: Path) -> int:
    """Upload a solution from the challenge's submit page; return the submission's number."""
    open_submit_form(page, challenge_title)
    page.get_by_label(re.compile(r"^Upload solution", re.I)).set_input_files(path)
    return send_submission(page)


def submit_code(page: Page, challenge_title: str, code: str) -> int:
    """Paste a solution into the submit page's code box; return the submission's number."""
    open_submit_form(page, challenge_title)
    page.get_by_label(re.compile(r"paste the code", re.I)).fill(code)
    return send_submission(page)


def open_submit_form(page: Page, challenge_title: str) -> None:
    open_challenge(page, challenge_title)
    page.get_by_role("link", name=re.compile(r"^Submit", re.I)).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(challenge_title)


def send_submission(page: Page) -> int:
    page.get_by_role("button", name=re.compile(r"^Submit", re.I)).click()
    expect(page).to_have_url(SUBMISSION_URL)
    match = SUBMISSION_URL.search(page.url)
    assert match is not None
    return int(match.group(1))


SUBMISSION_URL = re.compile(r"/submissions/(\d+)/$")
GRADING_TIMEOUT_MS = 90_000  # a queue, a sandbox and two shared cores: generous on purpose


def expect_verdict(page: Page, verdict: str) -> None:
    """Wait until the open submission page's heading shows `verdict`."""
    expect(page.get_by_role("heading", level=1)).to_contain_text(
        verdict, timeout=GRADING_TIMEOUT_MS
    )


def heading_history(page: Page) -> list[str]:
    """Every text the page's main heading showed since it loaded (see HEADING_RECORDER)."""
    return page.evaluate("window.__headingTexts || []")


def mark_page(page: Page) -> None:
    """Leave a mark in the page's JavaScript state: a reload or navigation would wipe it."""
    page.evaluate("window.__journeyMark = 'still the same document'")


def expect_not_reloaded(page: Page) -> None:
    assert page.evaluate("window.__journeyMark") == "still the same document", (
        f"{page.url} was reloaded or navigated away"
    )


def order_of(rows: Locator, *names: str) -> list[str]:
    """`names` in the order their rows appear."""
    texts = rows.all_inner_texts()
    positions = {}
    for name in names:
        found = [i for i, text in enumerate(texts) if name in text]
        assert found, f"{name!r} is not among the rows: {texts}"
        positions[name] = found[0]
    return sorted(names, key=positions.__getitem__)


def expect_order(rows: Locator, first: str, second: str, *, timeout_ms: int = 10_000) -> None:
    """Wait until `first`'s row is above `second`'s (rows update live: poll, never reload)."""
    deadline = time.monotonic() + timeout_ms / 1000
    while True:
        try:
            if order_of(rows, first, second) == [first, second]:
                return
        except AssertionError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(
                f"expected {first!r} above {second!r}; rows: {rows.all_inner_texts()}"
            )
        rows.page.wait_for_timeout(100)
