"""Starter: logistic regression by mini-batch gradient descent.

A linear model cannot separate classes made of several clusters each: this starter
plateaus near two thirds. Replace it with a small network (one or two hidden layers,
ReLU or tanh), backpropagate the gradient yourself, and try Adam instead of plain steps.
"""

import numpy as np


def sigmoid(z):
    return np.exp(-np.logaddexp(0, -z))


class Model:
    def __init__(self):
        self.learning_rate = 0.1
        self.epochs = 10
        self.batch_size = 128
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
            "batch_size": self.batch_size,
            "epochs": self.epochs,
            "l2": 0.0,
        }
        rng = np.random.default_rng(0)
        self.w_ = np.zeros(d)
        self.b_ = 0.0
        for _ in range(self.epochs):
            order = rng.permutation(n)
            for start in range(0, n, self.batch_size):
                rows = order[start : start + self.batch_size]
                g = sigmoid(Z[rows] @ self.w_ + self.b_) - y[rows]
                self.w_ -= self.learning_rate * Z[rows].T @ g / len(rows)
                self.b_ -= self.learning_rate * g.mean()
            z = Z @ self.w_ + self.b_
            self.loss_curve_.append(float(np.mean(np.logaddexp(0, z) - y * z)))
        return self

    def predict_proba(self, X):
        p = sigmoid(((X - self.mean_) / self.std_) @ self.w_ + self.b_)
        return np.column_stack([1 - p, p])

    def predict(self, X):
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)
