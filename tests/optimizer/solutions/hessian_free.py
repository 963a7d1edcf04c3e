"""Second order by probing: Hessian-free Newton.

Conjugate gradients on the Newton system, with Hessian-vector products from finite differences
of exact (full-batch) gradients, H p = (g(x + h p) - g(x)) / h: two gradients per iteration,
residuals measured at every iterate. Restarts along the gradient where the curvature along
the direction is not positive (a loss that is not convex).
"""

import numpy as np


class Optimizer:
    batch_size = None

    def __init__(self):
        self.shapes = None
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
        if self.probing:  # g is the gradient at x + h p
            self.probing = False
            Hp = (g - self.g) / self.h
            curvature = float(self.p @ Hp)
            if curvature <= 0:
                self.p = None  # restart: a short step down the gradient
                return self._split(self.x - 1e-3 * self.g)
            alpha = float(self.r @ self.r) / curvature
            return self._split(self.x + alpha * self.p)
        r = -g
        if self.p is None:
            self.p = r.copy()
        else:
            self.p = r + float(r @ r) / max(float(self.r @ self.r), 1e-300) * self.p
        self.x, self.g, self.r = x, g, r
        if getattr(self, "examples_used", 0) + self.n_train >= self.budget:
            return self._split(x)  # the last step: stay on the iterate, not a probe
        self.h = 1e-4 * max(1.0, float(np.abs(x).max())) / (float(np.abs(self.p).max()) + 1e-300)
        self.probing = True
        return self._split(x + self.h * self.p)
