"""`hackathon evaluate`: grade a solution locally, offline, with the platform's own grader.

The public training CSV is split into training and held-out validation rows by the same
function (and seed) the platform uses to split a challenge's data, then `grader.grade` runs
the solution in the same sandbox and scores it with the same metric code. Given the same
data, seed and fractions, the score is exactly the one the platform computes.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TextIO

from hackathon.cli import render
from hackathon.cli.remote import (
    API,
    CliError,
    check_readable_file,
    client_from_config,
    reports_errors,
)
from hackathon.cli.training_data import csv_text, load_dataset

DEFAULT_SEED = 42
DEFAULT_VALIDATION_FRACTION = 0.3
DEFAULT_PUBLIC_FRACTION = 0.5
TASKS = ("regression", "binary", "multiclass")
METRICS = ("rmse", "mae", "r2", "accuracy", "f1_macro", "log_loss", "roc_auc")


@dataclass(frozen=True)
class EvaluationSetup:
    """What to grade against: the data and every parameter that decides the score."""

    data_bytes: bytes  # train.npz, train.csv.gz or train.csv, as its name says
    data_name: str
    target: str
    task: str
    metric: str
    extra_metrics: tuple[str, ...]
    seed: int
    validation_fraction: float
    public_fraction: float
    time_limit_s: float
    memory_mb: int
    allowed_imports: tuple[str, ...] | None
    gradient_descent_only: bool = False
    min_loss_curve_points: int = 0
    # Optimizer track: the workload and the public instances' seeds (from the kit or the API).
    track: str = "model"
    workload: dict[str, Any] | None = None
    public_seeds: tuple[int, ...] = ()


def infer_task(csv_bytes: bytes, target: str) -> str:
    """regression unless the target holds a few integer values (then binary or multiclass)."""
    import csv
    import io

    reader = csv.reader(io.StringIO(csv_bytes.decode("utf-8-sig")))
    header = [h.strip() for h in next(reader, [])]
    if target not in header:
        raise CliError(f"Target column {target!r} not found; columns are {', '.join(header)}.")
    column = header.index(target)
    values: set[float] = set()
    for row in reader:
        if len(row) > column and row[column].strip():
            try:
                value = float(row[column])
            except ValueError:
                raise CliError(f"Target {target!r} has a non-number: {row[column]!r}.") from None
            if not value.is_integer():
                return "regression"
            values.add(value)
            if len(values) > 50:
                return "regression"
    if len(values) == 2:
        return "binary"
    return "multiclass" if len(values) > 2 else "regression"


def split_arrays(setup: EvaluationSetup) -> Any:
    """The training/validation split, computed by the platform's own split function."""
    # Lazy: the platform's data module (numpy, scipy) loads only when data is read.
    from hackathon.challenges.data import make_split
    from hackathon.challenges.errors import ChallengeDataError

    dataset = load_dataset(setup)
    try:
        return dataset, make_split(
            dataset,
            test_fraction=setup.validation_fraction,
            public_fraction=setup.public_fraction,
            seed=setup.seed,
            file=setup.data_name,
        )
    except ChallengeDataError as exc:
        raise CliError(str(exc)) from None


def build_job(setup: EvaluationSetup, source: str, workdir: Path) -> tuple[Any, dict[str, int]]:
    """A GradingJob over `.npy` files written to `workdir`, as the worker builds one."""
    import numpy as np  # on use: `hackathon --help` and the API commands do not load numpy

    # Lazy: the grader loads only for the commands that grade (fast start for the others).
    from grader.contract import DEFAULT_ALLOWED_IMPORTS, GradingJob, Limits

    dataset, split = split_arrays(setup)
    paths = {}
    for key in ("train_X", "train_y", "test_X", "test_y", "public_mask"):
        path = workdir / f"{key}.npy"
        np.save(path, np.ascontiguousarray(getattr(split, key)), allow_pickle=False)
        paths[key] = path
    job = GradingJob(
        source=source,
        task=setup.task,
        metric=setup.metric,
        n_classes=dataset.n_classes,
        extra_metrics=setup.extra_metrics,
        allowed_imports=setup.allowed_imports or DEFAULT_ALLOWED_IMPORTS,
        seed=setup.seed,
        limits=Limits(time_s=setup.time_limit_s, memory_mb=setup.memory_mb),
        gradient_descent_only=setup.gradient_descent_only,
        min_loss_curve_points=setup.min_loss_curve_points if setup.gradient_descent_only else 0,
        **paths,
    )
    sizes = {
        "train": len(split.train_y),
        "validation": len(split.test_y),
        "public": int(split.public_mask.sum()),
    }
    return job, sizes


def evaluate(
    setup: EvaluationSetup, source: str, *, progress_out: TextIO | None = None
) -> tuple[Any, dict[str, int]]:
    """Grade `source` on the held-out split; returns the GradingResult and the row counts."""
    import grader  # the grader's import is this command's cost: not paid by `hackathon --help`

    # Lazy: the grader loads only for the commands that grade (fast start for the others).
    from grader import grading

    def progress(curve: list[float]) -> None:
        if progress_out is not None and curve:
            progress_out.write(
                f"\r  training... {len(curve)} steps, loss {render.score(curve[-1])} "
                f"{render.sparkline(curve, 30)}   "
            )
            progress_out.flush()

    on_progress = progress if progress_out is not None else None
    with tempfile.TemporaryDirectory(prefix="hackathon-evaluate-") as tmp:
        job, sizes = build_job(setup, source, Path(tmp))
        try:
            try:
                result = grader.grade(job, progress=on_progress)
            except grader.InternalError as exc:
                if isinstance(exc, grader.ConfigError):
                    raise  # a setting to fix, not a machine without a sandbox
                level, detail = grader.selftest()
                if str(level) != "degraded":
                    raise
                # No sandbox can start here: this is the participant's own code on their own
                # machine, so it runs without one (the same harness, scoring and diagnostics).
                grading.run_without_sandbox()
                sys.stderr.write(
                    "No usable sandbox on this machine "
                    f"({render.terminal_text(_first_line(detail or str(exc)))}): running your "
                    "code without one; verdict, score and diagnostics are computed as the "
                    "platform does.\n"
                )
                result = grader.grade(job, progress=on_progress)
        except grader.ConfigError as exc:
            raise CliError(f"The grader's configuration cannot work here: {exc}") from None
        except grader.InternalError as exc:
            raise CliError(f"The grader could not run here: {exc}") from None
    if progress_out is not None:
        progress_out.write("\r" + " " * 79 + "\r")
        progress_out.flush()
    return result, sizes


def _first_line(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else "unknown reason"
    return line if len(line) <= 160 else line[:157] + "..."


def result_as_dict(result: Any, setup: EvaluationSetup, sizes: dict[str, int]) -> dict[str, Any]:
    data = asdict(result)
    data["verdict"] = str(result.verdict)
    data["metric"] = setup.metric
    data["task"] = setup.task
    data["seed"] = setup.seed
    data["validation_fraction"] = setup.validation_fraction
    data["public_fraction"] = setup.public_fraction
    data["rows"] = sizes
    return data


def print_result(result: Any, setup: EvaluationSetup, sizes: dict[str, int], out: TextIO) -> None:
    verdict = result.verdict
    label = getattr(verdict, "label", str(verdict))
    print(
        f"Evaluated on {sizes['validation']} held-out rows of {setup.data_name} "
        f"(trained on {sizes['train']}; seed {setup.seed}, validation fraction "
        f"{setup.validation_fraction}).",
        file=out,
    )
    print(f"  verdict:  {label}", file=out)
    if result.message:
        print(f"  message:  {result.message}", file=out)
    if result.public_score is not None:
        ci = ""
        if result.public_ci:
            ci = f"  (95% CI {render.score(result.public_ci[0])} .. {render.score(result.public_ci[1])})"
        print(
            f"  {setup.metric} (validation, public part, {sizes['public']} rows): "
            f"{render.score(result.public_score)}{ci}",
            file=out,
        )
    if result.private_score is not None:
        print(
            f"  {setup.metric} (validation, private part, {sizes['validation'] - sizes['public']} rows): "
            f"{render.score(result.private_score)}",
            file=out,
        )
    for name, value in (result.extra_scores or {}).items():
        print(f"  {name}: {render.score(value)}", file=out)
    print(
        f"  fit {render.seconds(result.fit_seconds)}, predict {render.seconds(result.predict_seconds)}, "
        f"peak memory {render.megabytes(result.peak_memory_mb)}, sandbox {result.sandbox_level or '-'}",
        file=out,
    )
    curve = [v for v in result.loss_curve or [] if isinstance(v, int | float) and math.isfinite(v)]
    if curve:
        print(
            f"  loss curve ({len(curve)} points, {render.score(curve[0])} -> {render.score(curve[-1])}):",
            file=out,
        )
        print(f"    {render.sparkline(curve)}", file=out)
    for diag in result.diagnostics or []:
        print(f"  ! {diag.get('title')}: {diag.get('detail')}", file=out)
    for stream in ("stdout", "stderr"):
        text = (getattr(result, stream) or "").rstrip()
        if text:
            lines = text.splitlines()
            print(f"  {stream} (last {min(len(lines), 20)} of {len(lines)} lines):", file=out)
            for line in lines[-20:]:
                print(f"    {line}", file=out)


def _npz_task(data: bytes, name: str) -> str:
    import io

    import numpy as np  # on use (see build_job)

    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            y = npz["y"]
    except (ValueError, OSError, KeyError, EOFError) as exc:
        raise CliError(f"{name} is not an .npz with arrays X and y ({exc}).") from None
    values = np.unique(y)
    if y.dtype.kind == "f" and (len(values) > 50 or not np.all(values == np.round(values))):
        return "regression"
    return "binary" if len(values) == 2 else "multiclass" if len(values) > 2 else "regression"


def data_cache_dir() -> Path:
    """Where `--challenge` keeps training data, by challenge and data version."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "hackathon" / "data"


def cached_training_data(client: Any, challenge: dict[str, Any]) -> bytes:
    """The challenge's train.npz, downloaded once per data version (the API names it)."""
    version = str(challenge.get("training_data_version") or "")
    slug = str(challenge["slug"])
    folder = data_cache_dir()
    path = folder / f"{slug}-{version}.npz"
    if version and path.is_file():
        return path.read_bytes()
    data = client.download(challenge["links"]["training_npz"])
    if version:
        try:
            folder.mkdir(parents=True, exist_ok=True)
            for old in folder.glob(f"{slug}-*.npz"):
                old.unlink(missing_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.part")
            tmp.write_bytes(data)
            os.replace(tmp, path)
        except OSError as exc:  # a read-only home: grade anyway, download again next time
            sys.stderr.write(f"(could not cache the data in {folder}: {exc.strerror})\n")
    return data


def _read_manifest(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CliError(f"Cannot read {path}: {exc}") from None
    return data if isinstance(data, dict) else {}


def _given(value: float | None, default: float) -> float:
    # `value or default` would turn an explicit 0 into the default.
    return default if value is None else value


def setup_from_args(args: argparse.Namespace) -> EvaluationSetup:
    """What to grade on: a local data file (`--data`, with the starter kit's challenge.json
    beside it when there is one) or the challenge's training data from the server."""
    return _setup_from_file(args) if args.data else _setup_from_server(args)


def _setup_from_file(args: argparse.Namespace) -> EvaluationSetup:
    path = Path(args.data)
    check_readable_file(path)
    data = path.read_bytes()
    if not data.strip():
        raise CliError(f"{path} is empty.")
    # The starter kit puts the challenge's settings next to the data.
    manifest = _read_manifest(path.parent / "challenge.json")
    if path.name.endswith(".npz"):
        target = args.target or manifest.get("target_name") or "target"
        task = args.task or manifest.get("task") or _npz_task(data, path.name)
    else:
        csv_bytes = csv_text(data, path.name)
        header = csv_bytes.decode("utf-8-sig", errors="replace").splitlines()[0].split(",")
        target = args.target or manifest.get("target_name") or header[-1].strip()
        task = args.task or manifest.get("task") or infer_task(csv_bytes, target)
    metric = (
        args.metric or manifest.get("metric") or ("rmse" if task == "regression" else "accuracy")
    )
    return EvaluationSetup(
        data_bytes=data,
        data_name=path.name,
        target=target,
        task=task,
        metric=metric,
        extra_metrics=tuple(manifest.get("extra_metrics") or ()),
        seed=DEFAULT_SEED if args.seed is None else args.seed,
        validation_fraction=_given(args.validation_fraction, DEFAULT_VALIDATION_FRACTION),
        public_fraction=_given(args.public_fraction, DEFAULT_PUBLIC_FRACTION),
        time_limit_s=args.time_limit or manifest.get("time_limit_s") or 60.0,
        memory_mb=args.memory_mb or manifest.get("memory_mb") or 1024,
        allowed_imports=tuple(manifest.get("allowed_imports") or ()) or None,
        gradient_descent_only=bool(manifest.get("gradient_descent_only")),
        min_loss_curve_points=int(manifest.get("min_loss_curve_points") or 0),
        track=manifest.get("track") or "model",
        workload=manifest.get("workload"),
        public_seeds=tuple(manifest.get("public_seeds") or ()),
    )


def _setup_from_server(args: argparse.Namespace) -> EvaluationSetup:
    client = client_from_config()
    challenge = client.get(f"{API}/challenges/{args.challenge}/")
    limits = challenge.get("limits") or {}
    return EvaluationSetup(
        data_bytes=cached_training_data(client, challenge),
        data_name=f"{challenge['slug']}-train.npz",
        target=args.target or challenge.get("target_name") or "target",
        task=args.task or challenge["task"],
        metric=args.metric or challenge["metric"],
        extra_metrics=tuple(challenge.get("extra_metrics") or ()),
        seed=DEFAULT_SEED if args.seed is None else args.seed,
        validation_fraction=_given(
            args.validation_fraction,
            challenge.get("test_fraction") or DEFAULT_VALIDATION_FRACTION,
        ),
        public_fraction=_given(
            args.public_fraction, challenge.get("public_fraction") or DEFAULT_PUBLIC_FRACTION
        ),
        time_limit_s=args.time_limit or limits.get("time_limit_s") or 10.0,
        memory_mb=args.memory_mb or limits.get("memory_mb") or 256,
        allowed_imports=tuple(challenge.get("allowed_imports") or ()) or None,
        gradient_descent_only=bool(challenge.get("gradient_descent_only")),
        min_loss_curve_points=int(challenge.get("min_loss_curve_points") or 0),
        track=challenge.get("track") or "model",
        workload=challenge.get("workload") or None,
        public_seeds=tuple(challenge.get("public_seeds") or ()),
    )


def solution_source(text: str, filename: str, setup: EvaluationSetup, notes_out: TextIO) -> str:
    """The solution to grade: a notebook's code cells (what was left out is listed), then the
    platform's upload pre-check, so that what the server would refuse is refused here too."""
    # Lazy: the grader loads only for the commands that grade (fast start for the others).
    from grader.contract import DEFAULT_ALLOWED_IMPORTS
    from grader.notebook import NotebookError, convert, is_notebook
    from grader.precheck import precheck
    from grader.scoring import METRICS

    allowed = setup.allowed_imports or DEFAULT_ALLOWED_IMPORTS
    if is_notebook(filename):
        try:
            converted = convert(text, allowed)
        except NotebookError as exc:
            raise CliError(f"{filename}: {exc}.") from None
        notes_out.write(f"{filename}: its code cells, in order, are the solution.\n")
        for note in converted.notes:
            notes_out.write(f"  - {render.terminal_text(note)}\n")
        text = converted.source
    metrics = (setup.metric, *setup.extra_metrics)
    proba_metric = next((m for m in metrics if m in METRICS and METRICS[m].needs_proba), None)
    checked = precheck(
        text,
        allowed,
        proba_metric=proba_metric,
        task=setup.task,
        gradient_descent_only=setup.gradient_descent_only,
        track=setup.track,
    )
    if not checked.ok:
        raise CliError(f"{filename} would be refused at upload: {checked.message}")
    return text


@reports_errors
def cmd_evaluate(args: argparse.Namespace) -> int:
    solution = Path(args.file)
    check_readable_file(solution)
    if bool(args.challenge) == bool(args.data):
        raise CliError("Give exactly one of --challenge SLUG or --data train.csv.")
    try:
        source = solution.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise CliError(f"{solution} is not UTF-8 text.") from None
    setup = setup_from_args(args)
    source = solution_source(source, solution.name, setup, sys.stderr)
    progress_out = sys.stderr if sys.stderr.isatty() and not args.json else None
    if setup.track == "optimizer":
        # Lazy: the optimizer track's module only for optimizer challenges.
        from hackathon.cli.evaluate_optimizer import run_optimizer_evaluation

        return run_optimizer_evaluation(setup, source, as_json=args.json, progress_out=progress_out)
    result, sizes = evaluate(setup, source, progress_out=progress_out)
    if args.json:
        print(json.dumps(result_as_dict(result, setup, sizes), indent=2, default=str))
    else:
        print_result(result, setup, sizes, sys.stdout)
    return 0 if str(result.verdict) == "scored" else 1


MAX_SEED = 2**32 - 1  # numpy's legacy seeding, used by the harness, takes 0..2**32-1


def seed_value(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, not {text!r}") from None
    if not 0 <= value <= MAX_SEED:
        raise argparse.ArgumentTypeError(f"must be between 0 and {MAX_SEED}, not {value}")
    return value


def fraction_value(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 < value < 1:  # also false for nan
        raise argparse.ArgumentTypeError(
            f"must be a number between 0 and 1 (both excluded), not {text!r}"
        )
    return value


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 < value < math.inf:
        raise argparse.ArgumentTypeError(f"must be a positive number, not {text!r}")
    return value


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive whole number, not {text!r}")
    return value


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "evaluate",
        help="grade a solution locally on the public training data (no quota used)",
    )
    p.add_argument("file", help="your solution.py, or a notebook (.ipynb)")
    source = p.add_argument_group("data (one of)")
    source.add_argument(
        "--challenge",
        metavar="SLUG",
        help="the challenge's training data, downloaded once (kept in ~/.cache/hackathon)",
    )
    source.add_argument(
        "--data",
        metavar="FILE",
        help="the kit's train.npz or train.csv.gz, or any CSV (header row, numbers only)",
    )
    p.add_argument("--target", help="the target column (default: the challenge's, or the last)")
    p.add_argument("--task", choices=TASKS, help="default: the challenge's, or inferred")
    p.add_argument("--metric", choices=METRICS, help="default: the challenge's, or rmse/accuracy")
    p.add_argument("--seed", type=seed_value, help="split seed (default 42)")
    p.add_argument(
        "--validation-fraction", type=fraction_value, help="held-out share (default 0.3)"
    )
    p.add_argument(
        "--public-fraction", type=fraction_value, help="share of held-out rows scored as public"
    )
    p.add_argument("--time-limit", type=positive_float, help="seconds (default: the challenge's)")
    p.add_argument("--memory-mb", type=positive_int, help="memory limit (default: the challenge's)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=cmd_evaluate)
