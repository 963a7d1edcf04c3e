"""Reaches for the operating system: the pre-check refuses it before it runs."""

import subprocess

import numpy as np


class Model:
    def fit(self, X, y):
        subprocess.run(["true"])
        self.mean_ = float(np.mean(y))
        return self

    def predict(self, X):
        return np.full(len(X), self.mean_)
