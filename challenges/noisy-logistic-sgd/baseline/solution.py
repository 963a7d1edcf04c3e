"""Baseline: SGD with momentum, a decaying learning rate and iterate averaging.

With noisy labels each mini-batch gradient points somewhere random around the true one: a
fixed step keeps the parameters bouncing around the optimum. A decaying step lets them
settle, and the average of the iterates of the last part of the run (Polyak-Ruppert) cancels
most of the bounce. The final parameters returned are that average.
"""

import numpy as np


class Optimizer:
    batch_size = 32

    def __init__(self):
        self.learning_rate = 0.5
        self.momentum = 0.5
        self.velocity = None
        self.average = None
        self.t = 0
        self.n_averaged = 0

    def start(self, info):
        self.total_steps = info.budget // self.batch_size

    def step(self, params, grad, loss):
        if self.velocity is None:
            self.velocity = [np.zeros_like(g) for g in grad]
        self.t += 1
        lr = self.learning_rate / (1 + self.t / 50) ** 0.6
        current = []
        for p, g, v in zip(params, grad, self.velocity):
            v[...] = self.momentum * v - lr * g
            current.append(p + v)
        # Average the iterates of the second half; hand back the average at the end.
        if self.t > self.total_steps // 2:
            self.n_averaged += 1
            if self.average is None:
                self.average = [c.copy() for c in current]
            else:
                for a, c in zip(self.average, current):
                    a += (c - a) / self.n_averaged
        if self.t >= self.total_steps and self.average is not None:
            return self.average
        return current
