"""Starter: plain mini-batch SGD with a fixed learning rate."""


class Optimizer:
    batch_size = 16

    def __init__(self):
        self.learning_rate = 2.0

    def step(self, params, grad, loss):
        return [p - self.learning_rate * g for p, g in zip(params, grad)]
