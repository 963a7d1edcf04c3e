"""Trains one row at a time, forever: it runs past the time limit."""

import numpy as np


class Model:
    def __init__(self):
        self.loss_curve_ = []

    def fit(self, X, y):
        self.w_ = np.zeros(X.shape[1])
        while True:
            for x, target in zip(X, y, strict=True):
                self.w_ -= 1e-9 * (x @ self.w_ - target) * x
        return self

    def predict(self, X):
        return X @ self.w_
