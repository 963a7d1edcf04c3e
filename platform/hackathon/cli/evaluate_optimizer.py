"""`hackathon evaluate` on an optimizer-track challenge: the platform's own driver, locally.

The training pool (train.npz or train.csv, read by the platform's own parsers) and the public
instances' seeds (challenge.json in the starter kit, or the API) give exactly the instances
the platform builds for its public-kit evaluation (`hackathon.challenges.optimizer`,
`public_kit=True`); `grader.optimizer_track.grade_optimizer` runs the solution on them in the
same sandbox, so the score printed is the one the platform computes on those instances.
The hidden instances use a seed only the platform knows.
"""

from __future__ import annotations

import json
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from hackathon.cli import render
from hackathon.cli.remote import CliError
from hackathon.cli.training_data import load_dataset


def optimizer_job(setup: Any, source: str, workdir: Path) -> Any:
    """The OptimizerJob of the public instances, over `.npy` files written to `workdir`."""
    # Lazy: the grader loads only for the commands that grade (fast start for the others).
    from grader.contract import DEFAULT_ALLOWED_IMPORTS, Limits
    from grader.optimizer_track import OptimizerJob
    from grader.workloads import Workload, WorkloadError

    if not setup.workload or not setup.public_seeds:
        raise CliError(
            "This optimizer-track challenge's workload or public seeds are missing: use "
            "--challenge SLUG, or --data train.csv next to the starter kit's challenge.json."
        )
    try:
        workload = Workload.from_dict(setup.workload)
    except WorkloadError as exc:
        raise CliError(
            f"This challenge's workload cannot be run ({exc}): fetch the starter kit again, "
            "or use --challenge SLUG."
        ) from None
    dataset = load_dataset(setup)
    np.save(workdir / "train_X.npy", dataset.X, allow_pickle=False)
    np.save(workdir / "train_y.npy", dataset.y, allow_pickle=False)
    seeds = tuple(int(s) for s in setup.public_seeds)
    return OptimizerJob(
        source=source,
        task=setup.task,
        workload=workload,
        train_X=workdir / "train_X.npy",
        train_y=workdir / "train_y.npy",
        seeds=seeds,
        public_count=len(seeds),
        n_classes=dataset.n_classes,
        allowed_imports=setup.allowed_imports or DEFAULT_ALLOWED_IMPORTS,
        seed=setup.seed,
        limits=Limits(time_s=setup.time_limit_s, memory_mb=setup.memory_mb),
    )


def evaluate_optimizer(setup: Any, source: str, *, progress_out: TextIO | None = None) -> Any:
    """Grade `source` on the public instances; returns the GradingResult."""
    # Lazy: the grader loads only for the commands that grade (fast start for the others).
    import grader
    from grader.optimizer_track import grade_optimizer

    def progress(event: dict) -> None:
        if progress_out is None:
            return
        curve = [v for v in event.get("loss_curve") or [] if v is not None]
        tail = f", loss {render.score(curve[-1])} {render.sparkline(curve, 30)}" if curve else ""
        progress_out.write(
            f"\r  instance {event['instance'] + 1}/{event['instances']}: step "
            f"{event.get('steps', '-')}, {event.get('examples', '-')}/{event['budget']} "
            f"examples{tail}   "
        )
        progress_out.flush()

    with tempfile.TemporaryDirectory(prefix="hackathon-evaluate-") as tmp:
        job = optimizer_job(setup, source, Path(tmp))
        try:
            result = grade_optimizer(job, progress=progress)
        except grader.InternalError as exc:
            raise CliError(
                f"The grader could not run here: {exc}. Evaluating your own code on your own "
                "machine, GRADER_INSECURE_NO_SANDBOX=1 runs it without the sandbox."
            ) from None
    if progress_out is not None:
        progress_out.write("\r" + " " * 79 + "\r")
        progress_out.flush()
    return result


def print_optimizer_result(result: Any, setup: Any, out: TextIO) -> None:
    label = getattr(result.verdict, "label", str(result.verdict))
    print(
        f"Evaluated on {len(setup.public_seeds)} public instances of {setup.data_name} "
        f"(the starter kit's seeds; {setup.metric}, lower is better).",
        file=out,
    )
    print(f"  verdict:  {label}", file=out)
    if result.message:
        print(f"  message:  {render.terminal_text(result.message)}", file=out)
    if result.public_score is not None:
        ci = ""
        if result.public_ci:
            ci = f"  (95% CI {render.score(result.public_ci[0])} .. {render.score(result.public_ci[1])})"
        print(
            f"  {setup.metric} (mean of the instances): {render.score(result.public_score)}{ci}",
            file=out,
        )
    for inst in result.instances:
        curve = [v for v in inst["train"]["loss"] if v is not None]
        print(
            f"  instance {inst['index'] + 1}: score {render.score(inst['score'])}, "
            f"{inst['steps']} steps, {inst['examples']}/{inst['budget']} examples, "
            f"ended: {inst['ended']}",
            file=out,
        )
        if curve:
            print(f"    training loss {render.sparkline(curve)}", file=out)
        for diag in inst["diagnostics"]:
            print(f"    ! {diag['title']}: {diag['detail']}", file=out)
    print(
        f"  {render.seconds(result.fit_seconds)} in all, peak memory "
        f"{render.megabytes(result.peak_memory_mb)}, sandbox {result.sandbox_level or '-'}",
        file=out,
    )
    for stream in ("stdout", "stderr"):
        text = (getattr(result, stream) or "").rstrip()
        if text:
            lines = text.splitlines()
            print(f"  {stream} (last {min(len(lines), 20)} of {len(lines)} lines):", file=out)
            for line in lines[-20:]:
                print(f"    {render.terminal_text(line)}", file=out)


def run_optimizer_evaluation(
    setup: Any, source: str, *, as_json: bool, progress_out: TextIO | None
) -> int:
    result = evaluate_optimizer(setup, source, progress_out=progress_out)
    if as_json:
        data = asdict(result)
        data["verdict"] = str(result.verdict)
        data["metric"] = setup.metric
        data["public_seeds"] = list(setup.public_seeds)
        print(json.dumps(data, indent=2, default=str))
    else:
        print_optimizer_result(result, setup, sys.stdout)
    return 0 if str(result.verdict) == "scored" else 1
