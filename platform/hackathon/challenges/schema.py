"""THE challenge spec's schema: every field of challenge.toml with its type, default and
range, and the rules between fields, in one place.

Every route reads a spec here. A bundle's challenge.toml (a folder, `load_challenges`, a
zip uploaded on the page or through the API: `bundle.parse_bundle`) is such a document
already; the browser's authoring form turns its inputs into the same TOML-shaped document
(`authoring.spec_from_form`) and builds those inputs from the fields below (bounds,
defaults, choices, help). Both call `read_document`, and `check_spec` runs it again on a
finished spec before it is stored. Every error names the file (or "form"), the key as
challenge.toml spells it (`limits.memory_mb`) and what was expected; all the errors of a
document come at once (`SpecInvalid.errors`), so the form puts each under its input.

Plain Python (no Django), like the rest of the bundle code.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from grader import workloads as wl
from grader.contract import DEFAULT_ALLOWED_IMPORTS
from hackathon.challenges import data as data_module
from hackathon.challenges.errors import ChallengeDataError
from hackathon.challenges.precision import (
    DEFAULT_DISPLAY_PRECISION,
    MAX_DISPLAY_PRECISION,
    MIN_DISPLAY_PRECISION,
)
from hackathon.challenges.schema_kinds import (
    NOTHING,
    Choice,
    Exponents,
    Flag,
    Kind,
    Metric,
    Module,
    Names,
    Number,
    Params,
    Seed,
    Slug,
    Text,
    When,
    Whole,
    Widths,
    Wrong,
)
from hackathon.challenges.spec import (
    ALL_METRICS,
    DATA_KINDS,
    DEFAULT_MIN_LOSS_CURVE_POINTS,
    METRICS_FOR_TASK,
    MODEL_TASKS,
    TASKS,
    TRACKS,
    ChallengeSpec,
    DataSource,
)


class SpecInvalid(ChallengeDataError):
    """Every error of one document, each naming file, key and expectation; it reads as
    them, one a line (exactly the error when there is one)."""

    def __init__(self, errors: list[ChallengeDataError]) -> None:
        first = errors[0]
        super().__init__(first.file, first.detail, field=first.field)
        self.errors = errors
        self.args = ("\n".join(str(e) for e in errors),)

    def __str__(self) -> str:
        return str(self.args[0])


# --- the fields --------------------------------------------------------------------------

REQUIRED: Any = object()


@dataclass(frozen=True)
class Field:
    """One key of challenge.toml. `name` is the ChallengeSpec attribute and the form's
    input (default: the key's last part); `form_initial` is where the form starts when that
    differs from the bundle's default (a challenge made in the browser starts unpublished)."""

    key: str
    kind: Kind
    default: Any = REQUIRED
    name: str = ""
    label: str = ""
    help: str = ""
    form_initial: Any = NOTHING

    @property
    def table(self) -> str:
        return self.key.rpartition(".")[0]

    @property
    def part(self) -> str:
        return self.key.rpartition(".")[2]

    @property
    def input_name(self) -> str:
        return self.name or self.part

    @property
    def required(self) -> bool:
        return self.default is REQUIRED

    @property
    def initial(self) -> Any:
        if self.form_initial is not NOTHING:
            return self.form_initial
        return None if self.required else self.default


# The ChallengeSpec's own fields, top-level keys first. [data] and [workload] follow: which
# of their keys apply depends on the data source and the track.
FIELDS: tuple[Field, ...] = (
    Field("slug", Slug(), help="Part of the URL; cannot change later."),
    Field("title", Text(120, what="a title", strip=True, blank_ok=False)),
    Field("summary", Text(300, strip=True), ""),
    Field("task", Choice(TASKS), help="How the data's target is read."),
    Field(
        "track",
        Choice(TRACKS, {"model": "model: teams write a Model", "optimizer": "optimizer: teams write an Optimizer"}),
        "model",
        help="On the optimizer track the platform owns data, model and gradients.",
    ),
    Field("metric", Metric(), None, help="The ranked metric."),
    Field("extra_metrics", Names(Choice(ALL_METRICS), "metric names"), (), help="Shown beside it, comma separated."),
    Field("published", Flag(), True, form_initial=False),
    Field("split.test_fraction", Number(0.05, 0.9), 0.3),
    Field("split.public_fraction", Number(0.05, 0.95), 0.5),
    Field("split.seed", Whole(0, 2**32 - 1), 42),
    Field("limits.time_s", Number(1, 3600), 10.0, name="time_limit_s", label="Time limit (s)"),
    Field("limits.memory_mb", Whole(64, 16384), 256, label="Memory (MB)"),
    Field("limits.daily_submissions", Whole(1, 10000), 10, name="daily_quota"),
    Field("limits.total_submissions", Whole(1, 100000), None, name="total_quota"),
    Field("limits.in_flight", Whole(1, 100), 2, name="inflight_cap"),
    Field("limits.final_selections", Whole(1, 100), 2, name="max_final"),
    Field(
        "scoring.display_precision",
        Whole(MIN_DISPLAY_PRECISION, MAX_DISPLAY_PRECISION),
        DEFAULT_DISPLAY_PRECISION,
        help="Significant digits of published scores; scores equal at this precision tie.",
    ),
    Field(
        "scoring.best_plausible", Number(), None,
        help="A score no honest solution reaches (e.g. the noise floor); better ones are flagged for review.",
    ),
    Field("imports.allowed", Names(Module(), "module names"), DEFAULT_ALLOWED_IMPORTS, name="allowed_imports"),
    Field(
        "rules.gradient_descent_only", Flag(), False, label="Gradient descent only",
        help="Refuse numpy's closed-form solvers and decompositions (lstsq, solve, inv, pinv, svd, "
        "qr, eig*, cholesky, polyfit, numpy.polynomial) and require a loss_curve_; direct solves "
        "written by hand and curves not borne out are flagged for your review.",
        form_initial=True,
    ),
    Field(
        "rules.min_loss_curve_points", Whole(1, 1000), DEFAULT_MIN_LOSS_CURVE_POINTS,
        label="Minimum loss curve points",
        help="Under the gradient-descent-only rule: loss_curve_ needs at least this many values.",
    ),
    Field("times.start", When(), None, name="start_at", help="UTC"),
    Field("times.end", When(), None, name="end_at", help="UTC"),
    Field("times.freeze", When(), None, name="freeze_at", help="UTC; the public board stops moving"),
)  # fmt: skip

GENERATED = ("sklearn", "semisynthetic", "generator")  # sources without a data file
DATA_FIELDS: dict[str, Field] = {
    f.part: f
    for f in (
        Field("data.source", Choice(DATA_KINDS)),
        Field("data.name", Choice(sorted(data_module.GENERATORS | data_module.SKLEARN_LOADERS))),
        Field("data.params", Params(), {}),
        Field("data.file", Text(300, what="the data file's path in the bundle")),
        Field("data.target", Text(100, what="the name of the target column"), ""),
        Field("data.rescale_log10", Exponents(), None),
        Field("data.seed", Seed(), None),  # None: the installation's secret
        Field("data.seed_is_public", Flag(), False),
    )
}
# The [data] keys of each source, besides `source`.
DATA_KEYS = {
    **dict.fromkeys(GENERATED, ("name", "params", "rescale_log10", "seed", "seed_is_public")),
    "csv": ("file", "target", "rescale_log10"),
    "npz": ("file", "target", "rescale_log10"),
}
RESCALE_SEED_KEYS = ("seed", "seed_is_public")  # a file source's rescaling has a seed

WORKLOAD_FIELDS: tuple[Field, ...] = tuple(
    Field(f"workload.{key}", kind, default, name=f"workload_{key}", label=label, help=help_)
    for key, kind, default, label, help_ in (
        ("model", Choice(wl.MODELS), REQUIRED, "Model", "linear (regression), logistic (binary), softmax, mlp"),
        ("hidden", Widths(), (), "Hidden layers", "mlp only: layer widths, comma separated (at most 4, each at most 1024)"),
        ("activation", Choice(wl.ACTIVATIONS), "tanh", "Activation", "mlp only (smooth)"),
        ("l1", Number(0, 100), 0.0, "L1 term", "on the weights, never on biases"),
        ("l2", Number(0, 100), 0.0, "L2 term", "on the weights, never on biases"),
        ("init", Choice(wl.INITS), "normal", "Initialisation", "times the initial scale"),
        ("init_scale", Number(0, 1000), 1.0, "Initial scale", ""),
        ("standardize", Flag(), True, "Standardize features", "on each instance's training rows"),
        ("rotate", Flag(), True, "Rotate features per instance", "a secret random rotation per instance: parameters fitted to the starter kit's rows are no use"),
        ("budget", Whole(1, wl.MAX_BUDGET), REQUIRED, "Budget (examples)", "per instance: a step costs its batch size"),
        ("scoring", Choice(wl.SCORINGS, {"loss_at_budget": "loss at budget", "budget_to_target": "budget to target"}), REQUIRED, "Scoring", "lower is better for both"),
        ("target", Number(-1e12, 1e12), None, "Target validation loss", "budget to target: the validation loss to reach"),
        ("penalty", Whole(0, wl.MAX_BUDGET), None, "Penalty (examples)", "budget to target: added when never reached (empty: the budget)"),
        ("validate_every", Whole(0, wl.MAX_BUDGET), 0, "Validate every (examples)", "between the platform's validation points (0: the training rows)"),
        ("validation_cost", Whole(0, wl.MAX_BUDGET), 0, "Validation cost (examples)", "of a validation the optimizer asks for (0: its rows)"),
        ("min_batch_size", Whole(2, 1_000_000), wl.DEFAULT_MIN_BATCH_SIZE, "Minimum batch size", "smaller batch requests are raised to it (at most the training rows and the budget)"),
        ("train_rows", Whole(0, 10_000_000), 0, "Training rows", "per instance, from the training pool (0: all left)"),
        ("validation_rows", Whole(5, 1_000_000), 200, "Validation rows", "per instance, from the training pool"),
        ("label_noise", Number(0, 0.5), 0.0, "Label noise", "share of training labels flipped (regression: noise sd / y sd)"),
        ("instances", Whole(2, 50), 6, "Instances", "per grading: the first half public part, the rest private"),
        ("public_instances", Whole(1, 20), 2, "Public instances", "shipped in the starter kit for hackathon evaluate"),
    )
)  # fmt: skip

TABLES = ("data", "split", "limits", "scoring", "imports", "rules", "times", "workload")


# --- reading a document ------------------------------------------------------------------


class _Reader:
    """Reads one document, collecting every error instead of stopping at the first."""

    def __init__(self, document: Mapping[str, Any], file: str) -> None:
        self.document = document
        self.file = file
        self.errors: list[ChallengeDataError] = []

    def error(self, key: str, detail: str) -> None:
        self.errors.append(ChallengeDataError(self.file, detail, field=key))

    def fail(self, key: str, expected: str, got: Any = NOTHING) -> None:
        self.error(key, f"expected {expected}" + ("" if got is NOTHING else f", got {got!r}"))

    def table(self, name: str, *, required: bool = False) -> Mapping[str, Any] | None:
        """A table of the document ({} when absent and optional), None when unusable."""
        if name not in self.document:
            if required:
                self.error(name, "missing; expected a table")
            return None if required else {}
        value = self.document[name]
        if not isinstance(value, dict):
            self.fail(name, "a table", value)
            return None
        return value

    def read(self, fields: Iterable[Field], table: Mapping[str, Any], into: dict[str, Any]) -> None:
        """Each field's value (or default) into `into` by key; an invalid one stays out."""
        for field in fields:
            if field.part not in table:
                if field.required:
                    self.error(field.key, f"missing; expected {field.kind.expected}")
                else:
                    into[field.key] = field.default
                continue
            try:
                into[field.key] = field.kind.parse(table[field.part])
            except Wrong as wrong:
                self.fail(field.key + wrong.at, wrong.expected, wrong.got)

    def reject_unknown(self, name: str, table: Mapping[str, Any], known: Iterable[str]) -> None:
        known = sorted(known)
        for key in sorted(set(table) - set(known)):
            self.error(
                f"{name}.{key}" if name else key, f"unknown field; expected only {', '.join(known)}"
            )


def read_document(document: Mapping[str, Any], *, file: str) -> dict[str, Any]:
    """The values of a challenge.toml document by key (`"limits.memory_mb": 256`), defaults
    filled in, plus `"data"` (a DataSource) and `"workload"` (a dict; {} on the model
    track). Raises `SpecInvalid` with every error."""
    reader = _Reader(document, file)
    values: dict[str, Any] = {}
    top = [f for f in FIELDS if not f.table]
    reader.read(top, document, values)
    reader.reject_unknown("", document, [*(f.part for f in top), *TABLES])
    for name in TABLES:
        fields = [f for f in FIELDS if f.table == name]
        table = reader.table(name) if fields else None
        if table is not None:
            reader.read(fields, table, values)
            reader.reject_unknown(name, table, (f.part for f in fields))
    _read_data(reader, values)
    _read_workload(reader, values)
    for rule in RULES:
        rule(reader, values)
    if reader.errors:
        raise SpecInvalid(reader.errors)
    return values


def _read_data(reader: _Reader, values: dict[str, Any]) -> None:
    """`[data]`: the source decides which keys apply and which names `data.name` takes."""
    table = reader.table("data", required=True)
    raw: dict[str, Any] = {}
    if table is not None:
        reader.read([DATA_FIELDS["source"]], table, raw)
    kind = raw.get("data.source")
    if table is None or kind is None:
        return
    fields = dict(DATA_FIELDS)
    keys = DATA_KEYS[kind]
    if kind in GENERATED:
        known = data_module.GENERATORS if kind == "generator" else data_module.SKLEARN_LOADERS
        fields["name"] = Field("data.name", Choice(sorted(known)))
    else:
        if kind == "csv":
            fields["target"] = Field(
                "data.target", Text(100, what="the name of the target column", blank_ok=False)
            )
        if table.get("rescale_log10") is not None:
            keys = (*keys, *RESCALE_SEED_KEYS)
    reader.read([fields[k] for k in keys], table, raw)
    reader.reject_unknown("data", table, ("source", *keys))
    if not all(f"data.{k}" in raw for k in keys):
        return
    if kind in GENERATED:
        try:
            data_module.check_params(
                raw["data.name"],
                raw["data.params"],
                file=reader.file,
                field="data.params",
                kind=kind,
            )
        except ChallengeDataError as error:
            reader.errors.append(error)
    seed = raw.get("data.seed")
    if seed is not None and not raw["data.seed_is_public"]:
        reader.error(
            "data.seed",
            f"a pinned seed ({seed}) is public: anyone with this bundle can regenerate the "
            "hidden labels. Remove it to draw the data from the installation's secret seed, "
            "or add seed_is_public = true for a practice or development challenge",
        )
    values["data"] = DataSource(
        kind=kind,
        name=raw.get("data.name", ""),
        params=raw.get("data.params", {}),
        file=raw.get("data.file", ""),
        target=raw.get("data.target", ""),
        rescale_log10=raw["data.rescale_log10"],
        seed=seed,
        seed_is_public=seed is not None,
    )


def _read_workload(reader: _Reader, values: dict[str, Any]) -> None:
    """`[workload]`, on the optimizer track only, as `grader.workloads.Workload` fields."""
    values["workload"] = {}
    if values.get("track") != "optimizer":
        if values.get("track") == "model" and "workload" in reader.document:
            reader.error("workload", 'expected no [workload] table: it is for track = "optimizer"')
        return
    table = reader.table("workload", required=True)
    if table is None:
        return
    raw: dict[str, Any] = {}
    reader.read(WORKLOAD_FIELDS, table, raw)
    reader.reject_unknown("workload", table, (f.part for f in WORKLOAD_FIELDS))
    before = len(reader.errors)
    workload = {f.part: raw[f.key] for f in WORKLOAD_FIELDS if f.key in raw}
    for rule in WORKLOAD_RULES:
        rule(reader, workload, values.get("task"))
    values["workload"] = None  # invalid: the rules that need it stay quiet
    if len(workload) == len(WORKLOAD_FIELDS) and len(reader.errors) == before:
        try:  # the workload's own check (grader.workloads) has the last word
            values["workload"] = wl.Workload(**workload).as_dict()
        except wl.WorkloadError as exc:
            reader.error(f"workload.{exc.key}", exc.message)


# --- rules between fields ----------------------------------------------------------------


def metric_task_error(metric: str, task: str) -> str:
    """Why `metric` cannot rank a `task` challenge ("" when it can)."""
    if metric not in ALL_METRICS:
        return f"expected one of {', '.join(ALL_METRICS)}, got {metric!r}"
    allowed = METRICS_FOR_TASK[task]
    if metric in allowed:
        return ""
    extra = " (roc_auc is for binary tasks only)" if metric == "roc_auc" else ""
    return (
        f"metric {metric!r} does not fit task {task!r}: expected one of {', '.join(allowed)}{extra}"
    )


def _metrics_rule(reader: _Reader, values: dict[str, Any]) -> None:
    """The model track ranks by a metric that fits the task; the optimizer track by its
    workload's scoring, with no extra metrics."""
    if not all(k in values for k in ("track", "metric", "extra_metrics")):
        return
    metric, extra = values["metric"], values["extra_metrics"]
    if values["track"] == "optimizer":
        scoring = (values["workload"] or {}).get("scoring")
        if metric is None and scoring:
            values["metric"] = scoring
        elif scoring and metric != scoring:
            reader.fail("metric", f"{scoring!r} (workload.scoring)", metric)
        if extra:
            reader.fail("extra_metrics", "no extra metrics on the optimizer track", list(extra))
        return
    if metric is None:
        reader.error("metric", f"missing; expected one of {', '.join(ALL_METRICS)}")
        return
    if "task" not in values:
        return
    named = [("metric", metric), *((f"extra_metrics[{i}]", m) for i, m in enumerate(extra))]
    for key, name in named:
        if problem := metric_task_error(name, values["task"]):
            reader.error(key, problem)
    values["extra_metrics"] = tuple(m for m in extra if m != metric)


def _times_rule(reader: _Reader, values: dict[str, Any]) -> None:
    start, end, freeze = (values.get(f"times.{k}") for k in ("start", "end", "freeze"))
    if start and end and end <= start:
        reader.error("times.end", "expected the end after the start")
    if freeze and ((start and freeze < start) or (end and freeze > end)):
        reader.error("times.freeze", "expected the freeze between start and end")


RULES: tuple[Callable[[_Reader, dict[str, Any]], None], ...] = (_metrics_rule, _times_rule)


def _model_fits_task(reader: _Reader, w: dict[str, Any], task: str | None) -> None:
    model = w.get("model")
    if model and task in TASKS and task not in MODEL_TASKS[model]:
        fits = ", ".join(MODEL_TASKS[model])
        reader.fail("workload.model", f"a model for a {task} task ({model} fits {fits})")


def _hidden_layers_fit_model(reader: _Reader, w: dict[str, Any], task: str | None) -> None:
    if "model" not in w or "hidden" not in w:
        return
    if w["model"] == "mlp" and not w["hidden"]:
        reader.fail("workload.hidden", "at least one hidden layer width for an mlp, such as [32]")
    if w["model"] != "mlp" and w["hidden"]:
        reader.fail("workload.hidden", "no hidden layers (only an mlp has them)", list(w["hidden"]))


def _target_and_penalty(reader: _Reader, w: dict[str, Any], task: str | None) -> None:
    if w.get("scoring") == "budget_to_target" and "target" in w and w["target"] is None:
        reader.fail("workload.target", "the validation loss to reach (scoring budget_to_target)")
    if "penalty" in w and w["penalty"] is None and "budget" in w:
        w["penalty"] = w["budget"]  # never reaching the target costs a second budget


def _min_batch_fits(reader: _Reader, w: dict[str, Any], task: str | None) -> None:
    """At least 2 (the gradient of one example gives the row away: its range), at most the
    training rows and the budget."""
    value = w.get("min_batch_size")
    if value is None:
        return
    train_rows, budget = w.get("train_rows"), w.get("budget")
    if train_rows and value > train_rows:
        reader.fail(
            "workload.min_batch_size",
            f"at most the training rows (train_rows = {train_rows})",
            value,
        )
    elif budget is not None and value > budget:
        reader.fail("workload.min_batch_size", f"at most the budget ({budget} examples)", value)


WORKLOAD_RULES = (_model_fits_task, _hidden_layers_fit_model, _target_and_penalty, _min_batch_fits)


# --- documents and specs -----------------------------------------------------------------


def build_spec(
    values: Mapping[str, Any],
    *,
    description_md: str,
    starter_code: str,
    baseline_code: str = "",
    data_files: Mapping[str, bytes] | None = None,
) -> ChallengeSpec:
    """The spec of a document's values (`read_document`) and the bundle's texts; the data
    file named in `[data]` is taken from `data_files`."""
    data: DataSource = values["data"]
    return ChallengeSpec(
        **{f.input_name: values[f.key] for f in FIELDS},
        data=data,
        workload=values["workload"],
        description_md=description_md,
        starter_code=starter_code,
        baseline_code=baseline_code,
        data_files={data.file: (data_files or {})[data.file]} if data.file else {},
    )


def _toml_value(value: Any) -> Any:
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).replace(microsecond=0)
    return value


def document_from_spec(spec: ChallengeSpec) -> dict[str, Any]:
    """The challenge.toml document of a spec (None values left out: they are defaults)."""
    document: dict[str, Any] = {}
    for field in FIELDS:
        value = getattr(spec, field.input_name)
        if value is not None:
            table = document.setdefault(field.table, {}) if field.table else document
            table[field.part] = _toml_value(value)
    document["data"] = spec.data.as_toml()
    if spec.track == "optimizer":
        document["workload"] = {
            k: _toml_value(v) for k, v in spec.workload.items() if v is not None
        }
    return document


def check_spec(spec: ChallengeSpec, *, file: str) -> ChallengeSpec:
    """Every rule again on a finished spec, as its challenge.toml would be read: a route
    that built it cannot have skipped one."""
    read_document(document_from_spec(spec), file=file)
    return spec
