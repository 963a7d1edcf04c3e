"""`{{ value|score:challenge }}`: a score as published (challenges.precision, THE rule)."""

from __future__ import annotations

from django import template

from hackathon.challenges.models import Challenge
from hackathon.challenges.precision import score_text

register = template.Library()


@register.filter(name="score")
def score_filter(value: float | None, challenge: Challenge) -> str:
    return score_text(value, challenge.display_precision)
