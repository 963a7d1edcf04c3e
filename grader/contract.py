"""What goes into a grading run and what comes out of it.

The platform (Celery worker) and the participant CLI (`hackathon evaluate`) both build a
`GradingJob`, call `grader.grade(job)`, and get a `GradingResult`. Nothing here imports
Django; paths point at `.npy` files the caller has prepared.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from pathlib import Path

# Modules a solution may import when the challenge does not say otherwise: numpy and pure
# standard-library helpers.
DEFAULT_ALLOWED_IMPORTS: tuple[str, ...] = (
    "numpy",
    "math",
    "random",
    "itertools",
    "functools",
    "collections",
    "dataclasses",
    "typing",
    "time",
    "statistics",
    "heapq",
    "bisect",
    "copy",
    "operator",
    "warnings",
    "abc",
    "enum",
    "__future__",
)

SOLUTION_MAX_BYTES = 1024 * 1024

# Under a challenge's gradient-descent-only rule the solution may not call these (by any
# route): numpy's closed-form solvers and decompositions. Products, norms, determinants and
# the like stay allowed. One list, read by the upload pre-check and by the sandbox.
CLOSED_FORM_FUNCTIONS: tuple[str, ...] = (
    "numpy.linalg.solve",
    "numpy.linalg.lstsq",
    "numpy.linalg.inv",
    "numpy.linalg.pinv",
    "numpy.linalg.tensorsolve",
    "numpy.linalg.tensorinv",
    "numpy.linalg.qr",
    "numpy.linalg.svd",
    "numpy.linalg.svdvals",
    "numpy.linalg.eig",
    "numpy.linalg.eigh",
    "numpy.linalg.eigvals",
    "numpy.linalg.eigvalsh",
    "numpy.linalg.cholesky",
    "numpy.polyfit",
    "numpy.polynomial",
)


class Verdict(enum.StrEnum):
    SCORED = "scored"
    SYNTAX_ERROR = "syntax_error"
    FORBIDDEN_IMPORT = "forbidden_import"
    RUNTIME_ERROR = "runtime_error"
    TIME_LIMIT = "time_limit"
    MEMORY_LIMIT = "memory_limit"
    OUTPUT_LIMIT = "output_limit"
    INVALID_PREDICTIONS = "invalid_predictions"
    RULE_VIOLATION = "rule_violation"
    INVALID_STEP = "invalid_step"  # optimizer track: a step the platform cannot accept
    INTERNAL_ERROR = "internal_error"

    @property
    def label(self) -> str:
        return _LABELS[self]

    @property
    def is_participant_fault(self) -> bool:
        """Participant errors count toward quota; internal errors are refunded and retried."""
        return self not in (Verdict.SCORED, Verdict.INTERNAL_ERROR)


_LABELS = {
    Verdict.SCORED: "Scored",
    Verdict.SYNTAX_ERROR: "Syntax error",
    Verdict.FORBIDDEN_IMPORT: "Forbidden import",
    Verdict.RUNTIME_ERROR: "Runtime error",
    Verdict.TIME_LIMIT: "Time limit exceeded",
    Verdict.MEMORY_LIMIT: "Memory limit exceeded",
    Verdict.OUTPUT_LIMIT: "Output limit exceeded",
    Verdict.INVALID_PREDICTIONS: "Invalid predictions",
    Verdict.RULE_VIOLATION: "Rule violation",
    Verdict.INVALID_STEP: "Invalid optimizer step",
    Verdict.INTERNAL_ERROR: "Internal error",
}


class SandboxLevel(enum.StrEnum):
    STRONG = "strong"  # bwrap, unprivileged uid per slot, seccomp deny-list
    STANDARD = "standard"  # bwrap and rlimits
    DEGRADED = "degraded"  # no bwrap: not a security boundary

    @property
    def rank(self) -> int:
        return {"degraded": 0, "standard": 1, "strong": 2}[self.value]


@dataclass(frozen=True)
class Limits:
    time_s: float = 10.0  # wall clock for the whole run (fit + predict)
    memory_mb: int = 256  # address-space limit inside the sandbox
    output_bytes: int = 64 * 1024  # per stream (stdout, stderr)
    processes: int = 64
    open_files: int = 256
    file_size_mb: int = 64
    scratch_mb: int = 256  # size of the writable work dir and /tmp inside


@dataclass(frozen=True)
class GradingJob:
    """Everything needed to grade one solution. Hidden labels never enter the sandbox."""

    source: str  # solution.py text
    task: str  # "regression" | "binary" | "multiclass"
    metric: str  # rmse, mae, r2, accuracy, f1_macro, log_loss, roc_auc
    train_X: Path
    train_y: Path
    test_X: Path
    test_y: Path  # read on the trusted side only
    public_mask: Path  # bool array over test rows: True = public part
    n_classes: int | None = None
    extra_metrics: tuple[str, ...] = ()
    allowed_imports: tuple[str, ...] = DEFAULT_ALLOWED_IMPORTS
    seed: int = 42
    limits: Limits = field(default_factory=Limits)
    # The challenge's gradient-descent-only rule: CLOSED_FORM_FUNCTIONS are refused and the
    # model must keep a loss_curve_ of at least min_loss_curve_points finite values.
    gradient_descent_only: bool = False
    min_loss_curve_points: int = 0


@dataclass
class GradingResult:
    verdict: Verdict
    message: str = ""  # specific, human-readable (shown with the verdict)
    public_score: float | None = None
    private_score: float | None = None
    public_ci: tuple[float, float] | None = None  # bootstrap 95% CI over public rows
    extra_scores: dict[str, float] = field(default_factory=dict)  # e.g. {"accuracy": 0.97}
    fit_seconds: float | None = None
    predict_seconds: float | None = None
    peak_memory_mb: float | None = None
    stdout: str = ""
    stderr: str = ""
    loss_curve: list[float] = field(default_factory=list)
    diagnostics: list[dict] = field(default_factory=list)  # [{"code", "title", "detail"}]
    sandbox_level: str = ""
    wall_seconds: float | None = None
    # Measured by trusted code: CPU seconds of the whole sandbox (fit + predict).
    cpu_seconds: float | None = None
    # numpy floating-point events during fit: {"overflow": n, "invalid": n, "divide": n,
    # "first_epoch": int | None}.
    fp_events: dict = field(default_factory=dict)
    # What the solution declares (hyperparameters_), validated: str -> number/str/bool.
    hyperparameters: dict = field(default_factory=dict)
    # The final model's loss on training rows, measured by trusted code from its predictions
    # (grader/training_loss.py), on a challenge that asks for a loss curve; {} otherwise.
    training_loss: dict = field(default_factory=dict)
    # Determinants computed by the gradient-descent-only rule's numpy, {size: count}: reported
    # from inside the sandbox (a hint for the organizers' review, never a measurement).
    determinants: dict = field(default_factory=dict)
    # Optimizer track: one dict per instance run, measured by the trusted driver (score,
    # examples, steps, how it ended, training and validation curves, diagnostics).
    instances: list[dict] = field(default_factory=list)
