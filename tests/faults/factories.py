"""Small challenges, teams and solutions for fault tests (rows committed for real workers).

The challenge is built straight from arrays (DataBlob rows keyed by sha256), so these tests
depend only on the data model, not on how bundles are parsed.
"""

from __future__ import annotations

import hashlib
import io
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable

import numpy as np
from django.contrib.auth import get_user_model
from django.db import connection
from hackathon.accounts.models import Team
from hackathon.accounts.services import team_create
from hackathon.challenges.models import Challenge, DataBlob
from hackathon.leaderboard.models import TeamScore
from hackathon.submissions.models import State, Submission

# A solution that trains for a few steps and predicts a constant: the score is known.
TRIVIAL = """
import numpy as np


class Model:
    def fit(self, X, y):
        self.loss_curve_ = []
        self.c = 0.0
        for _ in range(5):
            self.c += 0.5 * (float(np.mean(y)) - self.c)
            self.loss_curve_.append(float(np.mean((y - self.c) ** 2)))
        self.c = float(np.mean(y))

    def predict(self, X):
        return np.full(len(X), self.c)
"""


def constant_solution(value: float) -> str:
    """Predicts `value` for every row: its RMSE on any split is computable by the test."""
    return f"""
import numpy as np


class Model:
    def fit(self, X, y):
        self.loss_curve_ = [1.0, 0.5]

    def predict(self, X):
        return np.full(len(X), {value!r})
"""


def sleepy_solution(seconds: float, value: float = 1.0) -> str:
    """Sits in fit() for `seconds` (long enough to be killed or cut off mid-grade)."""
    return f"""
import time

import numpy as np


class Model:
    def fit(self, X, y):
        self.loss_curve_ = []
        end = time.time() + {seconds!r}
        while time.time() < end:
            time.sleep(0.05)
        self.loss_curve_.append(1.0)

    def predict(self, X):
        return np.full(len(X), {value!r})
"""


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def _blob(array: np.ndarray) -> DataBlob:
    data = _npy(array)
    sha = hashlib.sha256(data).hexdigest()
    blob, _ = DataBlob.objects.get_or_create(sha256=sha, defaults={"data": data, "size": len(data)})
    return blob


def make_challenge(
    slug: str,
    *,
    time_limit_s: float = 20.0,
    daily_quota: int = 1000,
    inflight_cap: int = 0,
    n_train: int = 120,
    n_test: int = 80,
    seed: int = 7,
) -> Challenge:
    """An open, published regression challenge (RMSE) with a tiny dataset."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_train + n_test, 3))
    y = X @ np.array([1.5, -2.0, 0.5]) + rng.normal(scale=0.1, size=n_train + n_test)
    public_mask = np.zeros(n_test, dtype=bool)
    public_mask[: n_test // 2] = True
    return Challenge.objects.create(
        slug=slug,
        title=slug.replace("-", " ").title(),
        task="regression",
        metric="rmse",
        n_features=3,
        feature_names=["a", "b", "c"],
        train_X=_blob(X[:n_train]),
        train_y=_blob(y[:n_train]),
        test_X=_blob(X[n_train:]),
        test_y=_blob(y[n_train:]),
        public_mask=_blob(public_mask),
        n_train=n_train,
        n_test=n_test,
        time_limit_s=time_limit_s,
        memory_mb=512,
        daily_quota=daily_quota,
        inflight_cap=inflight_cap,
        is_published=True,
    )


def expected_public_rmse(challenge: Challenge, value: float) -> float:
    """RMSE of predicting `value` everywhere, on the public rows of the hidden test set."""
    y = np.load(io.BytesIO(bytes(challenge.test_y.data)))
    mask = np.load(io.BytesIO(bytes(challenge.public_mask.data)))
    return float(np.sqrt(np.mean((y[mask] - value) ** 2)))


def make_teams(count: int, prefix: str = "team") -> list[tuple[object, Team]]:
    """`count` teams of one member each: [(user, team), ...]."""
    users = get_user_model()
    out = []
    for index in range(count):
        user = users.objects.create_user(username=f"{prefix}{index}", password="x-long-password-1")
        out.append((user, team_create(user=user, name=f"{prefix.title()} {index}")))
    return out


def in_threads(calls: Iterable[Callable[[], object]], *, threads: int = 8) -> list[object]:
    """Run the calls concurrently (each thread with its own database connection); returns
    each call's return value or the exception it raised, in order."""
    calls = list(calls)
    results: list[object] = [None] * len(calls)
    lock = threading.Lock()
    cursor = iter(range(len(calls)))
    start = threading.Barrier(threads)

    def run() -> None:
        start.wait()
        try:
            while True:
                with lock:
                    index = next(cursor, None)
                if index is None:
                    return
                try:
                    results[index] = calls[index]()
                except Exception as exc:  # noqa: BLE001 - collected for the test to inspect
                    results[index] = exc
        finally:
            connection.close()

    pool = [threading.Thread(target=run) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return results


def states(ids: Iterable[int]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for state in Submission.objects.filter(pk__in=list(ids)).values_list("state", flat=True):
        counts[state] = counts.get(state, 0) + 1
    return counts


def all_finished(ids: list[int]) -> bool:
    return Submission.objects.filter(pk__in=ids, state=State.FINISHED).count() == len(ids)


def assert_graded_once(challenge: Challenge, ids: list[int]) -> None:
    """Graded once: one finished, scored result per submission and one board entry for
    each (a team's `entries` counts its scored submissions). A platform retry (a worker that
    looked silent, its submission re-queued and refunded, graded again elsewhere) is
    legitimate: the attempt count is not the property."""
    rows = Submission.objects.filter(pk__in=ids)
    assert Counter(rows.values_list("state", "verdict")) == {(State.FINISHED, "scored"): len(ids)}
    per_team = Counter(rows.values_list("team_id", flat=True))
    board = TeamScore.objects.filter(challenge=challenge).values_list("team_id", "entries")
    assert dict(board) == dict(per_team), "a submission is on the board twice, or not at all"


def wait_for_state(
    submission_id: int, state: str, *, timeout: float, poll: Callable[[], None] | None = None
) -> Submission:
    deadline = time.monotonic() + timeout
    while True:
        submission = Submission.objects.get(pk=submission_id)
        if submission.state == state:
            return submission
        if time.monotonic() > deadline:
            raise AssertionError(
                f"submission {submission_id} is {submission.state} after {timeout:.0f} s, "
                f"expected {state} (attempts={submission.attempts}, worker={submission.worker!r}, "
                f"last_error={submission.last_error!r})"
            )
        if poll:
            poll()
        time.sleep(0.2)
