"""Run every built-in challenge's starter and baseline for real and print their scores.

    .venv/bin/python benchmarks/challenges_reference.py [--grader] [SLUG ...]

Each solution runs in a fresh Python process (so peak memory is its own): the bundle's
data is built and split exactly as the platform does, the solution is trained on the
training rows and scored on the hidden public and private parts. With `--grader`, the
same runs also go through `grader.grade` (the sandbox the platform uses) when it exists.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "platform"), str(ROOT)]

from hackathon.challenges.bundle import load_bundle_dir  # noqa: E402
from hackathon.challenges.data import build_split  # noqa: E402

PROBA_METRICS = {"log_loss", "roc_auc"}


def score(metric: str, y, pred, proba) -> float:
    import numpy as np
    from sklearn import metrics

    if metric == "rmse":
        return float(np.sqrt(metrics.mean_squared_error(y, pred)))
    if metric == "mae":
        return float(metrics.mean_absolute_error(y, pred))
    if metric == "r2":
        return float(metrics.r2_score(y, pred))
    if metric == "accuracy":
        return float(metrics.accuracy_score(y, pred))
    if metric == "f1_macro":
        return float(metrics.f1_score(y, pred, average="macro"))
    if metric == "log_loss":
        return float(metrics.log_loss(y, proba, labels=list(range(proba.shape[1]))))
    if metric == "roc_auc":
        return float(metrics.roc_auc_score(y, proba[:, 1]))
    raise ValueError(metric)


def run_one(bundle: Path, which: str) -> dict:
    """Child process: train and score one solution in-process."""
    import random

    import numpy as np

    spec = load_bundle_dir(bundle)
    _, split = build_split(spec, origin=str(bundle))
    code = spec.starter_code if which == "starter" else spec.baseline_code
    module = types.ModuleType("solution")
    exec(compile(code, f"{bundle.name}/{which}/solution.py", "exec"), module.__dict__)  # noqa: S102
    random.seed(spec.seed)
    np.random.seed(spec.seed)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    model = module.Model()
    t0 = time.perf_counter()
    model.fit(split.train_X.copy(), split.train_y.copy())
    fit_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    pred = np.asarray(model.predict(split.test_X.copy()))
    metrics = [spec.metric, *spec.extra_metrics]
    proba = (
        np.asarray(model.predict_proba(split.test_X.copy()))
        if PROBA_METRICS & set(metrics)
        else None
    )
    predict_s = time.perf_counter() - t0
    mask = split.public_mask
    out = {
        "fit_s": fit_s,
        "predict_s": predict_s,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "data_mb": rss_before,
        "epochs": len(getattr(model, "loss_curve_", [])),
    }
    for m in metrics:
        if not np.all(np.isfinite(pred)) or (proba is not None and not np.all(np.isfinite(proba))):
            out[m] = {"public": float("nan"), "private": float("nan")}
            continue
        out[m] = {
            part: score(m, split.test_y[sel], pred[sel], None if proba is None else proba[sel])
            for part, sel in (("public", mask), ("private", ~mask))
        }
    return out


def run_graded(bundle: Path, which: str) -> dict | None:
    try:
        import grader
        from grader.contract import GradingJob, Limits
    except ImportError:
        return None
    if not hasattr(grader, "grade"):
        return None
    import numpy as np

    spec = load_bundle_dir(bundle)
    _, split = build_split(spec, origin=str(bundle))
    with tempfile.TemporaryDirectory() as tmp:
        paths = {}
        for key in split.KEYS:
            paths[key] = Path(tmp) / f"{key}.npy"
            np.save(paths[key], getattr(split, key), allow_pickle=False)
        job = GradingJob(
            source=spec.starter_code if which == "starter" else spec.baseline_code,
            task=spec.task,
            metric=spec.metric,
            n_classes=None if spec.task == "regression" else int(split.train_y.max()) + 1,
            extra_metrics=spec.extra_metrics,
            allowed_imports=spec.allowed_imports,
            seed=spec.seed,
            limits=Limits(time_s=spec.time_limit_s, memory_mb=spec.memory_mb),
            **paths,
        )
        t0 = time.perf_counter()
        result = grader.grade(job)
        return {
            "verdict": str(result.verdict),
            "message": result.message[:200],
            "public": result.public_score,
            "private": result.private_score,
            "extra": result.extra_scores,
            "fit_s": result.fit_seconds,
            "predict_s": result.predict_seconds,
            "peak_mb": result.peak_memory_mb,
            "wall_s": time.perf_counter() - t0,
            "sandbox": result.sandbox_level,
        }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("slugs", nargs="*")
    parser.add_argument("--grader", action="store_true", help="also grade through grader.grade")
    parser.add_argument("--child", nargs=2, metavar=("BUNDLE", "WHICH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_one(Path(args.child[0]), args.child[1])))
        return 0
    bundles = sorted(p.parent for p in (ROOT / "challenges").glob("*/challenge.toml"))
    if args.slugs:
        bundles = [b for b in bundles if b.name in args.slugs]
    print(
        f"{'challenge':26} {'solution':9} {'metric':9} {'public':>9} {'private':>9}  "
        f"{'fit s':>6} {'pred s':>6} {'peak MB':>7} {'epochs':>6}  extra (private)"
    )
    for bundle in bundles:
        spec = load_bundle_dir(bundle)
        for which in ("starter", "baseline"):
            proc = subprocess.run(  # noqa: S603 - the project's own harness
                [sys.executable, __file__, "--child", str(bundle), which],
                capture_output=True,
                text=True,
                check=False,
            )
            if proc.returncode:
                print(f"{bundle.name:26} {which:9} FAILED\n{proc.stderr[-2000:]}")
                continue
            r = json.loads(proc.stdout.strip().splitlines()[-1])
            main_score = r[spec.metric]
            extras = ", ".join(f"{m} {r[m]['private']:.4f}" for m in spec.extra_metrics)
            print(
                f"{bundle.name:26} {which:9} {spec.metric:9} {main_score['public']:9.4f} "
                f"{main_score['private']:9.4f}  {r['fit_s']:6.2f} {r['predict_s']:6.3f} "
                f"{r['peak_mb']:7.0f} {r['epochs']:6d}  {extras}",
                flush=True,
            )
            if args.grader:
                graded = run_graded(bundle, which)
                print(f"{'':26} {'(grader)':9} {json.dumps(graded)}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
