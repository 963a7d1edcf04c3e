"""Baseline: Adam (per-parameter step sizes) with full batches.

The valley is long and narrow because the features have wildly different scales: one fixed
step size is too big across the valley and too small along it. Adam divides each
coordinate's step by a running estimate of its gradient's size, which undoes the scales.
"""

import numpy as np


class Optimizer:
    batch_size = None  # full batch: no gradient noise to fight

    def __init__(self):
        self.learning_rate = 20.0
        self.beta1, self.beta2, self.eps = 0.9, 0.999, 1e-8
        self.m = self.v = None
        self.t = 0

    def step(self, params, grad, loss):
        if self.m is None:
            self.m = [np.zeros_like(g) for g in grad]
            self.v = [np.zeros_like(g) for g in grad]
        self.t += 1
        new = []
        for p, g, m, v in zip(params, grad, self.m, self.v):
            m[...] = self.beta1 * m + (1 - self.beta1) * g
            v[...] = self.beta2 * v + (1 - self.beta2) * g * g
            m_hat = m / (1 - self.beta1**self.t)
            v_hat = v / (1 - self.beta2**self.t)
            new.append(p - self.learning_rate * m_hat / (np.sqrt(v_hat) + self.eps))
        return new
