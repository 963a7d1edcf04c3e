"""Adam tuned to the valley (full batch): per-coordinate steps help less than momentum here,
because the valley is not aligned with the coordinate axes, but its first moment is momentum."""

import numpy as np


class Optimizer:
    batch_size = None

    def __init__(self):
        self.learning_rate = 5.0
        self.beta1, self.beta2, self.eps = 0.9, 0.9, 1e-8  # a short memory of the scale
        self.m = self.v = None
        self.t = 0

    def step(self, params, grad, loss):
        if self.m is None:
            self.m = [np.zeros_like(g) for g in grad]
            self.v = [np.zeros_like(g) for g in grad]
        self.t += 1
        out = []
        for p, g, m, v in zip(params, grad, self.m, self.v, strict=True):
            m[...] = self.beta1 * m + (1 - self.beta1) * g
            v[...] = self.beta2 * v + (1 - self.beta2) * g * g
            m_hat = m / (1 - self.beta1**self.t)
            v_hat = v / (1 - self.beta2**self.t)
            out.append(p - self.learning_rate * m_hat / (np.sqrt(v_hat) + self.eps))
        return out
