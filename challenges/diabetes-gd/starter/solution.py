"""Starter: linear regression by batch gradient descent.

It standardises the features (the raw units range from 0 to 600: without scaling the
gradient explodes to NaN) and takes 100 small steps. It works, but it stops long before
the minimum: try a larger learning rate, more epochs, and watch `loss_curve_`.
"""

import numpy as np


class Model:
    def __init__(self):
        self.learning_rate = 0.01
        self.epochs = 100
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
