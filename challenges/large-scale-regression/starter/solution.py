"""Starter: standardised, vectorised full-batch gradient descent.

Without standardisation the features span 1e-3 to 1e3 and any learning rate that
moves the small ones makes the large ones explode. This starter scales, then takes
only 20 steps: far from converged. The data is large: avoid Python loops over rows
and extra copies of X.
"""

import numpy as np


class Model:
    def __init__(self):
        self.learning_rate = 0.05
        self.epochs = 20
        self.loss_curve_ = []

    def fit(self, X, y):
        self.mean_ = X.mean(axis=0)
        self.std_ = X.std(axis=0) + 1e-12
        Z = (X - self.mean_) / self.std_
        n, d = Z.shape
        # Declared for the debrief, which plots every team's score against these (shown
        # as declared, not measured): keep them true when you change the training.
        self.hyperparameters_ = {
            "optimizer": "gd",
            "learning_rate": self.learning_rate,
            "batch_size": n,  # full batch: every row in each step
            "epochs": self.epochs,
            "l2": 0.0,
        }
        self.w_ = np.zeros(d)
        self.b_ = 0.0
        for _ in range(self.epochs):
            error = Z @ self.w_ + self.b_ - y
            self.loss_curve_.append(float(np.mean(error**2)))
            self.w_ -= self.learning_rate * (2 / n) * (Z.T @ error)
            self.b_ -= self.learning_rate * 2 * error.mean()
        return self

    def predict(self, X):
        return ((X - self.mean_) / self.std_) @ self.w_ + self.b_
