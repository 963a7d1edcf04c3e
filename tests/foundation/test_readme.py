"""The README keeps its promises: two set-up commands, CI runs the second, every variable listed."""

from __future__ import annotations

import re
from pathlib import Path

from tests.foundation.envscan import TOOL_VARIABLES, variables_read_by_the_code

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


def section(title: str) -> str:
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", README, re.S | re.M)
    assert match, f"README has no '## {title}' section"
    return match.group(1)


def test_the_readme_starts_with_exactly_two_set_up_commands() -> None:
    first_block = re.search(r"```sh\n(.*?)```", section("Set up"), re.S).group(1)
    commands = [line.split("#")[0].strip() for line in first_block.splitlines() if line.strip()]
    assert commands == ["python3 bootstrap.py up", "python3 bootstrap.py test"]
    assert README.index("## Set up") < README.index("## Usage") < README.index("## Configuration")


def test_ci_runs_the_readme_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text()
    assert re.search(r"^exec python3 bootstrap\.py test\b", ci, re.M)


def test_ci_lints_and_type_checks_before_the_tests() -> None:
    ci = (ROOT / ".ci" / "run").read_text()
    lint = (ROOT / ".ci" / "lint").read_text()
    assert ci.index("bash .ci/lint") < ci.index("exec python3 bootstrap.py test")
    for step in ('ruff" check', 'ruff" format --check', 'mypy"'):
        assert step in lint


def test_the_configuration_table_lists_every_variable_the_code_reads() -> None:
    table = section("Configuration")
    listed = set(
        re.findall(
            r"`([A-Z][A-Z0-9_]+)`",
            "\n".join(line.split("|")[1] for line in table.splitlines() if line.startswith("| `")),
        )
    )
    read = {
        name
        for name in variables_read_by_the_code()
        if not name.endswith("_FILE") and not name.startswith("XDG_") and name not in TOOL_VARIABLES
    }
    missing = sorted(read - listed)
    assert missing == [], f"add a row to README's configuration table for {missing}"
    stale = sorted(listed - read - TOOL_VARIABLES)  # tools (uvicorn) read those
    assert stale == [], f"README lists variables nothing reads: {stale}"


def test_sections_other_areas_fill_keep_their_headings() -> None:
    for title in ("Benchmarks", "Screenshots", "Architecture", "Production with docker compose"):
        section(title)
