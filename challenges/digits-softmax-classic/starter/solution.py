"""Starter: softmax regression by mini-batch gradient descent.

Pixels are 0..16, so they are divided by 16. Each epoch shuffles the rows and steps
through mini-batches of 64. It learns, but few epochs and no regularisation leave room:
try the batch size, the learning rate, more epochs and L2 weight decay.
"""

import numpy as np


def softmax(scores):
    scores = scores - scores.max(axis=1, keepdims=True)  # no overflow in exp
    e = np.exp(scores)
    return e / e.sum(axis=1, keepdims=True)


class Model:
    def __init__(self):
        self.learning_rate = 0.1
        self.epochs = 5
        self.batch_size = 64
        self.loss_curve_ = []

    def fit(self, X, y):
        Z = X / 16.0
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
        k = int(y.max()) + 1
        Y = np.eye(k)[y]
        rng = np.random.default_rng(0)
        self.W_ = np.zeros((d, k))
        self.b_ = np.zeros(k)
        for _ in range(self.epochs):
            order = rng.permutation(n)
            for start in range(0, n, self.batch_size):
                rows = order[start : start + self.batch_size]
                P = softmax(Z[rows] @ self.W_ + self.b_)
                G = (P - Y[rows]) / len(rows)
                self.W_ -= self.learning_rate * Z[rows].T @ G
                self.b_ -= self.learning_rate * G.sum(axis=0)
            P = softmax(Z @ self.W_ + self.b_)
            self.loss_curve_.append(float(-np.mean(np.log(P[np.arange(n), y] + 1e-15))))
        return self

    def predict_proba(self, X):
        return softmax((X / 16.0) @ self.W_ + self.b_)

    def predict(self, X):
        return self.predict_proba(X).argmax(axis=1)
