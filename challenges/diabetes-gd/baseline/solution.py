"""Organizers' baseline: standardised batch gradient descent run to convergence.

With standardised features the loss surface is well conditioned enough for a learning
rate of 0.1; the loop stops when the loss no longer improves by a relative 1e-9.
"""

import numpy as np


class Model:
    def __init__(self):
        self.learning_rate = 0.1
        self.max_epochs = 20000
        self.loss_curve_ = []

    def fit(self, X, y):
        self.mean_ = X.mean(axis=0)
        self.std_ = X.std(axis=0) + 1e-12
        Z = (X - self.mean_) / self.std_
        n, d = Z.shape
        # Declared for the debrief (scores against these; shown as declared).
        self.hyperparameters_ = {
            "optimizer": "gd",
            "learning_rate": self.learning_rate,
            "batch_size": n,
            "max_epochs": self.max_epochs,
            "tolerance": 1e-9,
            "l2": 0.0,
        }
        self.w_ = np.zeros(d)
        self.b_ = float(y.mean())
        previous = np.inf
        for _ in range(self.max_epochs):
            error = Z @ self.w_ + self.b_ - y
            loss = float(np.mean(error**2))
            self.loss_curve_.append(loss)
            if previous - loss < 1e-9 * previous:
                break
            previous = loss
            self.w_ -= self.learning_rate * (2 / n) * (Z.T @ error)
            self.b_ -= self.learning_rate * 2 * error.mean()
        return self

    def predict(self, X):
        return ((X - self.mean_) / self.std_) @ self.w_ + self.b_
