"""Organizers' baseline: a two-hidden-layer network (64 and 32 ReLU units) trained by
backpropagation with Adam on mini-batches of 128, He initialisation, 40 epochs."""

import numpy as np


def sigmoid(z):
    return np.exp(-np.logaddexp(0, -z))


class Model:
    def __init__(self):
        self.sizes = (64, 32)
        self.learning_rate = 2e-3
        self.epochs = 40
        self.batch_size = 128
        self.loss_curve_ = []

    def _forward(self, Z):
        activations = [Z]
        h = Z
        for W, b in zip(self.W_[:-1], self.b_[:-1]):
            h = np.maximum(h @ W + b, 0.0)
            activations.append(h)
        logits = h @ self.W_[-1] + self.b_[-1]
        return activations, logits[:, 0]

    def fit(self, X, y):
        self.mean_ = X.mean(axis=0)
        self.std_ = X.std(axis=0) + 1e-12
        Z = (X - self.mean_) / self.std_
        n, d = Z.shape
        rng = np.random.default_rng(0)
        dims = [d, *self.sizes, 1]
        self.W_ = [rng.normal(0, np.sqrt(2 / a), (a, b)) for a, b in zip(dims[:-1], dims[1:])]
        self.b_ = [np.zeros(b) for b in dims[1:]]
        params = self.W_ + self.b_
        m = [np.zeros_like(p) for p in params]
        v = [np.zeros_like(p) for p in params]
        beta1, beta2, eps, t = 0.9, 0.999, 1e-8, 0
        # Declared for the debrief (scores against these; shown as declared).
        self.hyperparameters_ = {
            "optimizer": "adam",
            "learning_rate": self.learning_rate,
            "batch_size": self.batch_size,
            "epochs": self.epochs,
            "beta1": beta1,
            "beta2": beta2,
            "epsilon": eps,
            "hidden_layers": ", ".join(str(size) for size in self.sizes),
            "l2": 0.0,
        }
        for _ in range(self.epochs):
            order = rng.permutation(n)
            for start in range(0, n, self.batch_size):
                rows = order[start : start + self.batch_size]
                acts, logits = self._forward(Z[rows])
                delta = ((sigmoid(logits) - y[rows]) / len(rows))[:, None]
                grads_W, grads_b = [], []
                for layer in range(len(self.W_) - 1, -1, -1):
                    grads_W.append(acts[layer].T @ delta)
                    grads_b.append(delta.sum(axis=0))
                    if layer:
                        delta = (delta @ self.W_[layer].T) * (acts[layer] > 0)
                grads = grads_W[::-1] + grads_b[::-1]
                t += 1
                for p, g, mi, vi in zip(params, grads, m, v):
                    mi *= beta1
                    mi += (1 - beta1) * g
                    vi *= beta2
                    vi += (1 - beta2) * g * g
                    p -= (
                        self.learning_rate
                        * (mi / (1 - beta1**t))
                        / (np.sqrt(vi / (1 - beta2**t)) + eps)
                    )
            _, z = self._forward(Z)
            self.loss_curve_.append(float(np.mean(np.logaddexp(0, z) - y * z)))
        return self

    def predict_proba(self, X):
        _, z = self._forward((X - self.mean_) / self.std_)
        p = sigmoid(z)
        return np.column_stack([1 - p, p])

    def predict(self, X):
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)
