"""Public downloads: the training rows (train.npz, train.csv.gz, plain train.csv on request)
and the starter kit zip.

Only the training blobs are read here, never the hidden test rows. Files are built once per
data and texts version, written straight to disk (a large challenge is never held in memory
twice), cached, and served as files with HTTP range support (`ranged_file_response`), so a
broken download resumes.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import re
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import nbformat
import numpy as np
from django.conf import settings
from django.http import FileResponse, HttpRequest, HttpResponse

from hackathon.challenges.data import npy_load, training_csv_bytes
from hackathon.challenges.hyperparameters import hyperparameters_markdown
from hackathon.challenges.models import Challenge
from hackathon.challenges.optimizer import kit_seeds, workload_shown
from hackathon.challenges.rules import rules_markdown
from hackathon.challenges.spec import metric_direction

CONTRACT = """\
import numpy as np


class Model:
    def fit(self, X, y):
        # X: float64 array (n, d); y: float64 (n,) for regression,
        #    int64 labels 0..k-1 for classification.
        # Optional: append one loss value per epoch to self.loss_curve_, and declare
        # what the training used in self.hyperparameters_, e.g. {"optimizer": "sgd",
        # "learning_rate": 0.1, "batch_size": 32, "epochs": 20}
        return self

    def predict(self, X):
        # (n,) values for regression, (n,) labels for classification
        ...

    def predict_proba(self, X):
        # (n, k) probabilities; needed only when the metric needs them (log_loss, roc_auc)
        ...
"""


OPTIMIZER_CONTRACT = """\
import numpy as np


class Optimizer:
    batch_size = 32          # read before every step; None = the whole training set;
                             # below the workload's min_batch_size it is raised to it

    def start(self, info):   # optional, once: info.budget, info.n_train, info.shapes,
                             # info.min_batch_size
        self.lr, self.beta, self.velocity = 0.1, 0.9, None

    def step(self, params, grad, loss):
        # params, grad: lists of float64 arrays in the model's shapes (info.names order);
        # loss: the training loss of the batch the gradient was computed on.
        if self.velocity is None:
            self.velocity = [np.zeros_like(g) for g in grad]
        for v, g in zip(self.velocity, grad):
            v *= self.beta
            v -= self.lr * g
        # Optional: self.validate = True asks for the validation loss (costs budget);
        # it arrives as self.validation_loss before the next step.
        return [p + v for p, v in zip(params, self.velocity)]  # or None to stop
"""


def contract_for(challenge: Challenge) -> str:
    """The contract example shown on the challenge page and in the starter kit."""
    return OPTIMIZER_CONTRACT if challenge.is_optimizer_track else CONTRACT


def _training_arrays(challenge: Challenge) -> tuple:
    return npy_load(bytes(challenge.train_X.data)), npy_load(bytes(challenge.train_y.data))


# A kit holds both compressed forms of the data while they fit in this many bytes together;
# past it (the 200,000-row challenge) train.csv.gz is a separate download the README names.
KIT_DATA_MAX_BYTES_DEFAULT = 120 * 1000 * 1000
_CSV_CHUNK_ROWS = 20_000
CONTENT_TYPES = {
    "train.csv": "text/csv",
    "train.csv.gz": "application/gzip",
    "train.npz": "application/octet-stream",
    "starter-kit.zip": "application/zip",
}


def training_csv(challenge: Challenge) -> bytes:
    """The training rows (features then the target) as CSV; never a hidden row."""
    return download_file(challenge, "train.csv").read_bytes()


def _write_csv(challenge: Challenge, out: BinaryIO) -> None:
    X, y = _training_arrays(challenge)
    names, target = list(challenge.feature_names), challenge.target_name
    for start in range(0, max(len(y), 1), _CSV_CHUNK_ROWS):
        chunk = training_csv_bytes(
            X[start : start + _CSV_CHUNK_ROWS], y[start : start + _CSV_CHUNK_ROWS], names, target
        )
        out.write(chunk if start == 0 else chunk.split(b"\n", 1)[1])


def _build_training_csv(challenge: Challenge, out: BinaryIO) -> None:
    _write_csv(challenge, out)


def _build_training_csv_gz(challenge: Challenge, out: BinaryIO) -> None:
    # mtime=0 and no file name: the same rows give the same bytes.
    with gzip.GzipFile(fileobj=out, mode="wb", compresslevel=6, mtime=0, filename="") as gz:
        _write_csv(challenge, gz)  # type: ignore[arg-type]


def _build_training_npz(challenge: Challenge, out: BinaryIO) -> None:
    X, y = _training_arrays(challenge)
    np.savez_compressed(out, X=X, y=y, feature_names=np.array(challenge.feature_names))


def starter_notebook(challenge: Challenge) -> str:
    """The starter solution as a notebook: the same code, plus a cell that grades it locally."""
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_markdown_cell(
            f"# {challenge.title}\n\nThe code cells, in order, are your solution: submit this "
            "notebook as it is (the web form, the API or `hackathon submit`). Cells that load "
            "files, train or show things are your experiments and are left out of the "
            "submission."
        ),
        nbformat.v4.new_code_cell(challenge.starter_code.strip()),
        nbformat.v4.new_markdown_cell(
            "Grade the `Model` above with the platform's own grader on this kit's data "
            "(no quota used):"
        ),
        nbformat.v4.new_code_cell("from hackathon.notebook import evaluate\n\nevaluate(Model)"),
    ]
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    return nbformat.writes(notebook)


def challenge_manifest(challenge: Challenge) -> dict:
    """challenge.json of the starter kit: what `hackathon evaluate` needs (optimizer track:
    the workload and the public instances' seeds too)."""
    extra: dict = {}
    if challenge.is_optimizer_track:
        extra = {
            "track": challenge.track,
            "workload": workload_shown(challenge),
            "public_seeds": list(kit_seeds(challenge)),
        }
    return {
        **extra,
        "slug": challenge.slug,
        "title": challenge.title,
        "task": challenge.task,
        "metric": challenge.metric,
        "direction": metric_direction(challenge.metric),
        "extra_metrics": list(challenge.extra_metrics),
        "n_classes": challenge.n_classes,
        "n_features": challenge.n_features,
        "feature_names": list(challenge.feature_names),
        "target_name": challenge.target_name,
        "n_train": challenge.n_train,
        "seed": challenge.seed,
        "allowed_imports": list(challenge.allowed_imports),
        "gradient_descent_only": challenge.gradient_descent_only,
        "min_loss_curve_points": challenge.min_loss_curve_points,
        "public_labels": challenge.public_labels,
        "time_limit_s": challenge.time_limit_s,
        "memory_mb": challenge.memory_mb,
    }


def _proba_note(challenge: Challenge) -> str:
    """What the contract adds when a metric scores probabilities ("" when none does)."""
    proba_metrics = {"log_loss", "roc_auc"} & {challenge.metric, *challenge.extra_metrics}
    if not proba_metrics:
        return ""
    return (
        " and `predict_proba`. This challenge is scored on predicted probabilities"
        f" ({', '.join(sorted(proba_metrics))}): `predict_proba(X)` returns one row per"
        " sample and one probability per class, and an upload without it is refused at"
        " once (no quota used)"
    )


def _csv_line(challenge: Challenge, *, csv_in_kit: bool) -> str:
    if csv_in_kit:
        return (
            f"`train.csv.gz`: the same rows as gzipped CSV; the last column, "
            f"`{challenge.target_name}`, is the target."
        )
    return (
        f"The same rows as gzipped CSV are a separate download (too large to ship twice "
        f"in this kit): `/challenges/{challenge.slug}/train.csv.gz`."
    )


def starter_kit_readme(challenge: Challenge, *, csv_in_kit: bool = True) -> str:
    """The starter kit's README.md: files, contract, rules and how to evaluate locally."""
    if challenge.is_optimizer_track:
        return _optimizer_kit_readme(challenge)
    proba = _proba_note(challenge)
    csv_line = _csv_line(challenge, csv_in_kit=csv_in_kit)
    return f"""# {challenge.title}: starter kit

Task: {challenge.get_task_display()}. Ranked by **{challenge.get_metric_display()}**
({metric_direction(challenge.metric)}). Limits: {challenge.time_limit_s:g} s and
{challenge.memory_mb} MB for training and prediction together.

## Files
- `solution.py`: the starter solution (gradient descent); edit it and submit it.
- `solution.ipynb`: the same starter as a Jupyter notebook; submit the notebook itself if you
  prefer (its code cells, in order, are the solution), and grade it from inside Jupyter with
  `from hackathon.notebook import evaluate; evaluate(Model)`.
- `train.npz`: the {challenge.n_train} training rows as NumPy arrays, exactly as the grader
  gives them to `fit`: `data = np.load("train.npz"); X, y = data["X"], data["y"]`
  (`data["feature_names"]` names the columns).
- {csv_line}
- `challenge.json`: task, metric, allowed imports and limits, for the local evaluator.

## The submission contract
One UTF-8 file `solution.py` (at most 1 MiB) defining a class `Model`, built without
arguments, with `fit`, `predict`{proba}:

```python
{CONTRACT}```

Allowed imports: {", ".join(challenge.allowed_imports)}.
{rules_markdown(challenge)}The hidden test rows are never sent to your code's training step; your predictions
on them are scored on a public part (live leaderboard) and a private part (final ranking).

{hyperparameters_markdown()}
## Evaluate locally
With the platform's command-line tool installed (`pip install` of this project):

```
hackathon evaluate solution.py --data train.npz
hackathon evaluate solution.ipynb --data train.npz
hackathon evaluate solution.py --challenge {challenge.slug}
```

`--data` (train.npz, train.csv.gz or a CSV) holds out part of the training rows and scores
your model on them with the challenge's metric (using `challenge.json` next to it);
`--challenge` fetches the same settings and the data from the platform (downloaded once,
then kept in `~/.cache/hackathon`). Both run your code the way the grader does.
"""


def _optimizer_kit_readme(challenge: Challenge) -> str:
    w = workload_shown(challenge)
    rotation = (
        " Each instance sees the features through its own secret\n  random rotation, so "
        "parameters fitted to these rows are no use on an instance."
        if w["rotate"]
        else ""
    )
    return f"""# {challenge.title}: starter kit (optimizer track)

You write the optimizer; the platform owns the data, the model ({w["model"]}) and the
gradient. Ranked by **{challenge.get_metric_display()}** (lower is better), over
{w["instances"]} hidden instances from a seed you cannot know. Budget: {w["budget"]}
examples per instance. Time limit: {challenge.time_limit_s:g} s for all instances together.

## Files
- `solution.py`: the starter optimizer (plain SGD); edit it and submit it.
- `train.npz` (and `train.csv.gz` when small enough): the training pool every instance
  draws its training and validation rows from.{rotation}
- `challenge.json`: the workload and the seeds of the {w["public_instances"]} public
  instances, for the local evaluator.

## The submission contract
One UTF-8 file `solution.py` (at most 1 MiB) defining `class Optimizer`, built without
arguments, with `step(params, grad, loss)`:

```python
{OPTIMIZER_CONTRACT}```

`params` and `grad` are lists of float64 arrays in the model's shapes; return the next
parameters (same shapes; a list, or a dict by name) or `None` to stop. Wrong shapes, NaN
or infinity end the run with the verdict "Invalid optimizer step", naming the step and the
parameter. A `batch_size` below {w["min_batch_size"]} (the workload's `min_batch_size`) is
raised to it: no gradient is ever computed on fewer examples. Allowed imports:
{", ".join(challenge.allowed_imports)}.

## Evaluate locally
```
hackathon evaluate solution.py --data train.npz
hackathon evaluate solution.py --challenge {challenge.slug}
```
Both run the platform's own driver, in the same sandbox, on the public instances (drawn
from the training pool with the seeds in `challenge.json`), and print the score the
platform computes on them, the curves and the diagnostics.
"""


def starter_kit_zip(challenge: Challenge) -> bytes:
    """Training data (CSV and .npy), the starter solution, README and challenge.json."""
    return download_file(challenge, "starter-kit.zip").read_bytes()


def kit_includes_csv(challenge: Challenge) -> bool:
    npz = download_file(challenge, "train.npz").stat().st_size
    csv_gz = download_file(challenge, "train.csv.gz").stat().st_size
    limit = getattr(settings, "STARTER_KIT_DATA_MAX_BYTES", KIT_DATA_MAX_BYTES_DEFAULT)
    return npz + csv_gz <= limit


def _build_starter_kit(challenge: Challenge, out: BinaryIO) -> None:
    with_csv = kit_includes_csv(challenge)
    texts = {
        "README.md": starter_kit_readme(challenge, csv_in_kit=with_csv).encode(),
        "solution.py": challenge.starter_code.encode(),
        "solution.ipynb": starter_notebook(challenge).encode(),
        "challenge.json": json.dumps(challenge_manifest(challenge), indent=2).encode(),
    }
    data = {"train.npz": download_file(challenge, "train.npz")}
    if with_csv:
        data["train.csv.gz"] = download_file(challenge, "train.csv.gz")
    prefix = f"{challenge.slug}/"
    with zipfile.ZipFile(out, "w") as archive:
        for name in sorted([*texts, *data]):
            info = zipfile.ZipInfo(f"{prefix}{name}", date_time=(2020, 1, 1, 0, 0, 0))
            info.external_attr = 0o100644 << 16
            if name in texts:
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, texts[name])
            else:  # already compressed: stored, copied in chunks
                info.compress_type = zipfile.ZIP_STORED
                with (
                    archive.open(info, "w", force_zip64=True) as dest,
                    data[name].open("rb") as src,
                ):
                    while chunk := src.read(1 << 20):
                        dest.write(chunk)


def _cache_dir() -> Path:
    return Path(getattr(settings, "CHALLENGE_DOWNLOADS_DIR", settings.VAR_DIR / "downloads"))


def download_file(challenge: Challenge, kind: str) -> Path:
    """A cached file for `kind` (a key of CONTENT_TYPES), built on first use.

    One folder per challenge; a new version (new split, starter or limits) replaces the
    old file of the same kind, so the cache does not grow with every reload."""
    builders: dict[str, Callable[[Challenge, BinaryIO], None]] = {
        "train.csv": _build_training_csv,
        "train.csv.gz": _build_training_csv_gz,
        "train.npz": _build_training_npz,
        "starter-kit.zip": _build_starter_kit,
    }
    folder = _cache_dir() / challenge.slug
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{challenge.split_hash[:16]}-{hash_texts(challenge)}-{kind}"
    if not path.is_file():
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".dl-")
        try:
            with os.fdopen(fd, "wb") as handle:
                builders[kind](challenge, handle)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        for old in folder.glob(f"*-{kind}"):
            if old != path:
                old.unlink(missing_ok=True)
    return path


def hash_texts(challenge: Challenge) -> str:
    """Changes when what the kit says changes (starter, limits, imports, the README's text
    in a new release of the platform)."""
    import hashlib

    manifest = json.dumps(challenge_manifest(challenge), sort_keys=True)
    texts = manifest + challenge.starter_code + starter_kit_readme(challenge)
    return hashlib.sha256(texts.encode()).hexdigest()[:12]


_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def ranged_file_response(
    request: HttpRequest, path: Path, *, filename: str, content_type: str
) -> HttpResponse:
    """`path` as an attachment, honouring a single `Range: bytes=a-b` (206, or 416 when it
    lies outside the file) and `If-Range` with the ETag, so a broken download resumes."""
    size = path.stat().st_size
    etag = f'"{path.name.rsplit("-", 1)[0]}-{size}"'
    header = request.headers.get("Range", "")
    if_range = request.headers.get("If-Range")
    # Several ranges, another unit or a stale If-Range: the whole file, as RFC 9110 allows.
    match = _RANGE.match(header.strip()) if header and if_range in (None, etag) else None
    if match and (match.group(1) or match.group(2)):
        first, last = match.group(1), match.group(2)
        if first:
            start, end = int(first), min(int(last), size - 1) if last else size - 1
        else:
            start, end = max(size - int(last), 0), size - 1
        if start >= size or start > end:
            response = HttpResponse(status=416)
            response["Content-Range"] = f"bytes */{size}"
            response["Accept-Ranges"] = "bytes"
            return response
        handle = path.open("rb")
        handle.seek(start)
        response = FileResponse(
            _limited(handle, end - start + 1),
            status=206,
            as_attachment=True,
            filename=filename,
            content_type=content_type,
        )
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
        response["Content-Length"] = str(end - start + 1)
    else:
        response = FileResponse(
            path.open("rb"), as_attachment=True, filename=filename, content_type=content_type
        )
    response["Accept-Ranges"] = "bytes"
    response["ETag"] = etag
    return response


def _limited(handle: BinaryIO, length: int) -> io.BufferedReader:
    """A reader over the next `length` bytes of `handle` (closed with the response)."""

    class Limited(io.RawIOBase):
        remaining = length

        def readable(self) -> bool:
            return True

        def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
            if self.remaining <= 0:
                return 0
            data = handle.read(min(len(buffer), self.remaining))
            buffer[: len(data)] = data
            self.remaining -= len(data)
            return len(data)

        def close(self) -> None:
            handle.close()
            super().close()

    return io.BufferedReader(Limited(), buffer_size=1 << 16)


def download_response(request: HttpRequest, challenge: Challenge, kind: str) -> HttpResponse:
    """The response both the pages and the API give for a challenge's download `kind`."""
    return ranged_file_response(
        request,
        download_file(challenge, kind),
        filename=f"{challenge.slug}-{kind}",
        content_type=CONTENT_TYPES[kind],
    )
