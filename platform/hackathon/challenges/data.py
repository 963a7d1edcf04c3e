"""Building a challenge's data and its hidden split (plain Python, no Django).

`build_dataset` turns a bundle's data source into arrays (features float64, labels int64
0..k-1 or float64 targets); `make_split` splits them once, deterministically from the
seed (NumPy's legacy `RandomState`, whose streams are frozen across versions and
machines), and `Split.blobs()` gives the `.npy` bytes stored as content-addressed blobs.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import inspect
import io
import math
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from hackathon.challenges import semisynthetic
from hackathon.challenges.errors import ChallengeDataError

# Datasets that ship inside scikit-learn (no download) with one target column.
SKLEARN_LOADERS = frozenset(
    {"load_diabetes", "load_breast_cancer", "load_digits", "load_wine", "load_iris"}
)
GENERATORS = frozenset(
    {
        "make_regression",
        "make_classification",
        "make_moons",
        "make_circles",
        "make_blobs",
        "make_friedman1",
        "make_friedman2",
        "make_friedman3",
        "make_gaussian_quantiles",
        "make_hastie_10_2",
        "make_sparse_uncorrelated",
    }
)
# Parameters a bundle may not set: they would change the shape of what is returned.
_FORBIDDEN_PARAMS = frozenset(
    {"return_X_y", "as_frame", "return_coef", "random_state", "n_targets"}
)

MAX_ROWS = 2_000_000
MAX_FEATURES = 10_000
MAX_CELLS = 50_000_000
MIN_TRAIN_ROWS = 20
MIN_PART_ROWS = 5  # in each of the public and private parts


@dataclass
class Dataset:
    X: np.ndarray  # float64 (n, d)
    y: np.ndarray  # float64 (n,) for regression, int64 0..k-1 for classification
    feature_names: list[str]
    target_name: str
    n_classes: int | None
    class_values: list[float] | None = None  # original label of class i (CSV/NPZ)


@dataclass
class Split:
    train_X: np.ndarray
    train_y: np.ndarray
    test_X: np.ndarray
    test_y: np.ndarray
    public_mask: np.ndarray  # bool over test rows: True = public part

    KEYS = ("train_X", "train_y", "test_X", "test_y", "public_mask")

    def blobs(self) -> dict[str, bytes]:
        return {key: npy_bytes(getattr(self, key)) for key in self.KEYS}

    @property
    def n_public(self) -> int:
        return int(self.public_mask.sum())


def npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.ascontiguousarray(array), allow_pickle=False)
    return buffer.getvalue()


def npy_load(data: bytes) -> np.ndarray:
    return np.load(io.BytesIO(data), allow_pickle=False)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def split_hash(blob_hashes: Mapping[str, str]) -> str:
    """One hash for the whole split: the five blob hashes in a fixed order."""
    return sha256("\n".join(f"{k}={blob_hashes[k]}" for k in Split.KEYS).encode())


# --- sources ------------------------------------------------------------------------------


def error_file(origin: str, name: str) -> str:
    """How an error names a file: inside a bundle folder, or alone for a browser upload."""
    if origin:
        return f"{origin}/{name}"
    return "form" if name == "challenge.toml" else name


def _sklearn_function(name: str) -> Any:
    import sklearn.datasets

    return getattr(sklearn.datasets, name)


def check_params(
    name: str, params: Mapping[str, Any], *, file: str, field: str, kind: str = ""
) -> None:
    """Refuse parameters the loader or generator does not take, or that change its output shape.
    A semi-synthetic source takes its loader's parameters and `n_samples` (rows to draw)."""
    accepted = set(inspect.signature(_sklearn_function(name)).parameters) - _FORBIDDEN_PARAMS
    if kind == "semisynthetic":
        accepted.add("n_samples")
    for key, value in params.items():
        if key not in accepted:
            raise ChallengeDataError(
                file,
                f"{name} takes no parameter {key!r}; expected some of {', '.join(sorted(accepted))}",
                field=f"{field}.{key}",
            )
        if not isinstance(value, bool | int | float | str) and not (
            isinstance(value, list) and all(isinstance(v, int | float) for v in value)
        ):
            raise ChallengeDataError(
                file,
                "expected a number, a string, true/false or a list of numbers",
                field=f"{field}.{key}",
            )
    n = params.get("n_samples")
    if isinstance(n, int) and not isinstance(n, bool) and not (1 <= n <= MAX_ROWS):
        raise ChallengeDataError(
            file, f"expected n_samples between 1 and {MAX_ROWS}", field=f"{field}.n_samples"
        )
    d = params.get("n_features")
    if isinstance(d, int) and not isinstance(d, bool) and not (1 <= d <= MAX_FEATURES):
        raise ChallengeDataError(
            file, f"expected n_features between 1 and {MAX_FEATURES}", field=f"{field}.n_features"
        )
    # Refuse before generating: a huge request would exhaust the web process's memory.
    defaults = {
        k: p.default for k, p in inspect.signature(_sklearn_function(name)).parameters.items()
    }
    rows, cols = (
        params.get("n_samples", defaults.get("n_samples")),
        params.get("n_features", defaults.get("n_features", 1)),
    )
    if isinstance(rows, int) and isinstance(cols, int) and rows * cols > MAX_CELLS:
        raise ChallengeDataError(
            file,
            f"expected at most {MAX_CELLS} cells (n_samples x n_features), got {rows * cols}",
            field=field,
        )


def challenge_data_key(secret: bytes, slug: str) -> bytes:
    """The per-challenge key of an installation: HMAC-SHA256 of the slug under its secret."""
    return hmac.new(secret, b"challenge-data\0" + slug.encode(), hashlib.sha256).digest()


def _random_state(
    source: Any, data_key: bytes | None, stream: str, *, offset: int, file: str
) -> np.random.RandomState:
    """The random stream `stream` of a source: from its pinned (public) seed, else seeded with
    256 bits from the challenge's installation key (no seed to guess or to enumerate)."""
    if source.seed is not None:
        return np.random.RandomState(source.seed + offset)
    if data_key is None:
        raise ChallengeDataError(
            file,
            "this data is drawn from the installation's secret seed, and none was given "
            "(CHALLENGE_DATA_SECRET); or pin a public seed with seed = N and seed_is_public = true",
            field="data.seed",
        )
    digest = hmac.new(data_key, stream.encode(), hashlib.sha256).digest()
    return np.random.RandomState(np.frombuffer(digest, dtype=np.uint32))


def build_dataset(
    source: Any,
    task: str,
    files: Mapping[str, bytes],
    *,
    origin: str = "bundle",
    data_key: bytes | None = None,
) -> Dataset:
    """Arrays for a `spec.DataSource` (sklearn dataset, semi-synthetic data fitted to one,
    generator, CSV or NPZ in `files`). Generated data is drawn from the source's pinned seed or
    else from `data_key` (`challenge_data_key`)."""
    kind = source.kind
    toml = error_file(origin, "challenge.toml")
    if kind in ("sklearn", "semisynthetic"):
        loaded = _sklearn_function(source.name)(
            **{k: v for k, v in source.params.items() if k != "n_samples"}
        )
        X, y = loaded.data, loaded.target
        feature_names = [str(n) for n in getattr(loaded, "feature_names", [])] or None
        dataset = _finish(X, y, feature_names, "target", task, file=toml)
        if kind == "semisynthetic":
            rs = _random_state(source, data_key, "data", offset=0, file=toml)
            n_samples = int(source.params.get("n_samples", len(dataset.y)))
            dataset.X, y_new = semisynthetic.sample(
                dataset.X, dataset.y, n_classes=dataset.n_classes, n_samples=n_samples, rng=rs
            )
            dataset.y = y_new if dataset.n_classes is None else y_new.astype(np.int64)
    elif kind == "generator":
        random_state = _random_state(source, data_key, "data", offset=0, file=toml)
        try:
            X, y = _sklearn_function(source.name)(**source.params, random_state=random_state)[:2]
        except (TypeError, ValueError) as exc:
            raise ChallengeDataError(
                error_file(origin, "challenge.toml"),
                f"{source.name} refused its parameters: {exc}",
                field="data.params",
            ) from None
        dataset = _finish(X, y, None, "target", task, file=error_file(origin, "challenge.toml"))
    elif kind == "csv":
        dataset = parse_csv(
            files[source.file],
            target=source.target,
            task=task,
            file=error_file(origin, source.file),
        )
    elif kind == "npz":
        dataset = parse_npz(files[source.file], task=task, file=error_file(origin, source.file))
    else:
        raise ChallengeDataError(
            error_file(origin, "challenge.toml"),
            f"unknown data source {kind!r}",
            field="data.source",
        )
    if source.rescale_log10 is not None:
        low, high = source.rescale_log10
        rs = _random_state(source, data_key, "rescale", offset=1, file=toml)
        scales = 10.0 ** rs.uniform(low, high, size=dataset.X.shape[1])
        dataset.X = dataset.X * scales
    return dataset


def _finish(
    X: Any, y: Any, feature_names: list[str] | None, target_name: str, task: str, *, file: str
) -> Dataset:
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y)
    if X.ndim != 2 or y.ndim != 1 or len(X) != len(y):
        raise ChallengeDataError(
            file, f"expected features (n, d) and one target per row, got {X.shape} and {y.shape}"
        )
    n, d = X.shape
    if n > MAX_ROWS or d > MAX_FEATURES or n * d > MAX_CELLS:
        raise ChallengeDataError(
            file,
            f"expected at most {MAX_ROWS} rows, {MAX_FEATURES} features and "
            f"{MAX_CELLS} cells, got {n} x {d}",
        )
    if d == 0:
        raise ChallengeDataError(file, "expected at least one feature column")
    bad = ~np.isfinite(X)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise ChallengeDataError(
            file,
            f"expected finite numbers, got {X[row, col]} in row {row + 1}, "
            f"feature {feature_names[col] if feature_names else col}",
        )
    names = (
        feature_names if feature_names and len(feature_names) == d else [f"x{i}" for i in range(d)]
    )
    if task == "regression":
        y = y.astype(np.float64)
        if not np.isfinite(y).all():
            raise ChallengeDataError(
                file, f"expected finite target values, got {y[~np.isfinite(y)][0]}"
            )
        return Dataset(X, y, names, target_name, None)
    y = y.astype(np.float64)
    if not np.isfinite(y).all():
        raise ChallengeDataError(file, f"expected finite labels, got {y[~np.isfinite(y)][0]}")
    if not np.all(y == np.round(y)):
        raise ChallengeDataError(
            file,
            f"expected whole-number class labels for task {task!r}, got {y[y != np.round(y)][0]}",
        )
    values, labels = np.unique(y, return_inverse=True)
    k = len(values)
    if task == "binary" and k != 2:
        raise ChallengeDataError(file, f"expected exactly 2 classes for a binary task, got {k}")
    if task == "multiclass" and k < 3:
        raise ChallengeDataError(
            file,
            f"expected at least 3 classes for a multiclass task, got {k} "
            '(use task = "binary" for two)',
        )
    return Dataset(X, labels.astype(np.int64), names, target_name, k, [float(v) for v in values])


def parse_csv(
    data: bytes, *, target: str, task: str, file: str, max_bytes: int | None = None
) -> Dataset:
    """A CSV with a header row, numbers in every cell, and the target in column `target`."""
    reader = csv.reader(io.StringIO(_csv_text(data, file, max_bytes), newline=""), strict=True)
    try:
        header = _csv_header(next(reader, None), target=target, file=file)
        rows = _csv_rows(reader, header, file=file)
    except csv.Error as exc:
        raise ChallengeDataError(file, f"line {reader.line_num}: malformed CSV ({exc})") from None
    if not rows:
        raise ChallengeDataError(file, "expected data rows after the header, found none")
    table = np.array(rows, dtype=np.float64)
    t = header.index(target)
    X = np.delete(table, t, axis=1)
    names = [h for i, h in enumerate(header) if i != t]
    return _finish(X, table[:, t], names, target, task, file=file)


def _csv_text(data: bytes, file: str, max_bytes: int | None) -> str:
    if max_bytes is not None and len(data) > max_bytes:
        raise ChallengeDataError(
            file, f"file of {len(data)} bytes is over the limit of {max_bytes} bytes"
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ChallengeDataError(
            file, f"expected UTF-8 text ({exc.reason} at byte {exc.start})"
        ) from None
    if "\x00" in text:
        raise ChallengeDataError(file, "expected text, found a NUL byte (is this a binary file?)")
    return text


def _csv_header(row: list[str] | None, *, target: str, file: str) -> list[str]:
    """The column names: distinct, the target among them, one feature at least."""
    if not row or not any(h.strip() for h in row):
        raise ChallengeDataError(file, "expected a header row naming the columns")
    header = [h.strip() for h in row]
    if len(set(header)) != len(header):
        dupe = next(h for h in header if header.count(h) > 1)
        raise ChallengeDataError(file, f"expected distinct column names, {dupe!r} appears twice")
    if target not in header:
        raise ChallengeDataError(
            file,
            f"target column {target!r} not found; columns are "
            f"{', '.join(header[:20])}{' ...' if len(header) > 20 else ''}",
            field="target",
        )
    if len(header) < 2:
        raise ChallengeDataError(file, "expected at least one feature column besides the target")
    return header


def _csv_rows(reader: Iterator[list[str]], header: list[str], *, file: str) -> list[list[float]]:
    """Every data row as finite numbers, as wide as the header; blank lines skipped."""
    width = len(header)
    rows: list[list[float]] = []
    for line_no, row in enumerate(reader, start=2):
        if not row or (len(row) == 1 and not row[0].strip()):
            continue  # blank line
        if len(row) != width:
            raise ChallengeDataError(
                file, f"line {line_no}: expected {width} cells like the header, got {len(row)}"
            )
        rows.append([_csv_number(cell, line_no, header[col], file) for col, cell in enumerate(row)])
        if len(rows) * width > MAX_CELLS:
            raise ChallengeDataError(file, f"more than {MAX_CELLS} cells")
    return rows


def _csv_number(cell: str, line_no: int, column: str, file: str) -> float:
    try:
        value = float(cell)
    except ValueError:
        raise ChallengeDataError(
            file, f"line {line_no}, column {column!r}: expected a number, got {cell[:40]!r}"
        ) from None
    if not math.isfinite(value):
        raise ChallengeDataError(
            file,
            f"line {line_no}, column {column!r}: expected a finite number, got {cell.strip()!r}",
        )
    return value


def parse_npz(data: bytes, *, task: str, file: str, max_bytes: int | None = None) -> Dataset:
    """An .npz with arrays `X` (n, d) and `y` (n,); optional `feature_names` (strings)."""
    if max_bytes is not None and len(data) > max_bytes:
        raise ChallengeDataError(
            file, f"file of {len(data)} bytes is over the limit of {max_bytes} bytes"
        )
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            keys = set(npz.files)
            if not {"X", "y"} <= keys:
                raise ChallengeDataError(
                    file,
                    f"expected arrays named X and y, found {', '.join(sorted(keys)) or 'none'}",
                )
            for key in ("X", "y"):
                info = npz.zip.getinfo(f"{key}.npy")
                if info.file_size > MAX_CELLS * 8 + 4096:
                    raise ChallengeDataError(file, f"array {key} is larger than {MAX_CELLS} values")
            X, y = npz["X"], npz["y"]
            names = [str(v) for v in npz["feature_names"]] if "feature_names" in keys else None
    except ChallengeDataError:
        raise
    except (ValueError, OSError, zipfile.BadZipFile, EOFError, KeyError) as exc:
        raise ChallengeDataError(
            file, f"expected an .npz file saved without pickles ({exc})"
        ) from None
    if X.dtype.kind not in "biuf" or y.dtype.kind not in "biuf":
        raise ChallengeDataError(file, f"expected numeric arrays, got X {X.dtype} and y {y.dtype}")
    return _finish(X, y, names, "target", task, file=file)


# --- split --------------------------------------------------------------------------------


def _round(x: float) -> int:
    return int(math.floor(x + 0.5))


def split_sizes(n: int, test_fraction: float, public_fraction: float) -> tuple[int, int, int]:
    n_test = _round(n * test_fraction)
    n_public = _round(n_test * public_fraction)
    return n - n_test, n_public, n_test - n_public


def make_split(
    dataset: Dataset,
    *,
    test_fraction: float,
    public_fraction: float,
    seed: int,
    file: str = "challenge.toml",
) -> Split:
    """Hold out `test_fraction` of the rows (stratified by class for classification), and mark
    `public_fraction` of those as public. Same data and seed give the same split anywhere."""
    X, y = dataset.X, dataset.y
    n = len(y)
    n_train, n_public, n_private = split_sizes(n, test_fraction, public_fraction)
    if n_train < MIN_TRAIN_ROWS or n_public < MIN_PART_ROWS or n_private < MIN_PART_ROWS:
        raise ChallengeDataError(
            file,
            f"too few rows for the split: {n} rows give {n_train} training, {n_public} public and "
            f"{n_private} private rows; expected at least {MIN_TRAIN_ROWS} training rows and "
            f"{MIN_PART_ROWS} in each hidden part",
            field="split",
        )
    rs = np.random.RandomState(seed)
    if dataset.n_classes is None:
        order = rs.permutation(n)
        test_idx, train_idx = order[: n - n_train], order[n - n_train :]
        public = np.zeros(len(test_idx), dtype=bool)
        public[:n_public] = True
    else:
        tests, trains, publics = [], [], []
        for c in range(dataset.n_classes):
            idx = np.flatnonzero(y == c)
            idx = idx[rs.permutation(len(idx))]
            k_test = _round(len(idx) * test_fraction)
            if len(idx) - k_test < 1:
                raise ChallengeDataError(
                    file,
                    f"class {c} has only {len(idx)} rows: too few to appear in the training rows",
                    field="split",
                )
            tests.append(idx[:k_test])
            trains.append(idx[k_test:])
            mask = np.zeros(k_test, dtype=bool)
            mask[: _round(k_test * public_fraction)] = True
            publics.append(mask)
        test_idx, public = np.concatenate(tests), np.concatenate(publics)
        train_idx = np.concatenate(trains)
        mix = rs.permutation(len(test_idx))
        test_idx, public = test_idx[mix], public[mix]
        train_idx = train_idx[rs.permutation(len(train_idx))]
        if public.sum() < MIN_PART_ROWS or (~public).sum() < MIN_PART_ROWS:
            raise ChallengeDataError(
                file, "too few rows in the public or private part of the hidden set", field="split"
            )
    return Split(
        train_X=np.ascontiguousarray(X[train_idx]),
        train_y=np.ascontiguousarray(y[train_idx]),
        test_X=np.ascontiguousarray(X[test_idx]),
        test_y=np.ascontiguousarray(y[test_idx]),
        public_mask=public,
    )


def build_split(
    spec: Any, *, origin: str = "bundle", secret: bytes | None = None
) -> tuple[Dataset, Split]:
    """The dataset and split of a `spec.ChallengeSpec`; `secret` is the installation's data
    secret, from which generated data without a pinned seed is drawn."""
    data_key = challenge_data_key(secret, spec.slug) if secret is not None else None
    dataset = build_dataset(spec.data, spec.task, spec.data_files, origin=origin, data_key=data_key)
    split = make_split(
        dataset,
        test_fraction=spec.test_fraction,
        public_fraction=spec.public_fraction,
        seed=spec.seed,
        file=error_file(origin, "challenge.toml"),
    )
    return dataset, split


def training_csv_bytes(
    X: np.ndarray, y: np.ndarray, feature_names: list[str], target_name: str
) -> bytes:
    """Training rows as CSV: a header, then shortest round-trip numbers (labels as integers)."""
    header = io.StringIO()
    csv.writer(header, lineterminator="\n").writerow([*feature_names, target_name])
    target_text = str if y.dtype.kind in "iu" else repr
    # ",".join(map(repr, ...)) is several times faster than csv.writer on 14M numbers.
    lines = [header.getvalue().rstrip("\n")]
    lines += [
        ",".join(map(repr, row)) + "," + target_text(target)
        for row, target in zip(X.tolist(), y.tolist(), strict=True)
    ]
    return ("\n".join(lines) + "\n").encode()
