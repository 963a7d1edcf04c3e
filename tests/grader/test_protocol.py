"""The command/answer protocol's state machine alone (no process): what it accepts, in which
phase, and what the trusted clocks measure."""

from __future__ import annotations

import json
import struct

import pytest

from grader.protocol import (
    Conversation,
    Phase,
    ProtocolError,
    determinants,
    fp_events,
    hyperparameters,
)

HEADER = struct.Struct(">cI")


def frame(kind: bytes, obj: object = None, body: bytes = b"") -> bytes:
    payload = b"" if obj is None else json.dumps(obj).encode() + body
    return HEADER.pack(kind, len(payload)) + payload


def command(data: bytes) -> dict:
    kind, length = HEADER.unpack_from(data)
    assert kind == b"C"
    return json.loads(data[HEADER.size : HEADER.size + length])


class Clock:
    def __init__(self) -> None:
        self.now = 100.0
        self.cpu = 5.0

    def wall(self) -> float:
        return self.now

    def cpu_time(self) -> float:
        return self.cpu


def started() -> tuple[Conversation, Clock, dict]:
    clock = Clock()
    conversation = Conversation(array_cap=4096, clock=clock.wall, cpu_clock=clock.cpu_time)
    [load] = conversation.feed(frame(b"R"))
    return conversation, clock, command(load)


def test_each_answer_brings_the_next_command_with_a_fresh_nonce() -> None:
    conversation, clock, load = started()
    assert load["cmd"] == "load" and conversation.phase is Phase.LOADING
    seen = [load["nonce"]]
    for expected in ("fit", "predict", "report"):
        [nxt] = conversation.feed(frame(b"D", {"nonce": seen[-1]}))
        assert command(nxt)["cmd"] == expected
        seen.append(command(nxt)["nonce"])
    assert len(set(seen)) == 4
    assert conversation.feed(frame(b"D", {"nonce": seen[-1], "loss_curve": [3.0, 2.0]})) == []
    assert conversation.phase is Phase.FINISHED
    assert conversation.report["loss_curve"] == [3.0, 2.0]


def test_phase_times_come_from_the_trusted_clocks_not_the_answers() -> None:
    conversation, clock, load = started()
    [fit] = conversation.feed(frame(b"D", {"nonce": load["nonce"]}))
    clock.now += 2.5
    clock.cpu += 1.25
    conversation.feed(frame(b"D", {"nonce": command(fit)["nonce"], "fit_seconds": 0.0001}))
    measured = conversation.measured[Phase.FITTING]
    assert (measured.wall, measured.cpu) == (2.5, 1.25)


@pytest.mark.parametrize(
    ("answer", "why"),
    [
        (lambda nonce: frame(b"D", {"nonce": "f" * 32}), "answers no command"),
        (lambda nonce: frame(b"D", {}), "answers no command"),
        (lambda nonce: frame(b"R"), "second ready"),
        (lambda nonce: frame(b"A", {"nonce": nonce, "name": "predictions"}, b"\n"), "outside"),
        (lambda nonce: frame(b"P", {"nonce": nonce, "start": 0, "values": []}), "outside fit"),
        (lambda nonce: frame(b"T", {"nonce": nonce}), "unknown message"),
        (lambda nonce: HEADER.pack(b"D", 2**31), "exceeds"),
        (lambda nonce: frame(b"D", [nonce]), "not a JSON object"),
    ],
    ids=["wrong-nonce", "no-nonce", "ready-again", "array-in-load", "progress-in-load",
         "old-kind", "huge", "not-object"],
)  # fmt: skip
def test_anything_but_the_awaited_answer_is_a_protocol_error(answer, why) -> None:
    conversation, _, load = started()
    with pytest.raises(ProtocolError, match=why):
        conversation.feed(answer(load["nonce"]))


def test_an_answer_written_before_its_command_cannot_pass_for_it() -> None:
    """A process that writes its fit and predict answers in one go (predict's nonce unknown)."""
    conversation, _, load = started()
    [fit] = conversation.feed(frame(b"D", {"nonce": load["nonce"]}))
    nonce = command(fit)["nonce"]
    with pytest.raises(ProtocolError, match="answers no command"):
        conversation.feed(frame(b"D", {"nonce": nonce}) + frame(b"D", {"nonce": nonce}))


def test_progress_extends_the_live_curve_in_order_only() -> None:
    conversation, _, load = started()
    [fit] = conversation.feed(frame(b"D", {"nonce": load["nonce"]}))
    nonce = command(fit)["nonce"]
    conversation.feed(frame(b"P", {"nonce": nonce, "start": 0, "values": [3.0, 2.0]}))
    conversation.feed(frame(b"P", {"nonce": nonce, "start": 7, "values": [9.0]}))  # a gap
    conversation.feed(frame(b"P", {"nonce": nonce, "start": 2, "values": [1.0], "fp": {}}))
    assert conversation.live_curve == [3.0, 2.0, 1.0]


def test_an_error_answer_ends_the_conversation_and_later_bytes_are_not_read() -> None:
    conversation, _, load = started()
    error = frame(b"E", {"nonce": load["nonce"], "kind": "syntax", "message": "bad"})
    assert conversation.feed(error + b"garbage after the error") == []
    assert conversation.phase is Phase.FAILED
    assert conversation.error == {"kind": "syntax", "message": "bad"}


def test_floating_point_counts_are_validated() -> None:
    good = {"overflow": 2, "invalid": 0, "divide": 1, "first_epoch": 4}
    assert fp_events(good, curve_points=10) == good
    assert fp_events(good, curve_points=3)["first_epoch"] is None  # beyond the curve
    assert fp_events({**good, "overflow": -1}, curve_points=10) == {}
    assert fp_events({**good, "invalid": True}, curve_points=10) == {}
    assert fp_events("lots", curve_points=10) == {}


def test_hyperparameters_keep_only_what_the_contract_allows() -> None:
    assert hyperparameters({"lr": 0.1, "epochs": 50, "adam": True, "opt": "sgd"}) == (
        {"lr": 0.1, "epochs": 50, "adam": True, "opt": "sgd"},
        None,
    )
    assert hyperparameters(None) == ({}, None)
    assert (
        hyperparameters({"lr": float("nan")})[1] == "hyperparameters_['lr'] is not a finite number"
    )
    assert hyperparameters({"": 1})[1].startswith("hyperparameters_ keys")
    assert hyperparameters([1])[1] == "hyperparameters_ must be a dict"


def _to(conversation: Conversation, load: dict, phase: Phase) -> str:
    """Answer commands until `phase`; its command's nonce."""
    nonce = load["nonce"]
    while conversation.phase is not phase:
        [nxt] = conversation.feed(frame(b"D", {"nonce": nonce}))
        nonce = command(nxt)["nonce"]
    return nonce


def test_training_rows_predictions_come_with_the_report_only() -> None:
    """The predictions for training rows (the training-loss measurement) are taken in the
    report phase, under their own names; test-row names there, or training names in
    predict, are protocol errors."""
    conversation, _, load = started()
    nonce = _to(conversation, load, Phase.PREDICTING)
    with pytest.raises(ProtocolError, match="unexpected array 'train_predictions'"):
        conversation.feed(frame(b"A", {"nonce": nonce, "name": "train_predictions"}, b"\n"))

    conversation, _, load = started()
    nonce = _to(conversation, load, Phase.REPORTING)
    conversation.feed(frame(b"A", {"nonce": nonce, "name": "train_proba"}, b"\n"))
    assert "train_proba" in conversation.arrays
    with pytest.raises(ProtocolError, match="unexpected array 'predictions'"):
        conversation.feed(frame(b"A", {"nonce": nonce, "name": "predictions"}, b"\n"))


def test_determinant_counts_are_validated() -> None:
    assert determinants({"11": 12, "3": 0}) == {11: 12}
    assert determinants({"11": -1}) == {}
    assert determinants({"eleven": 12}) == {}
    assert determinants({"11": True}) == {}
    assert determinants([11, 12]) == {}
    assert determinants({str(n): 1 for n in range(100)}) == {}
