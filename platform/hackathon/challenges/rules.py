"""What a challenge's rules say, in one place: the challenge page, the starter kit's README
and the API state the same sentences."""

from __future__ import annotations

from hackathon.challenges.models import Challenge

CLASSIC_BADGE = "Classic: labels are public, not for ranking"


def gradient_descent_rule(challenge: Challenge) -> str:
    """The gradient-descent-only rule as a sentence, or "" when the challenge has it off."""
    if not challenge.gradient_descent_only:
        return ""
    return (
        "Gradient descent only: the model must be trained by gradient descent. numpy's "
        "closed-form solvers and decompositions (numpy.linalg solve, lstsq, inv, pinv, "
        "tensorsolve, tensorinv, qr, svd, eig, eigh, eigvals, eigvalsh, cholesky; numpy.polyfit "
        "and numpy.polynomial) are refused by any route: at upload when the code shows them "
        "(no quota used), as a rule violation when they are reached at run time. Products, "
        "norms and determinants stay allowed. The model must record its training loss in "
        f"loss_curve_, at least {challenge.min_loss_curve_points} finite values."
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
