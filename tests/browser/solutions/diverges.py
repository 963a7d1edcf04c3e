"""Gradient descent on the raw features with a large step: the loss explodes to NaN."""

import numpy as np


class Model:
    def __init__(self):
        self.learning_rate = 0.1
        self.epochs = 200
        self.loss_curve_ = []

    def fit(self, X, y):
        n, d = X.shape
        self.w_ = np.zeros(d)
        for _ in range(self.epochs):
            error = X @ self.w_ - y
            self.loss_curve_.append(float(np.mean(error**2)))
            self.w_ -= self.learning_rate * (2 / n) * (X.T @ error)
        return self

    def predict(self, X):
        return X @ self.w_
