"""No optimization at all: parameters fitted offline, handed back at the first step.

The starter kit ships the training pool every instance draws its rows from, so a team can fit
the model to it at home and paste the result here (THETA, in the order and shapes of the
model's parameters; filled in by the test from its own pool). Then ask for the validation
loss at once: on a budget-to-target challenge that would stop the clock after one batch.
"""

import numpy as np

THETA = None  # filled in with the offline fit


class Optimizer:
    batch_size = 16

    def step(self, params, grad, loss):
        out, at = [], 0
        for p in params:
            out.append(np.asarray(THETA[at : at + p.size], dtype=float).reshape(p.shape))
            at += p.size
        self.validate = True
        return out
