"""Bad command-line values are refused in one line before any work starts."""

from __future__ import annotations

from pathlib import Path

import pytest
from hackathon.cli import evaluate
from hackathon.cli.config import config_save
from hackathon.cli.main import main

SOLUTION = "class Model:\n    def fit(self, X, y):\n        return self\n"


@pytest.fixture(autouse=True)
def isolated_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv("HACKATHON_URL", raising=False)
    monkeypatch.delenv("HACKATHON_TOKEN", raising=False)
    return tmp_path


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    solution = tmp_path / "solution.py"
    solution.write_text(SOLUTION)
    data = tmp_path / "train.csv"
    data.write_text("a,b,y\n1,2,3\n4,5,6\n")
    return solution, data


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--seed", "-1", "argument --seed: must be between 0 and 4294967295"),
        ("--seed", "99999999999", "argument --seed: must be between 0 and 4294967295"),
        ("--seed", "abc", "argument --seed: must be a whole number"),
        (
            "--validation-fraction",
            "nan",
            "argument --validation-fraction: must be a number between 0 and 1",
        ),
        (
            "--validation-fraction",
            "0",
            "argument --validation-fraction: must be a number between 0 and 1",
        ),
        (
            "--validation-fraction",
            "1.5",
            "argument --validation-fraction: must be a number between 0 and 1",
        ),
        (
            "--public-fraction",
            "inf",
            "argument --public-fraction: must be a number between 0 and 1",
        ),
        ("--time-limit", "-3", "argument --time-limit: must be a positive number"),
        ("--memory-mb", "0", "argument --memory-mb: must be a positive whole number"),
    ],
)
def test_an_out_of_range_evaluate_option_is_a_one_line_usage_error(
    files: tuple[Path, Path],
    capsys: pytest.CaptureFixture[str],
    option: str,
    value: str,
    message: str,
) -> None:
    solution, data = files
    with pytest.raises(SystemExit) as exit_info:
        main(["evaluate", str(solution), "--data", str(data), f"{option}={value}"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


def test_an_explicit_validation_fraction_is_kept_not_replaced_by_the_default(
    files: tuple[Path, Path],
) -> None:
    solution, data = files
    args = evaluate_args(solution, data, "--validation-fraction", "0.25", "--seed", "0")
    setup = evaluate.setup_from_args(args)
    assert setup.validation_fraction == 0.25
    assert setup.seed == 0


def evaluate_args(solution: Path, data: Path, *extra: str) -> object:
    from hackathon.cli.main import build_parser

    return build_parser().parse_args(["evaluate", str(solution), "--data", str(data), *extra])


def test_submitting_a_directory_says_it_is_a_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config_save(url="http://127.0.0.1:1", token="hk_x")
    assert main(["submit", "some-challenge", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert f"{tmp_path} is a directory, not a file" in err
    assert "File not found" not in err


def test_evaluating_against_dev_null_says_it_is_not_a_regular_file(
    files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    solution, _ = files
    assert main(["evaluate", str(solution), "--data", "/dev/null"]) == 1
    err = capsys.readouterr().err
    assert "/dev/null is not a regular file" in err


def test_an_empty_solution_file_is_named_as_empty(
    files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    solution, data = files
    solution.write_text("")
    assert main(["evaluate", str(solution), "--data", str(data)]) == 1
    assert f"{solution} is empty" in capsys.readouterr().err
