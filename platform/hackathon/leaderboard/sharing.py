"""Solutions shared on the debrief: opt-in per team, only after the challenge ended.

`solution_share` is the one write: the submission page's toggle, the debrief's and the API
(`POST`/`DELETE /api/v1/submissions/<id>/share/`) all call it, so "never before the end"
holds by every route (the admin lists shared solutions but cannot add one). A team shares
its final solution: the submission that counts for it on the private leaderboard (a selected
final, or its best public submission when it selected none), and only from that submission.

What the team agrees to is "our final solution", so that is what is shown, read when it is
shown (`shared_solutions`): the team's final submission on the private board at that
moment. A rejudge, a disqualification or a changed selection that moves the final moves
the shared code with it, with the rank and score shown beside it; a disqualified
submission, or a disqualified team, is never shown; a team with no final shows nothing
until it has one again. Stopping is always allowed, from any of the team's submissions of
the challenge, and stops the team's share.

Reads: which submission a team may share (`share_state`, also what the submissions app's
page asks through `submissions.hooks`), the shared solutions of a challenge, and a shared
solution's diff against the challenge's starter (difflib; the template escapes every line).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from django.contrib.auth.models import AnonymousUser, User
from django.db import IntegrityError, transaction
from django.db.models import OuterRef, Subquery

from hackathon.accounts.selectors import user_team
from hackathon.challenges.models import Challenge
from hackathon.leaderboard.models import SharedSolution, TeamDisqualification, TeamScore
from hackathon.submissions.errors import ActionRefused
from hackathon.submissions.models import State, Submission, Verdict

DIFF_MAX_LINES = 4000  # a diff longer than this is cut, and says so
FOLLOWS_THE_FINAL = (
    "The debrief shows your team's final submission: if a rejudge or a disqualification "
    "changes which one that is, it shows the new one. Stop sharing at any time."
)


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


def _require_member(submission: Submission, user: User | AnonymousUser) -> int:
    team = user_team(user)
    if submission.team_id is None or team is None or team.pk != submission.team_id:
        raise ActionRefused("Only members of the submitting team can share it.", http_status=403)
    return team.pk


def solution_share(
    *, submission: Submission, user: User | AnonymousUser, shared: bool
) -> SharedSolution | None:
    """Share (or stop sharing) the team's final solution on the challenge's debrief.

    Sharing is refused before the challenge ends, for another team's submission, and from
    any submission but the team's final one; stopping is always allowed, from any of the
    team's submissions of the challenge. Returns the team's share, or None once it stopped."""
    team_id = _require_member(submission, user)
    team_shares = SharedSolution.objects.filter(challenge=submission.challenge, team_id=team_id)
    if not shared:
        team_shares.delete()
        return None
    _require_shareable(submission, team_id=team_id)
    existing = team_shares.first()
    if existing is not None:
        if existing.final_when_shared_id != submission.pk:  # shared again on the new final
            team_shares.update(final_when_shared=submission)
            existing.final_when_shared = submission
        return existing
    try:
        with transaction.atomic():
            return SharedSolution.objects.create(
                challenge=submission.challenge,
                team_id=team_id,
                final_when_shared=submission,
                shared_by=user if user.is_authenticated else None,
            )
    except IntegrityError:  # a teammate shared it at the same moment
        return team_shares.get()


@dataclass(frozen=True)
class SharedFinal:
    """A team's shared solution as it is shown now: its share and its final submission."""

    share: SharedSolution
    submission: Submission


def shared_solutions(*, challenge: Challenge) -> list[SharedFinal]:
    """The challenge's shared solutions as shown now: each sharing team's final submission
    on the private board, unless the team is disqualified; a final that is not a scored,
    standing submission of the team (never, while the board is consistent) is left out."""
    disqualified = TeamDisqualification.objects.filter(challenge=challenge).values("team_id")
    finals = TeamScore.objects.filter(challenge=challenge, team_id=OuterRef("team_id")).values(
        "private_submission_id"
    )[:1]
    shares = list(
        SharedSolution.objects.filter(challenge=challenge)
        .exclude(team_id__in=disqualified)
        .annotate(final_id=Subquery(finals))
        .select_related("team")
        .order_by("shared_at", "pk")
    )
    standing = Submission.objects.filter(
        challenge=challenge,
        pk__in=[s.final_id for s in shares if s.final_id is not None],
        state=State.FINISHED,
        verdict=Verdict.SCORED,
        disqualified=False,
        is_baseline=False,
    ).in_bulk()
    out = []
    for share in shares:
        submission = standing.get(share.final_id)
        if submission is not None and submission.team_id == share.team_id:
            out.append(SharedFinal(share=share, submission=submission))
    return out


def shared_solution_get(*, challenge: Challenge, submission_id: int) -> SharedFinal | None:
    """The shared solution showing this submission now, or None (never shared, no longer
    the team's final, disqualified, or the share stopped)."""
    return next(
        (s for s in shared_solutions(challenge=challenge) if s.submission.pk == submission_id),
        None,
    )


@dataclass(frozen=True)
class ShareState:
    """What the submission page shows its team about sharing this submission."""

    shared: bool  # the debrief shows this submission as the team's solution
    team_shares: bool  # the team shares its final solution (the toggle offers to stop)
    can_share: bool  # the toggle offers to share (after the end, on the final submission)
    note: str  # what sharing does, what the debrief shows instead, or why not
    shown_id: int | None = None  # the submission the debrief shows for the team, if any


def share_state(*, submission: Submission, user: User | AnonymousUser) -> ShareState | None:
    """None unless `user` is in the submitting team (only the team sees the toggle)."""
    try:
        team_id = _require_member(submission, user)
    except ActionRefused:
        return None
    challenge = submission.challenge
    team_shares = SharedSolution.objects.filter(challenge=challenge, team_id=team_id).exists()
    shown = None
    if team_shares:
        shown = next(
            (
                s.submission.pk
                for s in shared_solutions(challenge=challenge)
                if s.share.team_id == team_id
            ),
            None,
        )
    try:
        _require_shareable(submission, team_id=team_id)
    except ActionRefused as exc:
        refused = exc.message
    else:
        refused = ""
    if shown == submission.pk:
        note = "The debrief shows this code as your team's solution. " + FOLLOWS_THE_FINAL
    elif shown is not None:
        note = (
            f"Your team shares its final submission, #{shown}, on the debrief; this one is "
            "not its final."
        )
    elif team_shares:
        note = (
            "Your team shares its final solution, but the debrief shows none now: the team "
            "has no final submission that stands."
        )
    elif refused:
        note = refused
    else:
        note = (
            "Sharing shows this code, read-only, with its differences from the starter, on "
            "the challenge's debrief, to everyone who may see the final standings. "
            + FOLLOWS_THE_FINAL
        )
    return ShareState(
        shared=shown == submission.pk,
        team_shares=team_shares,
        can_share=not refused and not team_shares,
        note=note,
        shown_id=shown,
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
