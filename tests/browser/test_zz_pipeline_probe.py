"""Temporary probe by PIPELINE (not committed): look at the submission page live."""

from __future__ import annotations

import time

from tests.browser import actions

CHALLENGE = "Browser journeys: diabetes by gradient descent"

SLOW_GD = """
import time
import numpy as np

class Model:
    def fit(self, X, y):
        mu, sd = X.mean(0), X.std(0) + 1e-9
        Z = (X - mu) / sd
        self.mu, self.sd = mu, sd
        self.w = np.zeros(X.shape[1]); self.b = float(y.mean()); self.loss_curve_ = []
        for i in range(60):
            err = Z @ self.w + self.b - y
            self.loss_curve_.append(float(np.mean(err ** 2)))
            self.w -= 0.05 * Z.T @ err / len(y)
            time.sleep(0.05)
        return self

    def predict(self, X):
        return ((X - self.mu) / self.sd) @ self.w + self.b
"""


def test_probe(open_browser) -> None:
    page = open_browser("probe", width=1100, height=1400)
    actions.sign_up(page, "probe_user")
    actions.create_team(page, "Probe Team")
    first = actions.submit_code(page, CHALLENGE, SLOW_GD)
    time.sleep(2.0)
    page.screenshot(path="/tmp/pipeline_running.png", full_page=True)
    actions.expect_verdict(page, "Scored")
    time.sleep(0.5)
    page.screenshot(path="/tmp/pipeline_first_done.png", full_page=True)
    second = actions.submit_code(page, CHALLENGE, SLOW_GD.replace("0.05 * Z", "0.2 * Z"))
    actions.expect_verdict(page, "Scored")
    page.get_by_label(f"#{first}", exact=False).first.check()
    page.get_by_label("Log scale").check()
    time.sleep(1.0)
    page.screenshot(path="/tmp/pipeline_finished.png", full_page=True)
    print("submissions", first, second)
