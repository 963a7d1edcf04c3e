"""Writes of the leaderboard: per-team best scores, disqualifications, freeze and reveal.

Every write takes the challenge row with SELECT ... FOR NO KEY UPDATE first, so that
result recordings and rebuilds of one challenge are serialized (a rebuild never
overwrites a result committed while it ran) while submissions referencing the challenge
can still be inserted. Live hints are sent only after the transaction commits.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, F, Max, Q, QuerySet, Window
from django.db.models.functions import FirstValue
from django.utils import timezone

from hackathon import live
from hackathon.accounts.models import Team
from hackathon.challenges.models import Challenge
from hackathon.leaderboard.models import BaselineScore, TeamDisqualification, TeamScore
from hackathon.leaderboard.scoring import baseline_submissions, best_first, scored_submissions
from hackathon.leaderboard.viewers import user_is_organizer
from hackathon.leaderboard.visibility import change_audiences
from hackathon.submissions.models import Submission

logger = logging.getLogger(__name__)

REASON_MAX = 300
_SCORE_COLUMNS = ("id", "public_score", "public_ci_low", "public_ci_high", "created_at")


def _lock_challenge(challenge_id: int) -> Challenge:
    return Challenge.objects.select_for_update(no_key=True).get(pk=challenge_id)


def _disqualified_team_ids(challenge: Challenge) -> QuerySet:
    return TeamDisqualification.objects.filter(challenge=challenge).values("team_id")


def _public_fields(prefix: str, best: dict[str, Any] | None) -> dict[str, Any]:
    names = {
        "best": ("best_submission_id", "best_score", "best_ci_low", "best_ci_high", "best_at"),
        "frozen": (
            "frozen_submission_id",
            "frozen_score",
            "frozen_ci_low",
            "frozen_ci_high",
            "frozen_at",
        ),
    }[prefix]
    if best is None:
        return dict.fromkeys(names)
    values = [best[c] for c in _SCORE_COLUMNS]
    return dict(zip(names, values, strict=True))


def _private_fields(final: dict[str, Any] | None, best: dict[str, Any] | None) -> dict[str, Any]:
    chosen, from_finals = (final, True) if final else (best, False)
    if chosen is None or chosen["private_score"] is None:
        return {
            "private_submission_id": None,
            "private_score": None,
            "private_at": None,
            "private_from_finals": False,
        }
    return {
        "private_submission_id": chosen["id"],
        "private_score": chosen["private_score"],
        "private_at": chosen["created_at"],
        "private_from_finals": from_finals,
    }


def _before_freeze(challenge: Challenge) -> Q:
    # Without a freeze time the frozen columns mirror the live ones.
    return Q(created_at__lt=challenge.freeze_at) if challenge.freeze_at else Q()


def _activity_aggregates(challenge: Challenge) -> dict[str, Count | Max]:
    """Entries and last submission time, live and as at the freeze."""
    frozen = _before_freeze(challenge) if challenge.freeze_at else None
    return {
        "entries": Count("id"),
        "last": Max("created_at"),
        "frozen_entries": Count("id", filter=frozen),
        "frozen_last": Max("created_at", filter=frozen),
    }


def _team_values(challenge: Challenge, team_id: int) -> dict[str, Any] | None:
    """The TeamScore columns of one team, from a few indexed queries on its submissions."""
    higher = challenge.higher_is_better
    subs = scored_submissions(challenge).filter(team_id=team_id)
    frozen_q = _before_freeze(challenge)
    agg = subs.aggregate(**_activity_aggregates(challenge))
    if not agg["entries"]:
        return None
    columns = (*_SCORE_COLUMNS, "private_score")
    public_order = best_first("public_score", "created_at", higher_is_better=higher)
    best = subs.order_by(*public_order).values(*columns).first()
    frozen = subs.filter(frozen_q).order_by(*public_order).values(*columns).first()
    final = (
        subs.filter(is_final=True, private_score__isnull=False)
        .order_by(*best_first("private_score", "created_at", higher_is_better=higher))
        .values(*columns)
        .first()
    )
    return {
        "entries": agg["entries"],
        "last_submission_at": agg["last"],
        "frozen_entries": agg["frozen_entries"],
        "frozen_last_submission_at": agg["frozen_last"],
        **_public_fields("best", best),
        **_public_fields("frozen", frozen),
        **_private_fields(final, best),
    }


def _refresh_team(challenge: Challenge, team_id: int) -> None:
    """Recompute one team's row; the challenge row must be locked by the caller."""
    is_dq = TeamDisqualification.objects.filter(challenge=challenge, team_id=team_id).exists()
    values = None if is_dq else _team_values(challenge, team_id)
    if values is None:
        TeamScore.objects.filter(challenge=challenge, team_id=team_id).delete()
        return
    TeamScore.objects.update_or_create(challenge=challenge, team_id=team_id, defaults=values)


def _baseline_values(sub: Submission) -> dict[str, Any]:
    return {
        "submission_id": sub.pk,
        "public_score": sub.public_score,
        "private_score": sub.private_score,
        "ci_low": sub.public_ci_low,
        "ci_high": sub.public_ci_high,
        "submitted_at": sub.created_at,
    }


def _refresh_baseline(challenge: Challenge, submission_id: int) -> None:
    sub = baseline_submissions(challenge).filter(pk=submission_id).first()
    if sub is None:  # not scored, or disqualified: off the boards
        BaselineScore.objects.filter(submission_id=submission_id).delete()
        return
    values = _baseline_values(sub)
    BaselineScore.objects.update_or_create(
        submission_id=values.pop("submission_id"), defaults={"challenge": challenge, **values}
    )


def leaderboard_record_result(*, submission: Submission) -> None:
    """Bring the submission's team up to date on the leaderboards of its challenge.

    Called by the grading pipeline inside the transaction that stores a result, and safe
    to call again for the same submission (after a rejudge, a disqualification of that
    submission or a change of final selection): it recomputes the team's row from its
    submissions, so a repeated call changes nothing. A live hint is published once the
    transaction commits, to the audiences allowed to see the change.
    """
    with transaction.atomic():
        challenge = _lock_challenge(submission.challenge_id)
        if submission.is_baseline:
            _refresh_baseline(challenge, submission.pk)
        elif submission.team_id is not None:
            _refresh_team(challenge, submission.team_id)
        audiences = change_audiences(
            challenge=challenge,
            team_id=submission.team_id,
            created_at=submission.created_at,
            is_baseline=submission.is_baseline,
        )
        data = {"challenge": challenge.pk, "submission": submission.pk}
        transaction.on_commit(lambda: _publish_hint(challenge.pk, audiences, data))


def leaderboard_rebuild(*, challenge: Challenge) -> int:
    """Recompute every team's row of the challenge from its submissions; returns the count.

    For changes that touch many teams or the rules: a rejudge, disqualifications, a new
    freeze time. Set-based: one aggregate query with correlated subqueries, then a
    bulk insert.
    """
    with transaction.atomic():
        challenge = _lock_challenge(challenge.pk)
        rows = list(_rebuilt_rows(challenge))
        TeamScore.objects.filter(challenge=challenge).delete()
        TeamScore.objects.bulk_create(rows, batch_size=2000)
        BaselineScore.objects.filter(challenge=challenge).delete()
        BaselineScore.objects.bulk_create(
            BaselineScore(challenge=challenge, **_baseline_values(sub))
            for sub in baseline_submissions(challenge)
        )
        transaction.on_commit(
            lambda: _publish_hint(challenge.pk, ["public", "organizers"], {"rebuilt": True})
        )
    return len(rows)


def _rebuilt_rows(challenge: Challenge) -> Iterable[TeamScore]:
    higher = challenge.higher_is_better
    subs = scored_submissions(challenge).exclude(team_id__in=_disqualified_team_ids(challenge))
    frozen_q = _before_freeze(challenge)
    public_order = best_first("public_score", "created_at", higher_is_better=higher)
    private_order = best_first("private_score", "created_at", higher_is_better=higher)
    aggregates = subs.order_by().values("team_id").annotate(**_activity_aggregates(challenge))
    best = _first_per_team(subs, public_order)
    frozen = _first_per_team(subs.filter(frozen_q), public_order)
    final = _first_per_team(subs.filter(is_final=True, private_score__isnull=False), private_order)
    wanted = {*best.values(), *frozen.values(), *final.values()}
    chosen = _submission_columns(wanted)

    def row_of(firsts: dict[int, int], team_id: int) -> dict[str, Any] | None:
        submission_id = firsts.get(team_id)
        return None if submission_id is None else chosen.get(submission_id)

    for team_counts in aggregates:
        # The stubs cannot see keys annotated from a dict: a plain dict of them.
        agg: dict[str, Any] = dict(team_counts)
        team_id: int = agg["team_id"]
        best_row = row_of(best, team_id)
        yield TeamScore(
            challenge=challenge,
            team_id=team_id,
            entries=agg["entries"],
            last_submission_at=agg["last"],
            frozen_entries=agg["frozen_entries"],
            frozen_last_submission_at=agg["frozen_last"],
            **_public_fields("best", best_row),
            **_public_fields("frozen", row_of(frozen, team_id)),
            **_private_fields(row_of(final, team_id), best_row),
        )


def _first_per_team(subs: QuerySet[Submission], order: list) -> dict[int, int]:
    """team id -> id of the team's first submission in `order`: one windowed scan."""
    firsts = (
        subs.order_by()
        .annotate(first_id=Window(FirstValue("id"), partition_by=[F("team_id")], order_by=order))
        .values_list("team_id", "first_id")
        .distinct()
    )
    return dict(firsts)


def _submission_columns(ids: set[int]) -> dict[int, dict[str, Any]]:
    found: dict[int, dict[str, Any]] = {}
    ordered = sorted(ids)
    for start in range(0, len(ordered), 5000):
        chunk = ordered[start : start + 5000]
        for row in Submission.objects.filter(id__in=chunk).values(*_SCORE_COLUMNS, "private_score"):
            found[row["id"]] = row
    return found


# --- Organizer actions ---------------------------------------------------------------------


def _require_organizer(actor: User, action: str) -> None:
    if not user_is_organizer(actor):
        raise PermissionDenied(f"Only organizers may {action}.")


def leaderboard_disqualify_team(
    *, challenge: Challenge, team: Team, actor: User, reason: str
) -> TeamDisqualification:
    """Remove a team from the challenge's leaderboards; the team sees the reason."""
    _require_organizer(actor, "disqualify a team")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError("A reason is required: the team sees it.")
    if len(reason) > REASON_MAX:
        raise ValidationError(
            f"The reason is too long ({len(reason)} characters, at most {REASON_MAX})."
        )
    with transaction.atomic():
        locked = _lock_challenge(challenge.pk)
        disqualification, _ = TeamDisqualification.objects.update_or_create(
            challenge=locked, team=team, defaults={"reason": reason, "actor": actor}
        )
        _refresh_team(locked, team.pk)
        transaction.on_commit(
            lambda: _publish_hint(
                locked.pk, ["public", "organizers", f"team:{team.pk}"], {"disqualified": True}
            )
        )
    return disqualification


def leaderboard_requalify_team(*, challenge: Challenge, team: Team, actor: User) -> None:
    """Undo a team's disqualification: it returns to the leaderboards."""
    _require_organizer(actor, "requalify a team")
    with transaction.atomic():
        locked = _lock_challenge(challenge.pk)
        deleted, _ = TeamDisqualification.objects.filter(challenge=locked, team=team).delete()
        if not deleted:
            raise ValidationError(f"{team.name} is not disqualified from this challenge.")
        _refresh_team(locked, team.pk)
        transaction.on_commit(
            lambda: _publish_hint(
                locked.pk, ["public", "organizers", f"team:{team.pk}"], {"requalified": True}
            )
        )


def _set_phase(challenge: Challenge, **times: datetime | None) -> Challenge:
    Challenge.objects.filter(pk=challenge.pk).update(**times)
    for name, value in times.items():
        setattr(challenge, name, value)
    return challenge


def leaderboard_freeze(*, challenge: Challenge, actor: User) -> Challenge:
    """Freeze the public board now: participants keep seeing it as it is at this moment."""
    _require_organizer(actor, "freeze the leaderboard")
    with transaction.atomic():
        locked = _lock_challenge(challenge.pk)
        if locked.revealed_at:
            raise ValidationError(
                "The final standings are already revealed; it cannot be frozen again."
            )
        if locked.is_frozen:
            raise ValidationError("The leaderboard is already frozen.")
        _set_phase(locked, freeze_at=timezone.now(), unfrozen_at=None)
    leaderboard_rebuild(challenge=locked)
    _publish_phase(locked, "frozen")
    return locked


def leaderboard_unfreeze(*, challenge: Challenge, actor: User) -> Challenge:
    """Show the live public board to everyone again (the private board stays hidden)."""
    _require_organizer(actor, "unfreeze the leaderboard")
    with transaction.atomic():
        locked = _lock_challenge(challenge.pk)
        if not locked.is_frozen:
            raise ValidationError("The leaderboard is not frozen.")
        _set_phase(locked, unfrozen_at=timezone.now())
    _publish_phase(locked, "unfrozen")
    return locked


def leaderboard_reveal(
    *, challenge: Challenge, actor: User, close_submissions: bool = False
) -> Challenge:
    """Reveal the final standings: live public board and private board for everyone.

    Only once submissions are closed: a private score shown while teams can still submit
    lets them probe the private rows. A challenge still open is refused unless the
    organizer confirmed `close_submissions`, which ends it now, in the same transaction.
    """
    _require_organizer(actor, "reveal the final standings")
    with transaction.atomic():
        locked = _lock_challenge(challenge.pk)
        if locked.revealed_at:
            raise ValidationError("The final standings are already revealed.")
        now = timezone.now()
        if not locked.has_ended:
            if not close_submissions:
                raise ValidationError(
                    "Submissions are still open: revealing now would show teams private "
                    "scores they could probe. Close submissions first, or confirm that "
                    "the reveal closes them now."
                )
            if locked.start_at and locked.start_at > now:
                raise ValidationError("The challenge has not started; there is nothing to reveal.")
            _set_phase(locked, end_at=now)
        _set_phase(locked, revealed_at=now)
    _publish_phase(locked, "revealed")
    return locked


# --- Live hints ----------------------------------------------------------------------------


def _publish_hint(challenge_id: int, audiences: list[str], data: dict[str, Any]) -> None:
    """Tell each audience that its view of the board changed; clients refetch their view.

    The hint carries no scores and, on the public channel, no team: what a viewer may
    see is decided when it fetches its fragment, by the one visibility rule.
    """
    for audience in audiences:
        topic = live.challenge_topic(challenge_id, audience)
        payload = data if audience != "public" else {"challenge": challenge_id}
        live.publish(topic, "leaderboard", payload)


def _publish_phase(challenge: Challenge, phase: str) -> None:
    def send() -> None:
        for audience in ("public", "organizers"):
            live.publish(
                live.challenge_topic(challenge.pk, audience),
                "phase",
                {"challenge": challenge.pk, "phase": phase},
            )

    transaction.on_commit(send)
