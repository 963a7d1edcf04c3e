"""Nesterov momentum tuned to the valley (full batch): the gradient is taken at the point the
momentum is about to carry the parameters to, which lets a higher momentum stay stable."""

import numpy as np


class Optimizer:
    batch_size = None

    def __init__(self):
        self.learning_rate = 0.006  # below 1/L, which Nesterov's look-ahead needs
        self.momentum = 0.97
        self.velocity = None

    def step(self, params, grad, loss):
        # The parameters held are the look-ahead point (Sutskever et al.'s form).
        if self.velocity is None:
            self.velocity = [np.zeros_like(g) for g in grad]
        out = []
        for p, v, g in zip(params, self.velocity, grad, strict=True):
            previous = v.copy()
            v *= self.momentum
            v -= self.learning_rate * g
            out.append(p - self.momentum * previous + (1 + self.momentum) * v)
        return out
