"""Fixtures of the browser journeys: the platform as real processes and Debian's Chromium.

Both are package-scoped: they start once for tests/browser/ and stop before any other
package's tests run, so Playwright's event loop never overlaps Django tests that use the ORM.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hackathon.testing import UpSite
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from tests.browser.livesite import ROOT, up_site

# Debian's package (what bootstrap.py installs); HACKATHON_CHROMIUM names another build.
CHROMIUM = os.environ.get("HACKATHON_CHROMIUM") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",  # containers often give /dev/shm only 64 MB
]
BUNDLES_DIR = Path(__file__).resolve().parent / "challenges"
SCREENSHOTS_DIR = Path(os.environ.get("HACKATHON_SCREENSHOTS_DIR", ROOT / "docs" / "screenshots"))
ARTIFACTS_DIR = ROOT / "tests" / "artifacts" / "browser"

# Two shared cores and real grading: waits are generous, failures still come in seconds.
expect.set_options(timeout=15_000)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.is_relative_to(Path(__file__).parent):
            item.add_marker(pytest.mark.browser)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator:
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture(scope="package")
def live_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UpSite]:
    site = up_site(
        tmp_path_factory.mktemp("live-site"),
        database_url=os.environ.get("DATABASE_URL"),
        challenges_dir=BUNDLES_DIR,
    )
    try:
        site.start()
    except BaseException:
        site.stop()
        raise
    yield site
    site.stop()


@pytest.fixture(scope="package")
def chromium() -> Iterator[Browser]:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(
            f"Chromium is not installed at {CHROMIUM}: the browser journeys need it. "
            "`python3 bootstrap.py test` installs it when run as root on Debian/Ubuntu "
            "(apt-get install chromium); HACKATHON_CHROMIUM points at another binary.",
            pytrace=False,
        )
    # Playwright's sync API keeps an event loop running in this thread; Django refuses ORM
    # calls there. The journeys reach the database only through the site's processes, but a
    # fixture that does not must not fail for that reason.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
            )
            yield browser
            browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


BrowserFactory = Callable[..., Page]

# Installed in every page before its own scripts: records each text the page's main heading
# shows (a submission page's heading carries its state badge), so a journey can tell the
# states a page went through on its own, without a reload, however fast they passed.
HEADING_RECORDER = """
document.addEventListener('DOMContentLoaded', () => {
  const heading = document.querySelector('main h1');
  const seen = (window.__headingTexts = []);
  if (!heading) return;
  const record = () => {
    const text = heading.textContent.replace(/\\s+/g, ' ').trim();
    if (seen[seen.length - 1] !== text) seen.push(text);
  };
  record();
  new MutationObserver(record).observe(heading, {subtree: true, childList: true, characterData: true});
});
"""


@pytest.fixture
def open_browser(
    request: pytest.FixtureRequest, chromium: Browser, live_site: UpSite
) -> Iterator[BrowserFactory]:
    """Open a page in a fresh browser profile (own cookies): one person at one screen."""
    contexts: list[tuple[str, BrowserContext]] = []

    def factory(name: str = "browser", *, width: int = 1280, height: int = 900) -> Page:
        context = chromium.new_context(
            base_url=live_site.base_url,
            viewport={"width": width, "height": height},
            accept_downloads=True,
        )
        context.set_default_timeout(15_000)
        context.add_init_script(HEADING_RECORDER)
        contexts.append((name, context))
        return context.new_page()

    yield factory

    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        ARTIFACTS_DIR.mkdir(parents=True, exist_ok=True)
        test_name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
        for name, context in contexts:
            for index, page in enumerate(context.pages):
                target = ARTIFACTS_DIR / f"{test_name}-{name}-{index}.png"
                try:
                    page.screenshot(path=str(target), full_page=True)
                except Exception as error:  # noqa: BLE001 - best effort diagnostics
                    print(f"could not save {target}: {error}")
                else:
                    print(f"screenshot of {name} at {page.url}: {target}")
        print(live_site.logs())
    for _, context in contexts:
        context.close()


ScreenshotSaver = Callable[..., Path]


@pytest.fixture
def save_screenshot() -> ScreenshotSaver:
    """Save a screenshot for the README (docs/screenshots/<name>.png)."""

    def save(page: Page, name: str, *, full_page: bool = False) -> Path:
        SCREENSHOTS_DIR.mkdir(parents=True, exist_ok=True)
        target = SCREENSHOTS_DIR / f"{name}.png"
        # Finite animations (rows moving, highlights) are taken at their end state.
        page.screenshot(path=str(target), full_page=full_page, animations="disabled")
        return target

    return save
