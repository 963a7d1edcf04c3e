"""Grade a Model from inside a running Jupyter notebook, with the platform's own grader.

    from hackathon.notebook import evaluate
    evaluate(Model)

in a notebook opened in a starter kit's folder (train.npz and challenge.json next to it) runs
what `hackathon evaluate solution.ipynb --data train.npz` runs: the notebook's code cells as
they were executed (the same conversion as a notebook upload: magics and experiments left
out), the upload pre-check, the sandbox, the challenge's metric on held-out training rows. The
result shows inline as HTML (score, verdict, diagnostics, times and the loss curve as SVG; no
plotting library needed) and as text elsewhere.

Participant-side code: no Django, no Celery.
"""

from __future__ import annotations

import argparse
import html
import inspect
import io
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hackathon.cli import evaluate as cli_evaluate
from hackathon.cli.remote import CliError

KIT_DATA = ("train.npz", "train.csv.gz", "train.csv")


@dataclass
class NotebookEvaluation:
    """What `evaluate` returns: the grader's result, shown as HTML in Jupyter."""

    result: Any
    setup: cli_evaluate.EvaluationSetup
    sizes: dict[str, int]
    notes: str

    @property
    def score(self) -> float | None:
        return self.result.public_score

    @property
    def verdict(self) -> str:
        return str(self.result.verdict)

    def __repr__(self) -> str:
        out = io.StringIO()
        cli_evaluate.print_result(self.result, self.setup, self.sizes, out)
        return (self.notes + out.getvalue()).rstrip()

    def _repr_html_(self) -> str:
        r = self.result
        e = html.escape
        scored = self.verdict == "scored"
        rows = [("Verdict", r.verdict.label if hasattr(r.verdict, "label") else self.verdict)]
        if scored:
            rows.append((f"{self.setup.metric} (validation, public part)", _number(r.public_score)))
            rows.append(
                (f"{self.setup.metric} (validation, private part)", _number(r.private_score))
            )
        for name, value in (getattr(r, "extra_scores", None) or {}).items():
            rows.append((name, _number(value)))
        rows.append(
            ("Fit / predict", f"{_number(r.fit_seconds)} s / {_number(r.predict_seconds)} s")
        )
        if r.peak_memory_mb is not None:
            rows.append(("Peak memory", f"{r.peak_memory_mb:.0f} MB"))
        if r.sandbox_level:
            rows.append(("Sandbox", str(r.sandbox_level)))
        table = "".join(f"<tr><th>{e(str(k))}</th><td>{e(str(v))}</td></tr>" for k, v in rows)
        parts = [
            '<div class="hackathon-evaluation" style="font-family:sans-serif">',
            f"<p>Evaluated on {self.sizes['validation']} held-out rows of "
            f"{e(self.setup.data_name)} (trained on {self.sizes['train']}).</p>",
            f'<table style="border-collapse:collapse">{table}</table>',
        ]
        if r.message:
            parts.append(f"<pre>{e(r.message)}</pre>")
        for finding in r.diagnostics or []:
            parts.append(
                f"<p><strong>{e(str(finding.get('title', '')))}</strong>: "
                f"{e(str(finding.get('detail', '')))}</p>"
            )
        if r.loss_curve:
            parts.append(loss_curve_svg(r.loss_curve))
        if self.notes:
            parts.append(
                f"<details><summary>Conversion notes</summary><pre>{e(self.notes)}</pre></details>"
            )
        parts.append("</div>")
        return "\n".join(parts)


def _number(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.6g}"


def loss_curve_svg(curve: list[float], *, width: int = 480, height: int = 160) -> str:
    """The loss curve as an inline SVG polyline (log scale when it spans a decade or more)."""
    points = [
        (i, v) for i, v in enumerate(curve) if isinstance(v, (int, float)) and math.isfinite(v)
    ]
    if len(points) < 2:
        return ""
    values = [v for _, v in points]
    log = min(values) > 0 and max(values) / min(values) >= 10
    ys = [math.log10(v) for v in values] if log else values
    low, high = min(ys), max(ys)
    span = (high - low) or 1.0
    last = max(len(curve) - 1, 1)
    pad = 8
    coords = " ".join(
        f"{pad + (width - 2 * pad) * i / last:.1f},"
        f"{pad + (height - 2 * pad) * (1 - (y - low) / span):.1f}"
        for (i, _), y in zip(points, ys, strict=True)
    )
    label = f"loss ({'log scale, ' if log else ''}{len(curve)} points): {values[0]:.4g} → {values[-1]:.4g}"
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'role="img" aria-label="{html.escape(label)}">'
        f'<rect width="{width}" height="{height}" fill="white" stroke="#ccc"/>'
        f'<polyline fill="none" stroke="#1f6feb" stroke-width="2" points="{coords}"/>'
        f"<title>{html.escape(label)}</title></svg>"
        f"<div style='font-size:smaller'>{html.escape(label)}</div>"
    )


def _notebook_history() -> list[str] | None:
    """The code cells this IPython session ran, in order (None outside IPython)."""
    shell = sys.modules.get("IPython")
    get = getattr(shell, "get_ipython", None) if shell else None
    ip = get() if get else None
    if ip is None:
        return None
    # The raw inputs, as typed: `In` holds them after IPython's transforms (`%time` becomes
    # get_ipython().run_line_magic(...)), which the notebook reader would not recognise.
    history = getattr(ip.history_manager, "input_hist_raw", None) or ip.user_ns.get("In") or []
    return [cell for cell in history if isinstance(cell, str) and cell.strip()]


def _source_of(model: type) -> tuple[str, str]:
    """(source, filename) of the solution `model` belongs to."""
    cells = _notebook_history()
    if cells is not None:
        import nbformat  # a notebook upload's own reader

        notebook = nbformat.v4.new_notebook()
        notebook.cells = [nbformat.v4.new_code_cell(c) for c in cells]
        text = nbformat.writes(notebook)
        filename = "notebook.ipynb"
    else:
        module = sys.modules.get(model.__module__)
        try:
            text = inspect.getsource(module) if module else inspect.getsource(model)
        except (OSError, TypeError) as exc:
            raise CliError(f"cannot find the source of {model.__name__}: {exc}") from None
        filename = "solution.py"
    if model.__name__ != "Model":
        text = _with_alias(text, filename, model.__name__)
    return text, filename


def _with_alias(text: str, filename: str, name: str) -> str:
    alias = f"\nModel = {name}\n"
    if filename.endswith(".ipynb"):
        import nbformat

        notebook = nbformat.reads(text, as_version=4)
        notebook.cells.append(nbformat.v4.new_code_cell(alias.strip()))
        return nbformat.writes(notebook)
    return text + alias


def _kit_data(kit: Path) -> Path:
    for name in KIT_DATA:
        if (kit / name).is_file():
            return kit / name
    raise CliError(
        f"no training data in {kit}: open the notebook in the starter kit's folder "
        "(train.npz next to it) or pass evaluate(Model, data='path/to/train.npz')"
    )


def evaluate(
    model: type,
    *,
    data: str | Path | None = None,
    seed: int | None = None,
    time_limit: float | None = None,
) -> NotebookEvaluation:
    """Grade `model` (the class, usually Model) as `hackathon evaluate` would."""
    if not isinstance(model, type):
        raise TypeError("evaluate() takes the class itself: evaluate(Model), not Model()")
    path = Path(data) if data is not None else _kit_data(Path.cwd())
    args = argparse.Namespace(
        data=str(path),
        challenge=None,
        target=None,
        task=None,
        metric=None,
        seed=seed,
        validation_fraction=None,
        public_fraction=None,
        time_limit=time_limit,
        memory_mb=None,
    )
    setup = cli_evaluate.setup_from_args(args)
    text, filename = _source_of(model)
    notes = io.StringIO()
    source = cli_evaluate.solution_source(text, filename, setup, notes)
    result, sizes = cli_evaluate.evaluate(setup, source)
    return NotebookEvaluation(result=result, setup=setup, sizes=sizes, notes=notes.getvalue())
