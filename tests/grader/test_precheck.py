"""The static pre-check at upload time."""

from __future__ import annotations

import time

import pytest

from grader import precheck as precheck_module
from grader.contract import DEFAULT_ALLOWED_IMPORTS, SOLUTION_MAX_BYTES, Verdict
from grader.precheck import precheck

from .conftest import LINEAR


def check(source: str | bytes):
    return precheck(source, DEFAULT_ALLOWED_IMPORTS)


def test_a_valid_solution_passes() -> None:
    assert check(LINEAR).ok


def test_syntax_error_gives_the_line() -> None:
    result = check("class Model:\n    def fit(self, X, y)\n")
    assert (result.ok, result.verdict) == (False, Verdict.SYNTAX_ERROR)
    assert result.message.startswith("line 2:")


def test_invalid_utf8_and_oversized_files_are_refused() -> None:
    assert "not valid UTF-8" in check(b"x = '\xff'\n").message
    big = "#" * (SOLUTION_MAX_BYTES + 1)
    assert "limit is" in check(big).message


@pytest.mark.parametrize(
    ("source", "missing"),
    [
        ("x = 1\n", "class named Model"),
        ("class Model:\n    def fit(self, X, y):\n        return self\n", "predict()"),
    ],
)
def test_model_class_with_fit_and_predict_is_required(source: str, missing: str) -> None:
    result = check(source)
    assert not result.ok and missing in result.message


def test_methods_inherited_from_a_class_in_the_file_count() -> None:
    source = "class Base:\n    def fit(self, X, y): pass\n    def predict(self, X): pass\n"
    assert check(source + "class Model(Base):\n    pass\n").ok


@pytest.mark.parametrize(
    "line",
    ["import os", "from subprocess import run", "import numpy, socket", "__import__('os')",
     "from . import helper"],
)  # fmt: skip
def test_imports_outside_the_allowed_list_are_refused(line: str) -> None:
    result = check(line + "\n" + LINEAR)
    assert result.verdict is Verdict.FORBIDDEN_IMPORT
    assert "line 1" in result.message


def test_forbidden_import_message_names_module_and_allowed_list() -> None:
    message = check("import socket\n" + LINEAR).message
    assert "'socket'" in message and "numpy" in message


@pytest.mark.parametrize(
    "source",
    ["1+" * 400_000 + "1", "(" * 200_000 + ")" * 200_000, "-" * 900_000 + "1"],
)
def test_pathological_files_are_answered_quickly_without_harming_the_caller(source: str) -> None:
    started = time.monotonic()
    result = check(source)
    assert not result.ok and result.verdict is Verdict.SYNTAX_ERROR
    assert time.monotonic() - started < 30  # bounded by the child's rlimits and timeout


@pytest.mark.parametrize(
    "source",
    [
        "x = " + "+".join(["a"] * 8000),
        "x = " + "-" * 16000 + "1",
        "x = a" + "()" * 8000,
        "x = " + "not " * 4000 + "a",
        "x = " + "(" * 8000 + ")" * 8000,
    ],
)
def test_small_pathological_files_are_refused_in_process_without_a_crash(source: str) -> None:
    # Up to IN_PROCESS_MAX_BYTES the parse runs in the caller: deep nesting must end as a
    # syntax error there, not as an exception or a crash of the calling process.
    assert len(source.encode()) <= precheck_module.IN_PROCESS_MAX_BYTES
    result = check(source)
    assert not result.ok and result.verdict is Verdict.SYNTAX_ERROR


def test_small_files_are_parsed_without_starting_a_process(monkeypatch) -> None:
    def no_child(*args: object, **kwargs: object) -> None:
        raise AssertionError("a child process was started for a small file")

    monkeypatch.setattr(precheck_module.subprocess, "run", no_child)
    assert check(LINEAR).ok
    assert check("import os\n" + LINEAR).verdict is Verdict.FORBIDDEN_IMPORT
