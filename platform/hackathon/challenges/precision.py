"""THE rule for how a score is published: rounded to the challenge's display precision.

Every channel that shows a score to participants (pages, fragments, the projector's JSON,
CSV exports, the API, live events) takes it from `score_round` / `score_text`, so a score
reads the same everywhere, and the leaderboard ranks by the same rounded value (scores
equal at display precision are tied; see `hackathon.leaderboard.scoring`). Publishing
only that many significant digits also limits leaderboard probing: a team cannot read
single-row differences off the 16th digit of a public score.

Full-precision and private values stay on the trusted side: the database, organizer
exports.
"""

from __future__ import annotations

import math

DEFAULT_DISPLAY_PRECISION = 5  # significant digits
MIN_DISPLAY_PRECISION = 1
MAX_DISPLAY_PRECISION = 12


def score_round(value: float | None, digits: int) -> float | None:
    """`value` rounded to `digits` significant digits (the nearest float to the decimal
    shown); None for a missing or non-finite value."""
    if value is None:
        return None
    value = float(value)
    if not math.isfinite(value):
        return None
    return float(f"{value:.{digits}g}")


def score_text(value: float | None, digits: int) -> str:
    """The score as shown: `digits` significant digits, exponent notation for very large
    or small magnitudes (1.2346e+87, never a 100-digit number); "" when missing."""
    if value is None:
        return ""
    value = float(value)
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return f"{value:.{digits}g}"
