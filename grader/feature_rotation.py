"""An optimizer-track instance's secret rotation of the feature coordinates (trusted side only).

The starter kit ships the training pool every instance draws its rows from, so anyone can fit
the model to it offline. Were the instances posed in the pool's own coordinates, a solution
could return those fitted parameters at its first step and reach any target at once, with no
optimization at all. Each instance instead sees the features through a random rotation drawn
from its secret seed: distances, the loss values and the spectrum of the loss's curvature are
unchanged, so the problem is exactly as hard, but the parameters that solve it are different on
every instance (`Workload.rotate`, the default).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DENSE_ROTATION_MAX = 512  # features; above it, two rounds of random 256-wide block rotations
ROTATION_BLOCK = 256


def _haar(rng: np.random.Generator, d: int) -> np.ndarray:
    """A random orthogonal matrix, uniform (Haar) over O(d)."""
    q, r = np.linalg.qr(rng.standard_normal((d, d)))
    return q * np.sign(np.diag(r))


def _block_rotation(rng: np.random.Generator, d: int) -> np.ndarray:
    """Haar rotations of consecutive 256-wide blocks (the last one narrower), stacked."""
    count = -(-d // ROTATION_BLOCK)
    out = np.zeros((count, ROTATION_BLOCK, ROTATION_BLOCK))
    for i in range(count):
        width = min(ROTATION_BLOCK, d - i * ROTATION_BLOCK)
        out[i, :width, :width] = _haar(rng, width)
    return out


@dataclass(frozen=True)
class FeatureRotation:
    """X -> X @ Q for an instance. Drawn from the instance's seed in a stream of its own: the
    rows, labels, initial parameters and batches are drawn as without it."""

    # (column permutation or None, rotation): one dense rotation, or for many features two
    # rounds of a permutation and 256-wide block rotations (drawing a dense one is cubic in d).
    rounds: tuple[tuple[np.ndarray | None, np.ndarray], ...] = ()

    @classmethod
    def draw(cls, *, d: int, seed: int) -> FeatureRotation:
        rng = np.random.default_rng((seed % 2**32, 0x5EC2E7))
        if d < 2:
            return cls(())
        if d <= DENSE_ROTATION_MAX:
            return cls(((None, _haar(rng, d)),))
        return cls(tuple((rng.permutation(d), _block_rotation(rng, d)) for _ in range(2)))

    def apply(self, X: np.ndarray) -> np.ndarray:
        for perm, rotation in self.rounds:
            if perm is None:
                X = X @ rotation
                continue
            X = X[:, perm]
            out = np.empty_like(X)
            for i, lo in enumerate(range(0, X.shape[1], ROTATION_BLOCK)):
                hi = min(lo + ROTATION_BLOCK, X.shape[1])
                out[:, lo:hi] = X[:, lo:hi] @ rotation[i, : hi - lo, : hi - lo]
            X = out
        return np.ascontiguousarray(X)
