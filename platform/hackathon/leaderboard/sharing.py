"""Solutions shared on the debrief: opt-in per team, only after the challenge ended.

`solution_share` is the one write: the submission page's toggle, the debrief's and the API
(`POST`/`DELETE /api/v1/submissions/<id>/share/`) all call it, so "never before the end"
holds by every route (the admin lists shared solutions but cannot add one). A team shares
its final submission: the one that counts for it on the private leaderboard (a selected
final, or its best public submission when it selected none).

Reads: which submission a team may share (`share_state`, also what the submissions app's
page asks through `submissions.hooks`), the shared solutions of a challenge, and a shared
solution's diff against the challenge's starter (difflib; the template escapes every line).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from django.contrib.auth.models import AnonymousUser, User
from django.db import IntegrityError, transaction

from hackathon.accounts.selectors import user_team
from hackathon.challenges.models import Challenge
from hackathon.leaderboard.models import SharedSolution, TeamDisqualification, TeamScore
from hackathon.submissions.errors import ActionRefused
from hackathon.submissions.models import Submission, Verdict

DIFF_MAX_LINES = 4000  # a diff longer than this is cut, and says so


def _final_submission_id(challenge: Challenge, team_id: int) -> int | None:
    """The submission that counts for the team on the private board."""
    return (
        TeamScore.objects.filter(challenge=challenge, team_id=team_id)
        .values_list("private_submission_id", flat=True)
        .first()
    )


def _require_shareable(submission: Submission, *, team_id: int) -> None:
    challenge = submission.challenge
    if not challenge.has_ended:
        raise ActionRefused(
            "Solutions can be shared only after the challenge has ended"
            + (f" ({challenge.end_at:%Y-%m-%d %H:%M} UTC)." if challenge.end_at else "."),
            http_status=409,
        )
    if submission.disqualified or submission.verdict != Verdict.SCORED:
        raise ActionRefused("Only a scored submission that is not disqualified can be shared.")
    if TeamDisqualification.objects.filter(challenge=challenge, team_id=team_id).exists():
        raise ActionRefused("Your team is disqualified from this challenge.", http_status=409)
    final_id = _final_submission_id(challenge, team_id)
    if final_id != submission.pk:
        where = f" (#{final_id})" if final_id else ""
        raise ActionRefused(
            "Only your team's final submission can be shared: the one that counts for it on "
            f"the private leaderboard{where}.",
            http_status=409,
        )


def solution_share(
    *, submission: Submission, user: User | AnonymousUser, shared: bool
) -> SharedSolution | None:
    """Share (or stop sharing) the team's final solution on the challenge's debrief.

    Sharing is refused before the challenge ends, for another team's submission, and for
    any submission but the team's final one; stopping is always allowed. Returns the shared
    solution, or None once it is no longer shared."""
    team = user_team(user)
    if submission.team_id is None or team is None or team.pk != submission.team_id:
        raise ActionRefused("Only members of the submitting team can share it.", http_status=403)
    if not shared:
        SharedSolution.objects.filter(submission=submission).delete()
        return None
    _require_shareable(submission, team_id=team.pk)
    existing = SharedSolution.objects.filter(submission=submission).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            # One per team: sharing the final again after a rejudge moved it replaces it.
            SharedSolution.objects.filter(challenge=submission.challenge, team=team).delete()
            return SharedSolution.objects.create(
                challenge=submission.challenge,
                team=team,
                submission=submission,
                shared_by=user if user.is_authenticated else None,
            )
    except IntegrityError:  # a teammate shared it at the same moment
        return SharedSolution.objects.get(submission=submission)


@dataclass(frozen=True)
class ShareState:
    """What the submission page shows its team about sharing this submission."""

    shared: bool
    can_share: bool  # the toggle is offered (after the end, on the final submission)
    note: str  # why not, or what sharing does


def share_state(*, submission: Submission, user: User | AnonymousUser) -> ShareState | None:
    """None unless `user` is in the submitting team (only the team sees the toggle)."""
    team = user_team(user)
    if submission.team_id is None or team is None or team.pk != submission.team_id:
        return None
    shared = SharedSolution.objects.filter(submission=submission).exists()
    try:
        _require_shareable(submission, team_id=team.pk)
    except ActionRefused as exc:
        return ShareState(shared=shared, can_share=False, note=exc.message)
    return ShareState(
        shared=shared,
        can_share=True,
        note=(
            "Sharing shows this code, read-only, with its differences from the starter, on "
            "the challenge's debrief, to everyone who may see the final standings."
        ),
    )


def shared_solutions(*, challenge: Challenge) -> list[SharedSolution]:
    """The challenge's shared solutions that still stand (not disqualified)."""
    disqualified = TeamDisqualification.objects.filter(challenge=challenge).values("team_id")
    return list(
        SharedSolution.objects.filter(challenge=challenge, submission__disqualified=False)
        .exclude(team_id__in=disqualified)
        .select_related("team", "submission")
        .order_by("shared_at", "pk")
    )


@dataclass(frozen=True)
class DiffLine:
    kind: str  # "add" | "del" | "hunk" | "file" | "same"
    text: str


def starter_diff(*, starter: str, code: str) -> tuple[list[DiffLine], bool]:
    """The unified diff from the starter to `code`, line by line with its kind, and whether
    it was cut at DIFF_MAX_LINES. Plain text: the template escapes it."""
    lines: list[DiffLine] = []
    diff = difflib.unified_diff(
        starter.splitlines(),
        code.splitlines(),
        fromfile="starter/solution.py",
        tofile="shared solution",
        lineterm="",
        n=3,
    )
    for text in diff:
        if len(lines) >= DIFF_MAX_LINES:
            return lines, True
        if text.startswith(("---", "+++")):
            kind = "file"
        elif text.startswith("@@"):
            kind = "hunk"
        elif text.startswith("+"):
            kind = "add"
        elif text.startswith("-"):
            kind = "del"
        else:
            kind = "same"
        lines.append(DiffLine(kind, text))
    return lines, False


def shared_solution_get(*, challenge: Challenge, submission_id: int) -> SharedSolution | None:
    """A shared solution of the challenge that still stands, or None."""
    return next(
        (s for s in shared_solutions(challenge=challenge) if s.submission_id == submission_id),
        None,
    )
