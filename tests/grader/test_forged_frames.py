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
            frame("D", "b'{\"fit_seconds\": 1, \"loss_curve\": [1' + b'0' * 400 + b']}'"),
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


# Forged answers of every kind the protocol has: a done answer claiming 0.1 ms of fit and
# predict and a 500-point curve, predictions, progress, an error, a second ready.
FORGER = """
import gc, json, os, struct, sys, time
import numpy as np

CURVE = [1.0 / (i + 1) for i in range(500)]


def frame(kind, obj, body=b""):
    payload = json.dumps(obj).encode() + body
    return struct.pack(">cI", kind, len(payload)) + payload


def forgeries(nonce):
    arr = np.zeros(60)
    import io
    buf = io.BytesIO()
    np.save(buf, arr)
    head = {"nonce": nonce, "name": "predictions", "shape": [60], "dtype": "float64"}
    done = {
        "nonce": nonce, "fit_seconds": 0.0001, "predict_seconds": 0.0001, "maxrss_kb": 1,
        "loss_curve": CURVE, "hyperparameters": {"learning_rate": 0.123},
        "fp_events": {"overflow": 0, "invalid": 0, "divide": 0, "first_epoch": None},
    }
    return [
        frame(b"D", done),
        frame(b"A", head, b"\\n" + buf.getvalue()),
        frame(b"D", done),
        frame(b"E", {"nonce": nonce, "kind": "memory", "message": "forged"}),
        frame(b"R", {}),
        frame(b"T", done),
    ]


class Model:
    def fit(self, X, y):
        time.sleep(0.3)
        nonce = NONCE_ROUTE
        for data in forgeries(nonce):
            for fd in range(1024):
                try:
                    os.write(fd, data)
                except OSError:
                    pass
        # Every function of the harness this process can find, called with forged answers.
        for obj in gc.get_objects():
            if getattr(obj, "__module__", None) != "grader_harness" or not callable(obj):
                continue
            name = getattr(obj, "__name__", "")
            for data in forgeries(nonce):
                try:
                    if name == "send":
                        obj(data[:1], data[5:])
                    elif name == "send_json":
                        obj(data[:1], json.loads(data[5:]))
                except Exception:
                    pass
        os._exit(0)

    def predict(self, X):
        return np.zeros(len(X))
"""


@pytest.mark.parametrize(
    "nonce_route",
    [
        '"0" * 32',  # a guess
        'sys._getframe(1).f_locals["nonce"]',  # the fit command's own nonce, read from the harness
    ],
    ids=["guessed-nonce", "stolen-nonce"],
)
def test_forged_answers_on_every_fd_and_through_the_harness_change_nothing(
    make_job, nonce_route
) -> None:
    """Whatever the solution's process writes, wherever, the platform's figures stay its own:
    no score, no forged timing, curve, hyperparameters or memory figure."""
    source = FORGER.replace("NONCE_ROUTE", nonce_route)
    result = grader.grade(make_job(source, allowed=HOSTILE_IMPORTS))
    assert result.verdict in (Verdict.INVALID_PREDICTIONS, Verdict.RUNTIME_ERROR), result.message
    assert result.public_score is None and result.private_score is None
    # The fit answer, when a stolen nonce made it valid, came after the 0.3 s the fit took.
    assert result.fit_seconds is None or result.fit_seconds >= 0.3
    assert result.predict_seconds is None
    assert len(result.loss_curve) != 500
    assert result.hyperparameters == {}
    assert result.peak_memory_mb is None or result.peak_memory_mb > 1
    assert result.verdict is not Verdict.MEMORY_LIMIT


# An array answer's .npy bytes are untrusted too: a header declaring 2**40 values with 64 bytes
# behind it once made np.load allocate 8 TiB in the trusted process (a MemoryError there is a
# platform fault: retried and refunded, a free submission for the team).
FORGED_ARRAY = """
import io, json, os, sys
import numpy as np

class Model:
    def fit(self, X, y):
        return self

    def predict(self, X):
        harness = sys.modules["grader_harness"]
        nonce = sys._getframe(1).f_locals["nonce"]
        npy = io.BytesIO()
        np.lib.format.write_array_header_1_0(
            npy, {"descr": DESCR, "fortran_order": False, "shape": SHAPE}
        )
        npy.write(bytes(BODY))
        head = {"nonce": nonce, "name": "predictions", "shape": [len(X)], "dtype": "float64"}
        harness.send(b"A", json.dumps(head).encode() + b"\\n" + npy.getvalue())
        return None  # the harness then sends no array of its own
"""


@pytest.mark.parametrize(
    ("descr", "shape", "body"),
    [
        ("<f8", (2**40,), 64),
        ("<f8", (60,), 8 * 59),
        ("<f8", (60,), 8 * 61),
        ("<f8", (2**62, 4), 0),
        ("(2,)<f8", (60,), 16 * 60),
    ],
    ids=["8-tib-header", "short-data", "long-data", "overflowing-shape", "subarray-type"],
)
def test_a_forged_array_header_is_invalid_predictions_not_a_platform_fault(
    make_job, descr, shape, body
) -> None:
    source = (
        FORGED_ARRAY.replace("DESCR", repr(descr))
        .replace("SHAPE", repr(shape))
        .replace("BODY", str(body))
    )
    result = grader.grade(make_job(source, allowed=HOSTILE_IMPORTS))
    assert result.verdict is Verdict.INVALID_PREDICTIONS, (result.message, result.stderr)
    assert "could not be read" in result.message or "must be numbers" in result.message
    # The same answer with a header true to its data is read and scored.
    honest = (
        FORGED_ARRAY.replace("DESCR", "'<f8'")
        .replace("SHAPE", "(len(X),)")
        .replace("BODY", "8 * len(X)")
    )
    assert grader.grade(make_job(honest, allowed=HOSTILE_IMPORTS)).verdict is Verdict.SCORED
