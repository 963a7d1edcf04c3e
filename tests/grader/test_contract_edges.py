"""Edges of the solution contract: Model() without arguments, odd loss curves (real sandbox)."""

from __future__ import annotations

import grader
from grader.contract import Verdict

from .conftest import LINEAR


def with_fit_line(line: str) -> str:
    return LINEAR.replace("        return self\n", f"        {line}\n        return self\n", 1)


def test_a_model_needing_init_arguments_is_told_to_give_them_defaults(make_job) -> None:
    source = LINEAR.replace(
        "class Model:\n", "class Model:\n    def __init__(self, lr):\n        self.lr = lr\n\n", 1
    )
    result = grader.grade(make_job(source))
    assert result.verdict is Verdict.RUNTIME_ERROR
    assert "missing 1 required positional argument: 'lr'" in result.message
    assert (
        "Model() is built without arguments: give every __init__ parameter a default"
        in result.message
    )


def test_loss_curve_points_that_are_not_numbers_are_skipped_not_the_whole_curve(
    make_job,
) -> None:
    result = grader.grade(
        make_job(with_fit_line('self.loss_curve_ = [3.0, "x", 2.0, None, np.float64(1.0)]'))
    )
    assert result.verdict is Verdict.SCORED, result.message
    assert result.loss_curve == [3.0, 2.0, 1.0]


def test_an_endless_generator_as_loss_curve_is_not_consumed(make_job) -> None:
    result = grader.grade(
        make_job(with_fit_line("self.loss_curve_ = (float(i) for i in iter(int, 1))"), time_s=20.0)
    )
    assert result.verdict is Verdict.SCORED, result.message
    assert result.loss_curve == []


def test_a_loss_curve_is_capped_at_100000_points(make_job) -> None:
    result = grader.grade(make_job(with_fit_line("self.loss_curve_ = [1.0] * 250_000")))
    assert result.verdict is Verdict.SCORED, result.message
    assert len(result.loss_curve) == 100_000
