"""Baseline: Adam, with validation checks and early stopping on the best parameters.

Adam scales each weight's step by its own gradient history, which a small network with
saturating tanh units needs (some weights see tiny gradients, others large ones). Every 20
steps it asks the platform for the validation loss (each check costs 300 examples of the
budget), keeps the best parameters seen, and stops, handing them back, once the validation
loss has not improved for 5 checks: the rest of the budget would only overfit 600 rows.
"""

import numpy as np


class Optimizer:
    batch_size = 32

    def __init__(self):
        self.learning_rate = 0.01
        self.beta1, self.beta2, self.eps = 0.9, 0.999, 1e-8
        self.m = self.v = None
        self.t = 0
        self.best = None
        self.best_loss = float("inf")
        self.bad_checks = 0
        self.validate = False
        self.validation_loss = None
        self.stopping = False

    def step(self, params, grad, loss):
        if self.stopping:
            return None  # the best parameters were handed back last step
        if self.validation_loss is not None:
            # The loss of the parameters this optimizer returned last step.
            if self.validation_loss < self.best_loss - 1e-4:
                self.best_loss, self.best, self.bad_checks = self.validation_loss, params, 0
            else:
                self.bad_checks += 1
            self.validation_loss = None
            if self.bad_checks >= 4:
                self.stopping = True
                return self.best
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
        self.validate = self.t % 25 == 0
        return new
