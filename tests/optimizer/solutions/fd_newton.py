"""Second order by probing: finite-difference Newton.

The Hessian column by column from exact (full-batch) gradients at x + h e_i, then the Newton
step, repeated from there (a loss that is not quadratic needs several rounds). On a quadratic
with d parameters one round (d + 1 gradients) lands on the minimum.
"""

import numpy as np


class Optimizer:
    batch_size = None  # the whole training set: exact gradients, so differences are exact

    def __init__(self):
        self.shapes = None
        self.i = -1
        self.best = None

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
        if self.i == -1:
            self.x0, self.g0, self.best = x.copy(), g.copy(), x.copy()
            self.H = np.zeros((x.size, x.size))
            self.h = 1e-4 * max(1.0, float(np.abs(x).max()))
        else:
            self.H[:, self.i] = (g - self.g0) / self.h
        self.i += 1
        if getattr(self, "examples_used", 0) + self.n_train >= self.budget:
            return self._split(self.best)  # the last step: hand back the Newton point
        if self.i < x.size:
            probe = self.x0.copy()
            probe[self.i] += self.h
            return self._split(probe)
        H = (self.H + self.H.T) / 2
        H += (1e-9 * float(np.abs(np.diag(H)).max()) + 1e-12) * np.eye(x.size)
        new = self.x0 - np.linalg.solve(H, self.g0)
        if not np.isfinite(new).all():
            new = self.x0 - 1e-3 * self.g0
        self.i = -1  # another Newton round from the new point
        self.validate = True  # costs a validation's rows, and may stop the clock at once
        return self._split(new)
