"""Second order by probing: the Hessian's diagonal from random probes, then preconditioned
conjugate gradients.

Hutchinson's estimator, diag(H) ~ mean of v * H v over random +-1 vectors v (H v from two
exact gradients), then conjugate gradients preconditioned by that diagonal, Hessian-vector
products by finite differences (two gradients per iteration).
"""

import numpy as np


class Optimizer:
    batch_size = None
    PROBES = 12

    def __init__(self):
        self.rng = np.random.RandomState(0)
        self.shapes = None
        self.diag = None
        self.p = None
        self.probing = False

    def start(self, info):
        self.budget, self.n_train = info.budget, info.n_train

    def _split(self, flat):
        out, at = [], 0
        for shape in self.shapes:
            size = int(np.prod(shape))
            out.append(flat[at : at + size].reshape(shape))
            at += size
        return out

    def step(self, params, grad, loss):
        x = np.concatenate([p.ravel() for p in params])
        g = np.concatenate([q.ravel() for q in grad])
        if self.shapes is None:
            self.shapes = [p.shape for p in params]
            self.x0, self.g0 = x, g
            self.sum, self.k = np.zeros(x.size), 0
            self.h = 1e-4 * max(1.0, float(np.abs(x).max()))
        if self.diag is None:
            if self.k:
                self.sum += self.v * (g - self.g0) / self.h
            if self.k < self.PROBES:
                self.k += 1
                self.v = self.rng.choice([-1.0, 1.0], size=x.size)
                return self._split(self.x0 + self.h * self.v)
            self.diag = np.maximum(np.abs(self.sum / self.PROBES), 1e-8)
            x, g = self.x0, self.g0
        if self.probing:  # g is the gradient at x + h p
            self.probing = False
            Hp = (g - self.g) / self.h
            curvature = float(self.p @ Hp)
            if curvature <= 0:
                self.p = None
                return self._split(self.x - 1e-3 * self.g)
            alpha = float(self.r @ self.z) / curvature
            return self._split(self.x + alpha * self.p)
        r = -g
        z = r / self.diag
        if self.p is None:
            self.p = z.copy()
        else:
            self.p = z + float(r @ z) / max(float(self.r @ self.z), 1e-300) * self.p
        self.x, self.g, self.r, self.z = x, g, r, z
        if getattr(self, "examples_used", 0) + self.n_train >= self.budget:
            return self._split(x)
        self.h = 1e-4 * max(1.0, float(np.abs(x).max())) / (float(np.abs(self.p).max()) + 1e-300)
        self.probing = True
        return self._split(x + self.h * self.p)
