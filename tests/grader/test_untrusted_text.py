"""Text from the sandbox may not be valid UTF-8 (lone surrogates): the trusted side makes it
valid before anyone stores it (real sandbox)."""

from __future__ import annotations

import grader
from grader.contract import Verdict

from .conftest import LINEAR


def test_a_lone_surrogate_in_an_error_message_is_a_runtime_error_with_its_traceback(
    make_job,
) -> None:
    source = LINEAR.replace("        return self\n", '        raise ValueError("bad \\udcff")\n', 1)
    result = grader.grade(make_job(source))
    assert result.verdict is Verdict.RUNTIME_ERROR
    assert "ValueError: bad \ufffd\n" in result.message + "\n"
    assert 'File "solution.py", line' in result.message
    result.message.encode("utf-8")  # storable as it is


def test_a_lone_surrogate_printed_by_the_solution_is_valid_text(make_job) -> None:
    source = LINEAR.replace(
        "        return self\n",
        '        print("out \\udcff", flush=True)\n        return self\n',
        1,
    )
    result = grader.grade(make_job(source))
    assert result.verdict is Verdict.SCORED
    assert "out" in result.stdout
    result.stdout.encode("utf-8")
    result.stderr.encode("utf-8")
