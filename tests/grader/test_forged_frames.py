"""Forged frames written by the solution to the result pipe end as a protocol error (verdict
invalid_predictions), never as a crash of the trusted side (real sandbox)."""

from __future__ import annotations

import pytest

import grader
from grader.contract import Verdict

from .conftest import HOSTILE_IMPORTS, LINEAR


def forging(payload: str) -> str:
    """A solution that writes `payload` (an expression giving bytes) to the result pipe in fit."""
    return LINEAR.replace(
        "        return self\n",
        "        import json, os, sys\n"
        "        fd = json.loads(sys.argv[1])['result_fd']\n"
        f"        os.write(fd, {payload})\n"
        "        return self\n",
        1,
    )


def frame(kind: str, body: str) -> str:
    return f"{kind!r}.encode() + len({body}).to_bytes(4, 'big') + {body}"


@pytest.mark.parametrize(
    ("forged", "why"),
    [
        (frame("E", "b'[' * 200000"), "malformed error message"),
        (frame("P", "b'{\"start\": 0, \"values\": [1' + b'0' * 400 + b']}'"), "malformed progress"),
        (
            frame("T", "b'{\"fit_seconds\": 1, \"loss_curve\": [1' + b'0' * 400 + b']}'"),
            "malformed done message",
        ),
        (frame("P", 'b\'{"start": 0, "values": 3}\''), "malformed progress"),
        (frame("E", "b'\\xff\\xfe'"), "malformed error message"),
        (frame("A", "b'[1]\\n'"), "malformed array message"),
    ],
    ids=[
        "deep-json",
        "huge-int-progress",
        "huge-int-curve",
        "values-not-list",
        "not-utf8",
        "array",
    ],
)
def test_forged_result_frames_are_invalid_predictions_saying_so(make_job, forged, why) -> None:
    result = grader.grade(make_job(forging(forged), allowed=HOSTILE_IMPORTS))
    assert result.verdict is Verdict.INVALID_PREDICTIONS, result.message
    assert why in result.message
    assert "on the result stream" in result.message
