"""Journey 1: an organizer authors a challenge in the browser from a CSV and a starter solution."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import numpy as np
from playwright.sync_api import expect

from tests.browser import actions
from tests.browser.conftest import BrowserFactory, ScreenshotSaver

SOLUTIONS = Path(__file__).resolve().parent / "solutions"


def write_house_prices_csv(path: Path, rows: int = 400) -> Path:
    """A small regression table: four features on different scales and a noisy linear price."""
    rng = np.random.default_rng(3)
    area = rng.uniform(30, 250, rows)
    rooms = rng.integers(1, 7, rows)
    age = rng.uniform(0, 90, rows)
    distance = rng.uniform(0.2, 40, rows)
    price = 1500 * area + 9000 * rooms - 600 * age - 2500 * distance + rng.normal(0, 15000, rows)
    table = np.column_stack([area, rooms, age, distance, price])
    np.savetxt(
        path,
        table,
        delimiter=",",
        header="area_m2,rooms,age_years,distance_km,price",
        comments="",
        fmt="%.3f",
    )
    return path


def local_minutes(moment: dt.datetime) -> str:
    """The value a datetime-local input holds (the site works in UTC)."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M")


def test_an_organizer_creates_a_challenge_from_a_csv_and_a_starter_and_publishes_it(
    open_browser: BrowserFactory, save_screenshot: ScreenshotSaver, tmp_path: Path
) -> None:
    csv_path = write_house_prices_csv(tmp_path / "house_prices.csv")
    starter = (SOLUTIONS / "medium.py").read_text()
    now = dt.datetime.now(dt.UTC)

    page = open_browser("organizer")
    actions.log_in_as_organizer(page)
    page.goto("/challenges/manage/")
    page.get_by_role("link", name="New challenge").click()
    expect(page.get_by_role("heading", name="New challenge")).to_be_visible()

    page.get_by_label(re.compile(r"^Slug")).fill("house-prices")
    page.get_by_label(re.compile(r"^Title")).fill("House prices by gradient descent")
    page.get_by_label(re.compile(r"^Summary")).fill("Predict a sale price from four features.")
    page.get_by_label(re.compile(r"^Description")).fill(
        "# House prices\n\nScale the features first: area is in the hundreds, rooms in units."
    )
    page.get_by_label(re.compile(r"^Task")).select_option("regression")
    # The optimizer track's inputs show only while it is chosen, the metric only without it.
    expect(page.get_by_label(re.compile(r"^Budget"))).to_be_hidden()
    page.get_by_label(re.compile(r"^Track")).select_option("optimizer")
    expect(page.get_by_label(re.compile(r"^Budget"))).to_be_visible()
    expect(page.get_by_label(re.compile(r"^Minimum batch size"))).to_be_visible()
    expect(page.get_by_label(re.compile(r"^Metric"))).to_be_hidden()
    page.get_by_label(re.compile(r"^Track")).select_option("model")
    expect(page.get_by_label(re.compile(r"^Budget"))).to_be_hidden()
    page.get_by_label(re.compile(r"^Metric")).select_option("rmse")
    # Only the chosen data source's fields are shown.
    page.get_by_label(re.compile(r"^Data source")).select_option("generator")
    expect(page.get_by_label(re.compile(r"^Generator:?$"))).to_be_visible()
    expect(page.get_by_label(re.compile(r"^Target column"))).to_be_hidden()
    expect(page.get_by_label(re.compile(r"^Data file"))).to_be_hidden()
    page.get_by_label(re.compile(r"^Data source")).select_option("csv")
    expect(page.get_by_label(re.compile(r"^Generator:?$"))).to_be_hidden()
    page.get_by_label(re.compile(r"^Data file")).set_input_files(csv_path)
    page.get_by_label(re.compile(r"^Target column")).fill("price")
    page.get_by_label(re.compile(r"^Time limit")).fill("6")
    page.get_by_label(re.compile(r"^Memory")).fill("320")
    page.get_by_label(re.compile(r"^Daily quota")).fill("7")
    page.get_by_label(re.compile(r"^Start at")).fill(local_minutes(now - dt.timedelta(hours=1)))
    page.get_by_label(re.compile(r"^End at")).fill(local_minutes(now + dt.timedelta(days=2)))
    page.get_by_label(re.compile(r"^Starter code")).fill(starter)

    # The preview shows the split before anything is saved: 400 rows, 30 % hidden.
    page.get_by_role("button", name="Preview split").click()
    preview = page.get_by_role("main")
    expect(preview).to_contain_text("400 rows, 4 features")
    expect(preview).to_contain_text("280 training rows")
    page.get_by_label(re.compile(r"^Data file")).set_input_files(csv_path)
    page.get_by_role("button", name="Save").click()

    expect(
        page.get_by_role("heading", name=re.compile("House prices by gradient descent"))
    ).to_be_visible()
    expect(page.get_by_text(re.compile(r"Limits: 6 s, 320 MB; 7 per day"))).to_be_visible()
    page.get_by_role("button", name="Publish").click()
    expect(page.get_by_role("button", name="Unpublish")).to_be_visible()

    # A visitor finds it among the open challenges, with the limits and times the organizer set.
    visitor = open_browser("visitor")
    visitor.goto("/challenges/")
    visitor.get_by_role("link", name=re.compile("House prices by gradient descent")).click()
    expect(
        visitor.get_by_role("heading", name="House prices by gradient descent", level=1)
    ).to_be_visible()
    facts = visitor.get_by_role("main")
    expect(facts).to_contain_text("280 training rows, 4 features")
    expect(facts).to_contain_text("6 s for training and prediction")
    expect(facts).to_contain_text("320 MB")
    expect(facts).to_contain_text("7 per team per day")
    expect(facts).to_contain_text(local_minutes(now + dt.timedelta(days=2)).replace("T", " "))
    expect(visitor.get_by_role("heading", name="House prices", exact=True)).to_be_visible()
    save_screenshot(visitor, "challenge", full_page=True)

    starter_kit = visitor.get_by_role("link", name=re.compile(r"Starter kit", re.I))
    with visitor.expect_download() as download:
        starter_kit.click()
    kit = actions.read_zip(download.value)
    assert "train.csv" in " ".join(kit), sorted(kit)
    # Browsers send a textarea's lines ending in CRLF; the kit must hold the file as written.
    kit_starters = [text for name, text in kit.items() if name.endswith("solution.py")]
    assert kit_starters == [starter], "the starter kit's solution.py differs from the starter"
