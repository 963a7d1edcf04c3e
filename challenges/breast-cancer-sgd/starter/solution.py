"""Starter: logistic regression by stochastic gradient descent (one row at a time).

It standardises the features, shuffles the rows each epoch and takes one step per row.
Try more epochs, a decaying learning rate and L2 regularisation; `predict_proba` is what
the log loss is computed from, so keep the probabilities honest.
"""

import numpy as np


class Model:
    def __init__(self):
        self.learning_rate = 0.01
        self.epochs = 3
        self.loss_curve_ = []

    def fit(self, X, y):
        self.mean_ = X.mean(axis=0)
        self.std_ = X.std(axis=0) + 1e-12
        Z = (X - self.mean_) / self.std_
        n, d = Z.shape
        # Declared for the debrief, which plots every team's score against these (shown
        # as declared, not measured): keep them true when you change the training.
        self.hyperparameters_ = {
            "optimizer": "sgd",
            "learning_rate": self.learning_rate,
            "batch_size": 1,  # one row per step
            "epochs": self.epochs,
            "l2": 0.0,
        }
        rng = np.random.default_rng(0)
        self.w_ = np.zeros(d)
        self.b_ = 0.0
        for _ in range(self.epochs):
            for i in rng.permutation(n):
                p = 1 / (1 + np.exp(-(Z[i] @ self.w_ + self.b_)))
                self.w_ -= self.learning_rate * (p - y[i]) * Z[i]
                self.b_ -= self.learning_rate * (p - y[i])
            p = np.clip(self._sigmoid(Z), 1e-15, 1 - 1e-15)
            self.loss_curve_.append(float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))))
        return self

    def _sigmoid(self, Z):
        return 1 / (1 + np.exp(-(Z @ self.w_ + self.b_)))

    def predict_proba(self, X):
        p = self._sigmoid((X - self.mean_) / self.std_)
        return np.column_stack([1 - p, p])

    def predict(self, X):
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)
