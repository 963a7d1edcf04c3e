"""From inside a running Jupyter notebook (a real IPython kernel, driven by nbclient), one
call grades the notebook's Model with the platform's grader on the kit's data and shows the
score, the diagnostics and the loss curve inline."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import nbformat
import pytest
from hackathon.challenges.downloads import starter_kit_zip
from nbclient import NotebookClient

GD_MODEL = """import numpy as np

class Model:
    def fit(self, X, y, lr=0.1, epochs=200):
        self.mu, self.sd = X.mean(axis=0), X.std(axis=0) + 1e-12
        Z = (X - self.mu) / self.sd
        self.w, self.b, self.loss_curve_ = np.zeros(Z.shape[1]), float(y.mean()), []
        for _ in range(epochs):
            err = Z @ self.w + self.b - y
            self.w -= lr * Z.T @ err / len(y)
            self.b -= lr * err.mean()
            self.loss_curve_.append(float(np.mean(err**2)))
        return self

    def predict(self, X):
        return (X - self.mu) / self.sd @ self.w + self.b"""


def _outputs(cell: dict) -> tuple[str, str]:
    html = text = ""
    for output in cell.get("outputs", []):
        data = output.get("data", {})
        html += data.get("text/html", "")
        text += data.get("text/plain", "") + output.get("text", "")
    return html, text


@pytest.mark.slow
def test_the_kit_notebook_evaluates_itself_inline(make_challenge: object, tmp_path: Path) -> None:
    challenge = make_challenge(slug="nb-kit")
    zipfile.ZipFile(io.BytesIO(starter_kit_zip(challenge))).extractall(tmp_path)
    kit = tmp_path / "nb-kit"
    notebook = nbformat.read(kit / "solution.ipynb", as_version=4)
    assert notebook.cells[1].source == challenge.starter_code.strip()
    notebook.cells[1].source = GD_MODEL  # the participant writes their model
    # The participant experiments in the notebook before evaluating.
    notebook.cells.insert(
        2,
        nbformat.v4.new_code_cell(
            "%time\nimport numpy as np\nd = np.load('train.npz')\nm = Model().fit(d['X'], d['y'])\n"
            "print(m.predict(d['X'])[:3])"
        ),
    )
    notebook.cells.append(
        nbformat.v4.new_code_cell("result = evaluate(Model)\nprint(result.verdict, result.score)")
    )
    NotebookClient(
        notebook, timeout=240, kernel_name="python3", resources={"metadata": {"path": str(kit)}}
    ).execute()
    html, _ = _outputs(notebook.cells[-2])  # the kit's own `evaluate(Model)` cell
    assert (
        "Scored" in html
        and "<svg" in html
        and "200 points" in html
        and "held-out rows of train.npz" in html
    )
    _, text = _outputs(notebook.cells[-1])
    verdict, score = text.split()
    assert verdict == "scored" and float(score) > 0
