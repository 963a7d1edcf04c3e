"""What people do on the site, as browser steps shared by the journeys.

Elements are found the way a person finds them: by role and accessible name or label.
"""

from __future__ import annotations

import io
import re
import zipfile

from playwright.sync_api import Download, Page, expect

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
    page.get_by_role("navigation", name="Main").get_by_role(
        "link", name=re.compile(r"team", re.I)
    ).first.click()


def create_team(page: Page, name: str) -> str:
    """Create a team from the team page; return the invite link it shows."""
    open_team_page(page)
    page.get_by_label(re.compile(r"^Team name", re.I)).fill(name)
    page.get_by_role("button", name=re.compile(r"^Create", re.I)).click()
    expect(page.get_by_role("heading", name=re.compile(re.escape(name)))).to_be_visible()
    return invite_link(page)


def invite_link(page: Page) -> str:
    link = page.get_by_label(re.compile(r"invite link", re.I))
    expect(link).to_have_value(re.compile(r"^https?://"))
    return link.input_value()


def join_team_by_link(page: Page, link: str, team_name: str) -> None:
    page.goto(link)
    button = page.get_by_role("button", name=re.compile(r"^Join", re.I))
    if button.count():
        button.click()
    expect(page.get_by_role("heading", name=re.compile(re.escape(team_name)))).to_be_visible()


def read_zip(download: Download) -> dict[str, str]:
    """The text files of a downloaded zip, by name."""
    with zipfile.ZipFile(io.BytesIO(download.path().read_bytes())) as archive:
        return {
            info.filename: archive.read(info).decode("utf-8", errors="replace")
            for info in archive.infolist()
            if not info.is_dir()
        }
