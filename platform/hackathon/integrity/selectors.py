"""Reads for the organizers' integrity review: flagged submissions, a similar pair."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
from django.db.models import QuerySet

from hackathon.challenges.models import Challenge
from hackathon.integrity import fingerprint as fp
from hackathon.integrity.models import IntegrityFlag
from hackathon.submissions.models import Submission


@dataclass(frozen=True)
class CodeLine:
    number: int
    text: str
    shared: bool  # part of a fingerprint both sides hold (or: a flagged line)


@dataclass
class FlaggedSubmission:
    submission: Submission
    flags: list[IntegrityFlag] = field(default_factory=list)
    # Per flag id: the source lines that show it (direct solves, code run from text).
    excerpts: dict[int, list[CodeLine]] = field(default_factory=dict)

    def flags_with_excerpts(self) -> list[tuple[IntegrityFlag, list[CodeLine]]]:
        return [(flag, self.excerpts.get(flag.pk, [])) for flag in self.flags]


def flags_for_review(
    *, challenge: Challenge, include_dismissed: bool = False
) -> list[FlaggedSubmission]:
    """Flagged submissions of the challenge, most recent first, each with its flags."""
    flags: QuerySet[IntegrityFlag] = IntegrityFlag.objects.filter(challenge=challenge)
    if not include_dismissed:
        flags = flags.filter(dismissed_at__isnull=True)
    grouped: dict[int, FlaggedSubmission] = {}
    for flag in flags.select_related(
        "submission__team", "other_submission__team", "dismissed_by"
    ).order_by("-submission__created_at", "kind", "pk"):
        entry = grouped.setdefault(flag.submission_id, FlaggedSubmission(flag.submission))
        entry.flags.append(flag)
        if flag.lines:
            entry.excerpts[flag.pk] = flag_excerpt(code=flag.submission.code, lines=flag.lines)
    return list(grouped.values())


def flag_excerpt(*, code: str, lines: list[int], context: int = 1) -> list[CodeLine]:
    """The flagged lines of `code` with `context` lines around each (marked: `shared`)."""
    source = code.splitlines()
    wanted = {int(n) for n in lines if 0 < int(n) <= len(source)}
    shown = sorted(
        {n for line in wanted for n in range(line - context, line + context + 1)}
        & set(range(1, len(source) + 1))
    )
    return [CodeLine(n, source[n - 1], n in wanted) for n in shown[:60]]


def flags_by_submission(*, challenge: Challenge) -> dict[int, list[dict]]:
    """Every flag of the challenge by submission id, as the organizer export writes them."""
    found: dict[int, list[dict]] = {}
    for flag in IntegrityFlag.objects.filter(challenge=challenge).order_by("kind", "pk"):
        found.setdefault(flag.submission_id, []).append(
            {
                "kind": flag.kind,
                "detail": flag.detail,
                "score": flag.score,
                "other_submission": flag.other_submission_id,
                "dismissed": flag.dismissed_at is not None,
            }
        )
    return found


@dataclass(frozen=True)
class SideBySide:
    flag: IntegrityFlag
    left: list[CodeLine]
    right: list[CodeLine]
    shared_left: int
    shared_right: int


def excluded_hashes(challenge: Challenge) -> np.ndarray:
    """The starter's (and the organizers' baseline's) fingerprints: shared by design."""
    return _excluded_for(challenge.starter_code, challenge.baseline_code)


@lru_cache(maxsize=16)
def _excluded_for(starter: str, baseline: str) -> np.ndarray:
    # Keyed by the code itself: an edited starter is fingerprinted again.
    parts = [fp.fingerprint(code).hashes for code in (starter, baseline)]
    excluded = np.unique(np.concatenate([*parts, np.empty(0, dtype=np.uint64)]))
    excluded.setflags(write=False)
    return excluded


def _marked(code: str, lines_of: dict[int, tuple[int, ...]], shared: set[int]) -> list[CodeLine]:
    marked: set[int] = set()
    for value in shared:
        marked.update(lines_of[value])
    return [
        CodeLine(number, text, number in marked) for number, text in enumerate(code.splitlines(), 1)
    ]


def side_by_side(*, flag: IntegrityFlag) -> SideBySide:
    """The two submissions of a similar-code flag, with the lines they share marked."""
    left_sub, right_sub = flag.submission, flag.other_submission
    if right_sub is None:
        raise ValueError("Only a similar-code flag has a pair to compare.")
    left, right = fp.fingerprint(left_sub.code), fp.fingerprint(right_sub.code)
    starter = set(excluded_hashes(left_sub.challenge).tolist())
    shared = (set(left.lines) & set(right.lines)) - starter
    left_lines = _marked(left_sub.code, left.lines, shared)
    right_lines = _marked(right_sub.code, right.lines, shared)
    return SideBySide(
        flag=flag,
        left=left_lines,
        right=right_lines,
        shared_left=sum(line.shared for line in left_lines),
        shared_right=sum(line.shared for line in right_lines),
    )
