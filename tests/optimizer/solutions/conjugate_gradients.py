"""Linear conjugate gradients with one gradient per iteration (a reference, not a trick).

Each probe is a guess of the next iterate along the search direction (the previous step's
length); the gradient there gives H p, the exact step along p, and by extrapolation the
gradient at the true iterate. A Krylov method: on a quadratic no method built from gradients
does much better once the parameters outnumber the iterations it needs.
"""

import numpy as np


class Optimizer:
    batch_size = None

    def __init__(self):
        self.shapes = None

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
            self.x, self.g, self.p = x, g, -g
            self.guess = 1e-3
        else:
            Hp = (g - self.g) / self.guess  # g was measured at x + guess * p
            curvature = max(float(self.p @ Hp), 1e-300)
            alpha = float(-self.g @ self.p) / curvature
            self.x = self.x + alpha * self.p
            g_new = g + (alpha - self.guess) * Hp
            self.p = -g_new + float(g_new @ Hp) / curvature * self.p
            self.g, self.guess = g_new, alpha
        return self._split(self.x + self.guess * self.p)
