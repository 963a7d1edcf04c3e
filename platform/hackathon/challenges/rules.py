"""What a challenge's rules say, in one place: the challenge page, the starter kit's README
and the API state the same sentences."""

from __future__ import annotations

from hackathon.challenges.models import Challenge

CLASSIC_BADGE = "Classic: labels are public, not for ranking"


def gradient_descent_rule(challenge: Challenge) -> str:
    """The gradient-descent-only rule as sentences, or "" when the challenge has it off.

    It says which part the platform enforces itself and which part the organizers' review
    enforces: a program can solve the normal equations with arithmetic it writes itself, so
    "trained by gradient descent" as a whole cannot be checked by the machine alone."""
    if not challenge.gradient_descent_only:
        return ""
    points = challenge.min_loss_curve_points
    return (
        "Gradient descent only: train the model by steps that follow the gradient of its "
        "loss (plain, stochastic or mini-batch gradient descent, momentum, Adam and the like, "
        "conjugate gradient), and record the training loss in loss_curve_. "
        "Enforced by the platform: numpy's closed-form solvers and decompositions "
        "(numpy.linalg solve, lstsq, inv, pinv, tensorsolve, tensorinv, qr, svd, eig, eigh, "
        "eigvals, eigvalsh, cholesky; numpy.polyfit and numpy.polynomial) are refused by any "
        "route, at upload when the code shows them (no quota used) and as a rule violation "
        "when they are reached at run time; products, norms and determinants stay allowed; "
        f"loss_curve_ must hold at least {points} finite values. "
        "Enforced by the organizers' review: solving for the weights directly by any other "
        "route (elimination or substitution written by hand, Cramer's rule with "
        "determinants, an inverse by iteration, code run from text) breaks the rule too, and "
        "loss_curve_ must be the loss the training recorded. The platform flags for the "
        "organizers what it recognises of these (the code, with its lines; a curve that does "
        "not end at the training loss it measures for the final model, or that looks "
        "computed or typed in), and organizers disqualify submissions that break the rule."
    )


def public_labels_note(challenge: Challenge) -> str:
    """Why a classic challenge is for practice only, or "" for a competition-grade one."""
    if not challenge.public_labels:
        return ""
    return (
        "The hidden labels of this challenge are public (its data ships with scikit-learn, or "
        "is generated from a seed in its bundle): a lookup scores perfectly, so its "
        "leaderboard is for practice, not for ranking."
    )


def rules_markdown(challenge: Challenge) -> str:
    """The rules paragraph of the starter kit's README (ends with a blank line, or empty)."""
    parts = []
    if challenge.gradient_descent_only:
        parts.append(f"**{gradient_descent_rule(challenge)}**")
    if challenge.public_labels:
        parts.append(f"**{CLASSIC_BADGE}.** {public_labels_note(challenge)}")
    return "".join(f"\n{part}\n" for part in parts) + ("\n" if parts else "")
