"""Mini-batch SGD with momentum and L2, features standardised, early stopping."""

import numpy as np


def standardise(X, mean, scale):
    return (X - mean) / scale


class Model:
    def __init__(self, lr=0.05, epochs=60, batch=32, momentum=0.9, l2=1e-3, seed=0):
        self.lr = lr
        self.epochs = epochs
        self.batch = batch
        self.momentum = momentum
        self.l2 = l2
        self.rng = np.random.default_rng(seed)
        self.loss_curve_ = []

    def _loss(self, Z, y):
        residual = Z @ self.coef + self.intercept - y
        return float(np.mean(residual**2) + self.l2 * np.sum(self.coef**2))

    def fit(self, X, y):
        self.mean = X.mean(axis=0)
        self.scale = np.where(X.std(axis=0) > 0, X.std(axis=0), 1.0)
        Z = standardise(X, self.mean, self.scale)
        rows, cols = Z.shape
        self.coef = np.zeros(cols)
        self.intercept = float(np.mean(y))
        velocity = np.zeros(cols)
        best, patience = np.inf, 0
        for _epoch in range(self.epochs):
            order = self.rng.permutation(rows)
            for start in range(0, rows, self.batch):
                pick = order[start : start + self.batch]
                residual = Z[pick] @ self.coef + self.intercept - y[pick]
                grad = 2 * Z[pick].T @ residual / len(pick) + 2 * self.l2 * self.coef
                velocity = self.momentum * velocity - self.lr * grad
                self.coef = self.coef + velocity
                self.intercept -= self.lr * 2 * residual.mean()
            loss = self._loss(Z, y)
            self.loss_curve_.append(loss)
            if loss < best - 1e-6:
                best, patience = loss, 0
            else:
                patience += 1
                if patience >= 5:
                    break
        return self

    def predict(self, X):
        return standardise(X, self.mean, self.scale) @ self.coef + self.intercept
