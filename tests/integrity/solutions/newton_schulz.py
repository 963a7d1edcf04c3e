"""An inverse by iteration (Newton-Schulz: X <- X (2I - G X)), then the normal equations;
iterative, but no gradient of the loss; the curve is the inverse's residual."""

import numpy as np


class Model:
    def fit(self, X, y):
        A = np.column_stack([np.ones(len(X)), X])
        G = A.T @ A
        identity = np.eye(G.shape[0])
        Z = G.T / (np.abs(G).sum(axis=0).max() * np.abs(G).sum(axis=1).max())
        self.loss_curve_ = []
        for _ in range(100):
            Z = Z @ (2 * identity - G @ Z)
            self.loss_curve_.append(float(np.abs(identity - G @ Z).max()))
        self.w = Z @ (A.T @ y)
        return self

    def predict(self, X):
        return np.column_stack([np.ones(len(X)), X]) @ self.w
