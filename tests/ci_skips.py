"""On CI a skipped test is a failed test, unless it is marked as allowed to skip there.

CI has PostgreSQL, Redis, root, bubblewrap and Chromium, so every check can run; a skip
there means a check silently stopped running. Tests whose skip depends on where the clone
lives (not on what CI provides) carry `@pytest.mark.ci_may_skip`.
"""

from __future__ import annotations

import os

import pytest


def on_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> object:
    outcome = yield
    report = outcome.get_result()
    if not (on_ci() and report.skipped) or hasattr(report, "wasxfail"):
        return
    if item.get_closest_marker("ci_may_skip"):
        return
    reason = report.longrepr[-1] if isinstance(report.longrepr, tuple) else report.longrepr
    report.outcome = "failed"
    report.longrepr = f"skipped on CI, where every check must run: {reason}"
