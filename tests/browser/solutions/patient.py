"""Thinks for a second and a half before it trains: while it runs, the next submission waits in the queue."""

import time

import numpy as np


class Model:
    def __init__(self):
        self.learning_rate = 0.01
        self.epochs = 60
        self.loss_curve_ = []

    def fit(self, X, y):
        time.sleep(1.5)
        self.mean_ = X.mean(axis=0)
        self.std_ = X.std(axis=0) + 1e-12
        Z = (X - self.mean_) / self.std_
        n, d = Z.shape
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
