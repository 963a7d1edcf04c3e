"""Organizers' baseline: standardise with a single copy of X, then full-batch
gradient descent with a step of 0.5 until the loss stops improving."""

import numpy as np


class Model:
    def __init__(self):
        self.learning_rate = 0.5
        self.max_epochs = 500
        self.loss_curve_ = []

    def fit(self, X, y):
        self.mean_ = X.mean(axis=0)
        self.std_ = X.std(axis=0) + 1e-12
        Z = X - self.mean_  # one copy of X, then scaled in place: no third copy
        Z /= self.std_
        n, d = Z.shape
        # Declared for the debrief (scores against these; shown as declared).
        self.hyperparameters_ = {
            "optimizer": "gd",
            "learning_rate": self.learning_rate,
            "batch_size": n,
            "max_epochs": self.max_epochs,
            "tolerance": 1e-10,
            "l2": 0.0,
        }
        self.w_ = np.zeros(d)
        self.b_ = float(y.mean())
        previous = np.inf
        for _ in range(self.max_epochs):
            error = Z @ self.w_ + self.b_ - y
            loss = float(np.mean(error**2))
            self.loss_curve_.append(loss)
            if previous - loss < 1e-10 * previous:
                break
            previous = loss
            self.w_ -= self.learning_rate * (2 / n) * (Z.T @ error)
            self.b_ -= self.learning_rate * 2 * error.mean()
        return self

    def predict(self, X):
        return ((X - self.mean_) / self.std_) @ self.w_ + self.b_
