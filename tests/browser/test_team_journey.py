"""Journey 2: two participants form a team, take the starter kit and watch it being graded live."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import expect

from tests.browser import actions
from tests.browser.conftest import BrowserFactory, ScreenshotSaver

CHALLENGE = "Diabetes progression by gradient descent"
SOLUTIONS = Path(__file__).resolve().parent / "solutions"


def states_seen(history: list[str]) -> list[str]:
    """The state words of a submission heading's history ("Submission #3 queued" -> "queued")."""
    return [re.sub(r"^Submission #\d+\s*", "", text) for text in history]


def test_two_participants_team_up_submit_the_starter_and_watch_it_graded_live(
    open_browser: BrowserFactory, save_screenshot: ScreenshotSaver, tmp_path: Path
) -> None:
    ada = open_browser("ada")
    actions.sign_up(ada, "ada_lovelace")
    invite = actions.create_team(ada, "Learning Rates")

    bob = open_browser("bob")
    actions.sign_up(bob, "bob_bayes")
    actions.join_team_by_link(bob, invite, "Learning Rates")
    expect(bob.get_by_role("main")).to_contain_text("ada_lovelace")
    ada.reload()
    expect(ada.get_by_role("main")).to_contain_text("bob_bayes")

    actions.open_challenge(ada, CHALLENGE)
    kit = actions.download_starter_kit(ada)
    starters = {name: text for name, text in kit.items() if name.endswith("solution.py")}
    assert len(starters) == 1, sorted(kit)
    starter_path = tmp_path / "solution.py"
    starter_path.write_text(next(iter(starters.values())))
    assert any(name.endswith("train.npz") for name in kit), sorted(kit)
    assert any(name.endswith("train.csv.gz") for name in kit), sorted(kit)

    # Bob goes first with a solution that thinks before it trains, so the single grading
    # worker is busy and Ada's submission has to wait in the queue.
    bob_number = actions.submit_code(bob, CHALLENGE, (SOLUTIONS / "patient.py").read_text())
    actions.mark_page(bob)
    ada_number = actions.submit_file(ada, CHALLENGE, starter_path)
    assert ada_number > bob_number
    actions.mark_page(ada)

    actions.expect_verdict(ada, "Scored")
    actions.expect_verdict(bob, "Scored")
    actions.expect_not_reloaded(ada)
    actions.expect_not_reloaded(bob)
    seen = states_seen(actions.heading_history(ada))
    assert seen == ["queued", "running", "Scored"], (
        f"Ada's submission page showed {' → '.join(seen)}; expected queued → running → Scored"
    )
    assert states_seen(actions.heading_history(bob))[-1] == "Scored"

    main = ada.get_by_role("main")
    expect(main).to_contain_text(re.compile(r"Public score\s*\d+\.\d+"))
    chart = ada.get_by_role("img", name=re.compile(r"loss", re.I))
    expect(chart).to_contain_text("100 epochs")
    points = chart.evaluate(
        "(el) => Math.max(0, ...Array.from(el.querySelectorAll('path'),"
        " (p) => (p.getAttribute('d') || '').split(/[ML]/).length - 1))"
    )
    assert points == 100, f"the loss curve has {points} points, the starter logs 100 epochs"
    save_screenshot(ada, "submission", full_page=True)
