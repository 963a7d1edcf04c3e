"""Baseline: heavy-ball momentum with full batches, tuned to the valley.

Plain descent must keep its step below 2/L (L the steepest curvature) and then crawls along
the flat floor of the valley. Momentum lets the step build up along directions where the
gradient keeps pointing the same way and cancel out where it flips: it needs about the square
root of the condition number in steps instead of the condition number.
"""

import numpy as np


class Optimizer:
    batch_size = None  # full batch: no gradient noise near the target

    def __init__(self):
        self.learning_rate = 0.015  # about 3/L: heavy ball is stable up to 2(1 + momentum)/L
        self.momentum = 0.96  # close to (1 - 1/sqrt(condition number))**2, a little lower
        self.velocity = None

    def step(self, params, grad, loss):
        if self.velocity is None:
            self.velocity = [np.zeros_like(g) for g in grad]
        for v, g in zip(self.velocity, grad):
            v *= self.momentum
            v -= self.learning_rate * g
        return [p + v for p, v in zip(params, self.velocity)]
