import numpy as np

BETA1, BETA2, EPS = 0.9, 0.999, 1e-8


class Model:
    """Full-batch Adam on a quadratic feature expansion, with a decaying step size."""

    def __init__(self):
        self.steps = 400
        self.alpha = 0.1
        self.loss_curve_ = []

    def features(self, X):
        X = (X - self.center) / self.spread
        squares = X**2
        return np.hstack([X, squares, np.ones((X.shape[0], 1))])

    def fit(self, X, y):
        self.center = np.median(X, axis=0)
        self.spread = np.percentile(X, 75, axis=0) - np.percentile(X, 25, axis=0) + 1e-9
        F = self.features(X)
        theta = np.zeros(F.shape[1])
        m = np.zeros_like(theta)
        v = np.zeros_like(theta)
        for t in range(1, self.steps + 1):
            pred = F @ theta
            diff = pred - y
            self.loss_curve_.append(float(diff @ diff / len(y)))
            g = F.T @ diff * (2.0 / len(y))
            m = BETA1 * m + (1 - BETA1) * g
            v = BETA2 * v + (1 - BETA2) * g * g
            m_hat = m / (1 - BETA1**t)
            v_hat = v / (1 - BETA2**t)
            theta -= self.alpha / np.sqrt(t) * m_hat / (np.sqrt(v_hat) + EPS)
        self.theta = theta
        return self

    def predict(self, X):
        return self.features(X) @ self.theta
