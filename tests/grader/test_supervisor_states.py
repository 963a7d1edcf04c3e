"""The supervisor's state machine, one handler at a time, around a plain child process (no
sandbox): which event moves it to which state, and what each leaves in the run."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import time

import pytest

from grader.contract import Limits
from grader.errors import InternalError
from grader.protocol import Phase
from grader.supervisor import STARTUP_TIMEOUT_S, RunState, Supervisor

HEADER = struct.Struct(">cI")


@pytest.fixture
def supervisor():
    proc = subprocess.Popen(  # a stand-in for bwrap: something to signal and reap
        ["sleep", "30"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, process_group=0
    )
    command_r, command_w = os.pipe()
    result_r, result_w = os.pipe()
    info_r, info_w = os.pipe()
    made = Supervisor(
        proc, command_w, result_r, info_r, Limits(time_s=2.0, output_bytes=1024),
        array_cap=4096, progress=None, started=time.monotonic(),
    )  # fmt: skip
    yield made, command_r
    if made.state is not RunState.KILLED:
        made.kill()
    made._reap()
    for fd in (command_r, result_r, result_w, info_r, info_w):
        os.close(fd)


def test_a_ready_answer_starts_the_participants_clock_and_sends_the_first_command(supervisor):
    sup, command_r = supervisor
    before = time.monotonic()
    sup.on_answer(HEADER.pack(b"R", 0))
    assert sup.conversation.phase is Phase.LOADING and sup.state is RunState.RUNNING
    assert before <= sup.deadline - 2.0 <= time.monotonic()
    kind, length = HEADER.unpack(os.read(command_r, HEADER.size))
    assert kind == b"C" and json.loads(os.read(command_r, length))["cmd"] == "load"


def test_no_ready_before_the_startup_deadline_is_an_internal_error(supervisor):
    sup, _ = supervisor
    with pytest.raises(InternalError, match="did not start"):
        sup.on_deadline(time.monotonic() + STARTUP_TIMEOUT_S + 1)
    assert sup.state is RunState.KILLED


def test_the_time_limit_after_ready_kills_and_says_so(supervisor):
    sup, _ = supervisor
    sup.on_answer(HEADER.pack(b"R", 0))
    sup.on_deadline(sup.deadline + 0.1)
    assert sup.state is RunState.KILLED and sup.run.timed_out
    assert sup.conversation.phase is Phase.FAILED  # nothing it sends later is read


def test_too_much_output_kills_naming_the_stream(supervisor):
    sup, _ = supervisor
    fd = next(fd for fd, s in sup.streams.items() if s.name == "stderr")
    sup.on_output(fd, b"x" * (1024 * 1024 + 1))
    assert sup.state is RunState.KILLED and sup.run.output_exceeded == "stderr"


def test_a_broken_answer_kills_as_a_protocol_error(supervisor):
    sup, _ = supervisor
    sup.on_answer(HEADER.pack(b"Z", 0))
    assert sup.state is RunState.KILLED
    assert "unknown message" in sup.run.protocol_error


def test_the_last_answer_closes_the_command_pipe_and_drains(supervisor):
    sup, command_r = supervisor
    sup.on_answer(HEADER.pack(b"R", 0))
    for _ in range(4):
        nonce = sup.conversation.nonce
        payload = json.dumps({"nonce": nonce}).encode()
        sup.on_answer(HEADER.pack(b"D", len(payload)) + payload)
    assert sup.conversation.phase is Phase.FINISHED
    assert sup.state is RunState.DRAINING and sup.command_w is None
    while os.read(command_r, 4096):  # the harness's end of the pipe reads end-of-file
        pass
