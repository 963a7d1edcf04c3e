"""Notebooks as submissions: the code cells are the solution; magics, shell escapes and the
author's experiments are left out (and listed); the result scores exactly as the .py would,
through the real sandbox."""

from __future__ import annotations

from collections.abc import Callable

import nbformat
import pytest

from grader.contract import DEFAULT_ALLOWED_IMPORTS, GradingJob, Verdict
from grader.grading import grade
from grader.notebook import NotebookError, convert
from grader.precheck import precheck

MODEL = """\
class Model:
    def __init__(self, lr=0.1, epochs=300):
        self.lr, self.epochs = lr, epochs
        self.loss_curve_ = []

    def fit(self, X, y):
        self.mu, self.sd = X.mean(axis=0), X.std(axis=0) + 1e-12
        Z = (X - self.mu) / self.sd
        self.w, self.b = np.zeros(Z.shape[1]), float(y.mean())
        for _ in range(self.epochs):
            err = Z @ self.w + self.b - y
            self.w -= self.lr * Z.T @ err / len(y)
            self.b -= self.lr * err.mean()
            self.loss_curve_.append(float(np.mean(err**2)))
        return self

    def predict(self, X):
        return (X - self.mu) / self.sd @ self.w + self.b
"""

AS_PY = "import numpy as np\n\n" + MODEL


def notebook(*cells: tuple[str, str], tags: dict[int, list[str]] | None = None) -> str:
    nb = nbformat.v4.new_notebook()
    for index, (kind, text) in enumerate(cells):
        cell = (
            nbformat.v4.new_markdown_cell(text) if kind == "md" else nbformat.v4.new_code_cell(text)
        )
        if tags and index in tags:
            cell.metadata["tags"] = tags[index]
        if kind == "code":
            cell.outputs = [nbformat.v4.new_output("stream", text="lots of output\n" * 50)]
        nb.cells.append(cell)
    return nbformat.writes(nb)


MEETUP_NOTEBOOK = notebook(
    ("md", "# My diabetes model\nGradient descent, scaled features."),
    (
        "code",
        "%matplotlib inline\n!pip install numpy\nimport numpy as np\nimport matplotlib.pyplot as plt",
    ),
    (
        "code",
        "X = np.load('train_X.npy')\ny = np.load('train_y.npy')\nX_train, X_val = X[:300], X[300:]\nprint(X.shape)",
    ),
    ("code", "%%time\n" + MODEL),
    (
        "code",
        "m = Model(lr=0.05)\nm.fit(X_train, y[:300])\nplt.plot(m.loss_curve_)\nm.predict(X_val)[:5]",
    ),
    ("code", "Model?\nfiles = !ls\n%timeit m.predict(X_val)"),
    ("code", "%%bash\nls -la"),
)


def test_the_meetup_notebook_becomes_the_solution_and_lists_what_it_left_out() -> None:
    converted = convert(MEETUP_NOTEBOOK, DEFAULT_ALLOWED_IMPORTS)
    source = converted.source
    assert "class Model" in source and "import numpy as np" in source
    for gone in ("matplotlib", "np.load", "print(", "m.fit", "plt.plot", "pip install", "%", "!ls"):
        assert gone not in source, gone
    notes = "\n".join(converted.notes)
    assert "magic, shell or help" in notes
    assert "cell magic %%bash" in notes
    assert "loads a file" in notes and "trains or runs the model" in notes
    assert "uses what an experiment made" in notes  # X_train, X_val come from np.load
    assert "matplotlib.pyplot, not allowed here" in notes
    assert precheck(source, DEFAULT_ALLOWED_IMPORTS).ok
    compile(source, "solution.py", "exec")


def test_a_used_forbidden_import_stays_so_the_precheck_names_it() -> None:
    text = notebook(
        ("code", "import pandas as pd\n" + "import numpy as np\n" + MODEL + "\nHELPER = pd.Series")
    )
    converted = convert(text, DEFAULT_ALLOWED_IMPORTS)
    result = precheck(converted.source, DEFAULT_ALLOWED_IMPORTS)
    assert not result.ok and "pandas" in result.message


def test_tags_keep_or_drop_whole_cells() -> None:
    text = notebook(
        ("code", "import numpy as np\n" + MODEL),
        ("code", "SCALE = float(open('/dev/null').read() or 1)"),
        ("code", "print('experiment')"),
        tags={1: ["solution"], 2: ["skip"]},
    )
    converted = convert(text, DEFAULT_ALLOWED_IMPORTS)
    assert "SCALE = float(open" in converted.source
    assert "experiment" not in converted.source
    assert any("tagged skip" in n for n in converted.notes)


@pytest.mark.parametrize(
    "text, message",
    [
        ("{not json", "not valid JSON"),
        ('{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}', "no code cells"),
        ('{"nbformat": 4}', "could not be read"),
    ],
)
def test_what_is_not_a_notebook_gets_a_clear_error(text: str, message: str) -> None:
    with pytest.raises(NotebookError, match=message):
        convert(text)


def test_the_notebook_scores_exactly_as_the_py(make_job: Callable[..., GradingJob]) -> None:
    converted = convert(MEETUP_NOTEBOOK, DEFAULT_ALLOWED_IMPORTS)
    from_notebook = grade(make_job(converted.source))
    from_py = grade(make_job(AS_PY))
    assert from_py.verdict is Verdict.SCORED, from_py.message
    assert from_notebook.verdict is Verdict.SCORED, from_notebook.message
    assert from_notebook.public_score == from_py.public_score
    assert from_notebook.private_score == from_py.private_score
    assert from_notebook.loss_curve == from_py.loss_curve
