"""Grade the optimizer-track built-ins' starters, baselines and known attacks through the sandbox.

    .venv/bin/python benchmarks/optimizer_challenges.py [--installations N] [--secret TEXT]
                                                        [--solutions NAME,...] [SLUG ...]

For each installation (N random data secrets, or --secret) each bundle's data and split are
built exactly as the platform builds them; six hidden instances are drawn from seeds derived
from that secret (three public, three private, as the platform grades); every solution runs
through `grader.optimizer_track.grade_optimizer` in the real sandbox. Solutions: the bundle's
starter and baseline, and the attacks in tests/optimizer/solutions/: finite-difference Newton,
a least-squares fit of mini-batch gradients (secant), Hessian-free Newton (conjugate gradients
on finite-difference Hessian-vector products), Hutchinson's diagonal with preconditioned
conjugate gradients, parameters fitted offline to the kit's pool and pasted in (hardcoded),
the same pasted parameters with their first layer turned to each angle of a grid and the
best one by the reported losses kept (hardcoded_aligned: undoes a two-input rotation), and
one-gradient linear conjugate gradients (a reference for the best a Krylov method does).
Prints one row per challenge and solution: public / private score ranges over the
installations (lower is better), verdicts, and seconds per grading; the load average before
and after.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import os
import secrets
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "platform"), str(ROOT)]

from hackathon.challenges.bundle import load_bundle_dir  # noqa: E402
from hackathon.challenges.data import build_split  # noqa: E402

from grader.contract import Limits  # noqa: E402
from grader.optimizer_track import OptimizerJob, grade_optimizer  # noqa: E402
from grader.workloads import Workload  # noqa: E402
from tests.optimizer.offline_fit import (  # noqa: E402
    SOLUTIONS,
    hardcoded_source,
    offline_parameters,
)

BUILTINS = ("valley-momentum", "noisy-logistic-sgd", "moons-mlp-adam")
ATTACKS = (
    "fd_newton", "secant_fit", "hessian_free", "hutchinson_pcg", "hardcoded",
    "hardcoded_aligned", "conjugate_gradients",
)  # fmt: skip
INSTANCES = 6


def hidden_seeds(secret: bytes, slug: str) -> tuple[int, ...]:
    """Six instance seeds from the installation's secret (the platform derives its own the
    same way from SECRET_KEY; these differ, and neither is known to a solution)."""
    return tuple(
        int.from_bytes(hmac.new(secret, f"{slug}:{i}".encode(), hashlib.sha256).digest()[:4])
        for i in range(INSTANCES)
    )


def grade(bundle: Path, secret: bytes, names: list[str]) -> dict[str, dict]:
    spec = load_bundle_dir(bundle)
    _, split = build_split(spec, origin=str(bundle), secret=secret)
    workload = Workload.from_dict(spec.workload)
    n_classes = None if spec.task == "regression" else int(split.train_y.max()) + 1
    sources = {"starter": spec.starter_code, "baseline": spec.baseline_code}
    for name in names:
        if name in ("hardcoded", "hardcoded_aligned"):
            theta = offline_parameters(
                workload, task=spec.task, n_classes=n_classes, pool_X=split.train_X,
                pool_y=split.train_y,
            )  # fmt: skip
            sources[name] = hardcoded_source(theta, name)
        else:
            sources[name] = (SOLUTIONS / f"{name}.py").read_text()
    out = {}
    with tempfile.TemporaryDirectory(prefix="optimizer-bench-") as tmp:
        paths = {}
        for key in ("train_X", "train_y", "test_X", "test_y", "public_mask"):
            paths[key] = Path(tmp) / f"{key}.npy"
            np.save(paths[key], getattr(split, key), allow_pickle=False)
        for name, source in sources.items():
            job = OptimizerJob(
                source=source, task=spec.task, workload=workload, seeds=hidden_seeds(secret, spec.slug),
                public_count=INSTANCES // 2, n_classes=n_classes, seed=spec.seed,
                limits=Limits(time_s=spec.time_limit_s, memory_mb=spec.memory_mb), **paths,
            )  # fmt: skip
            started = time.monotonic()
            result = grade_optimizer(job)
            out[name] = {
                "public": result.public_score,
                "private": result.private_score,
                "verdict": result.verdict.value,
                "seconds": time.monotonic() - started,
                "message": result.message,
            }
            print(
                f"  {spec.slug} {name}: {result.verdict.value} public {result.public_score} "
                f"private {result.private_score} ({out[name]['seconds']:.1f} s)",
                flush=True,
            )
    return out


def _span(values: list[float | None]) -> str:
    got = [v for v in values if v is not None]
    if not got:
        return "-"
    low, high = min(got), max(got)
    fmt = (lambda v: f"{v:,.0f}") if high >= 100 else (lambda v: f"{v:.4g}")
    return fmt(low) if low == high else f"{fmt(low)}-{fmt(high)}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("slugs", nargs="*", default=list(BUILTINS))
    parser.add_argument("--installations", type=int, default=2)
    parser.add_argument("--secret", default="")
    parser.add_argument("--solutions", default=",".join(ATTACKS))
    args = parser.parse_args()
    names = [n for n in args.solutions.split(",") if n]
    keys = (
        [args.secret.encode()]
        if args.secret
        else [secrets.token_hex(16).encode() for _ in range(args.installations)]
    )
    print(f"load average before: {os.getloadavg()[0]:.1f}", flush=True)
    rows = []
    for slug in args.slugs:
        runs = [grade(ROOT / "challenges" / slug, key, names) for key in keys]
        for name in runs[0]:
            got = [r[name] for r in runs]
            verdicts = sorted({g["verdict"] for g in got})
            rows.append((
                slug, name, _span([g["public"] for g in got]), _span([g["private"] for g in got]),
                ", ".join(verdicts), f"{np.mean([g['seconds'] for g in got]):.1f}",
            ))  # fmt: skip
    print(f"load average after: {os.getloadavg()[0]:.1f}")
    print(f"\n{len(keys)} installations, {INSTANCES} instances each (public / private part)\n")
    print("| challenge | solution | public | private | verdicts | s per grading |")
    print("|---|---|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
