"""Writes of the leaderboard: per-team best scores, disqualifications, freeze and reveal.

Locks, so that results for one challenge are stored in parallel by every worker:
- Storing a result (`leaderboard_record_result`) locks only the team's row on the
  challenge's board: an upsert (INSERT ... ON CONFLICT DO UPDATE) that creates it if need
  be and holds it until commit, then the row is recomputed from the team's submissions.
  Two results of one team wait for each other; results of different teams never do.
  Ranks are not stored: they are computed on read from the indexed TeamScore columns.
  That path (lock, challenge, team row, the team's scored submissions, its update) is a
  handful of single-row statements written with `hackathon.rowsql`, not the ORM: building
  an ORM query costs more CPU than the database spends on it, and every result pays it.
- Changes of the whole board (a rebuild, disqualification, freeze, reveal) take the
  challenge row with SELECT ... FOR NO KEY UPDATE and, on PostgreSQL, an exclusive
  transaction-level advisory lock on the challenge; result stores take the same advisory
  lock shared. So a rebuild never overwrites a result committed while it ran, and result
  stores, which share it, never wait for each other. (SQLite serialises every write anyway.)
Live hints are sent only after the transaction commits.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from functools import cache
from itertools import groupby
from operator import itemgetter
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import (
    Case,
    Count,
    DateTimeField,
    F,
    FloatField,
    Max,
    Min,
    Q,
    QuerySet,
    When,
    Window,
)
from django.db.models.functions import Abs
from django.utils import timezone

from hackathon import live, rowsql
from hackathon.accounts.models import Team
from hackathon.accounts.selectors import is_organizer
from hackathon.challenges.models import Challenge
from hackathon.leaderboard import webhooks
from hackathon.leaderboard.models import (
    BaselineScore,
    ChatWebhook,
    TeamDisqualification,
    TeamScore,
)
from hackathon.leaderboard.scoring import (
    baseline_submissions,
    board_score,
    first_in_board_order,
    scored_submissions,
    tie_band,
)
from hackathon.leaderboard.visibility import change_audiences
from hackathon.submissions.models import State, Submission

logger = logging.getLogger(__name__)

REASON_MAX = 300
_SCORE_COLUMNS = ("id", "public_score", "public_ci_low", "public_ci_high", "created_at")


# The first key of the board's advisory locks (the second is the challenge id).
BOARD_LOCK_SPACE = 0x4C42  # "LB"


def _board_lock(challenge_id: int, *, shared: bool) -> None:
    if connection.vendor != "postgresql":
        return
    function = "pg_advisory_xact_lock_shared" if shared else "pg_advisory_xact_lock"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {function}(%s, %s)", [BOARD_LOCK_SPACE, challenge_id])


def _lock_challenge(challenge_id: int) -> Challenge:
    """For changes of the whole board: waits for result stores in progress, and they wait."""
    _board_lock(challenge_id, shared=False)
    return Challenge.objects.select_for_update(no_key=True).get(pk=challenge_id)


def _lock_team_row(challenge_id: int, team_id: int) -> None:
    """Create the team's board row if it is missing and hold its row lock until commit."""
    table = TeamScore._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (challenge_id, team_id, entries, frozen_entries, "  # noqa: S608 - our own table name
            "private_from_finals, updated_at) VALUES (%s, %s, 0, 0, %s, %s) "
            "ON CONFLICT (challenge_id, team_id) DO UPDATE SET updated_at = excluded.updated_at",
            [challenge_id, team_id, False, timezone.now()],
        )


def _disqualified_team_ids(challenge: Challenge) -> QuerySet:
    return TeamDisqualification.objects.filter(challenge=challenge).values("team_id")


def _public_fields(challenge: Challenge, prefix: str, best: Mapping[str, Any] | None) -> dict:
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
    # The board holds what it publishes: score and interval at display precision.
    values = [
        best["id"],
        board_score(challenge, best["public_score"]),
        board_score(challenge, best["public_ci_low"]),
        board_score(challenge, best["public_ci_high"]),
        best["created_at"],
    ]
    return dict(zip(names, values, strict=True))


def _private_fields(
    challenge: Challenge, final: Mapping[str, Any] | None, best: Mapping[str, Any] | None
) -> dict[str, Any]:
    chosen, from_finals = (final, True) if final else (best, False)
    private = board_score(challenge, chosen["private_score"]) if chosen else None
    if chosen is None or private is None:
        return {
            "private_submission_id": None,
            "private_score": None,
            "private_at": None,
            "private_from_finals": False,
        }
    return {
        "private_submission_id": chosen["id"],
        "private_score": private,
        "private_at": chosen["created_at"],
        "private_from_finals": from_finals,
    }


def _before_freeze(challenge: Challenge, created_at: datetime) -> bool:
    # Without a freeze time the frozen columns mirror the live ones.
    return challenge.freeze_at is None or created_at < challenge.freeze_at


_ROW_COLUMNS = (*_SCORE_COLUMNS, "private_score", "is_final")


def _values_from_rows(
    challenge: Challenge, rows: Sequence[Mapping[str, Any]], totals: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The TeamScore columns of one team from its scored submissions, by THE rule of
    `scoring` (a team's entry is its first submission in board order).

    `rows` is every scored submission of the team, or with `totals` (the team's counts and
    latest times, computed by the database) only its candidates: the rows that can tie with
    its best score, live and before the freeze, and its final selections."""
    best = first_in_board_order(challenge, rows)
    if challenge.freeze_at is None:
        frozen_rows, frozen = rows, best  # the frozen columns mirror the live ones
    else:
        frozen_rows = [r for r in rows if _before_freeze(challenge, r["created_at"])]
        frozen = first_in_board_order(challenge, frozen_rows)
    finals = [r for r in rows if r["is_final"] and r["private_score"] is not None]
    final = first_in_board_order(challenge, finals, score="private_score")
    if totals is None:
        totals = {
            "entries": len(rows),
            "last_submission_at": max(r["created_at"] for r in rows),
            "frozen_entries": len(frozen_rows),
            "frozen_last_submission_at": max((r["created_at"] for r in frozen_rows), default=None),
        }
    elif "frozen_entries" not in totals:
        totals = {
            **totals,
            "frozen_entries": totals["entries"],
            "frozen_last_submission_at": totals["last_submission_at"],
        }
    return {
        "entries": totals["entries"],
        "last_submission_at": totals["last_submission_at"],
        "frozen_entries": totals["frozen_entries"],
        "frozen_last_submission_at": totals["frozen_last_submission_at"],
        **_public_fields(challenge, "best", best),
        **_public_fields(challenge, "frozen", frozen),
        **_private_fields(challenge, final, best),
    }


# A team's scored submissions (`scoring.scored_submissions`: finished, not disqualified, not
# a baseline, with a public score), none if the team is disqualified from the challenge;
# the same rule as the ORM's, written out for the path every result takes (a test checks
# that both find the same rows).
_TEAM_ROWS_SQL = (
    "SELECT s.id, s.public_score, s.public_ci_low, s.public_ci_high, s.created_at, "
    "s.private_score, s.is_final FROM submissions_submission s "
    "WHERE s.challenge_id = %s AND s.team_id = %s AND s.state = %s AND NOT s.disqualified "
    "AND NOT s.is_baseline AND s.public_score IS NOT NULL AND NOT EXISTS ("
    "SELECT 1 FROM leaderboard_teamdisqualification d "
    "WHERE d.challenge_id = s.challenge_id AND d.team_id = s.team_id)"
)


def _team_rows(challenge_id: int, team_id: int) -> list[dict[str, Any]]:
    return rowsql.fetch(
        Submission, _ROW_COLUMNS, _TEAM_ROWS_SQL, [challenge_id, team_id, State.FINISHED]
    )


def _team_values(challenge: Challenge, team_id: int) -> dict[str, Any] | None:
    """The TeamScore columns of one team (None: off the board), from one indexed query."""
    rows = _team_rows(challenge.pk, team_id)
    return _values_from_rows(challenge, rows) if rows else None


def _refresh_team(challenge: Challenge, team_id: int) -> None:
    """Recompute one team's row; the caller holds the board lock (shared or exclusive)."""
    _lock_team_row(challenge.pk, team_id)
    values = _team_values(challenge, team_id)
    where = {"challenge": challenge.pk, "team": team_id}
    if values is None:
        with connection.cursor() as cursor:
            cursor.execute(
                f"DELETE FROM {rowsql.table(TeamScore)} WHERE challenge_id = %s AND team_id = %s",  # noqa: S608 - our own table name
                [challenge.pk, team_id],
            )
        return
    rowsql.update(TeamScore, where=where, values={**values, "updated_at": timezone.now()})


def _baseline_values(challenge: Challenge, sub: Submission) -> dict[str, Any]:
    return {
        "submission_id": sub.pk,
        "public_score": board_score(challenge, sub.public_score),
        "private_score": board_score(challenge, sub.private_score),
        "ci_low": board_score(challenge, sub.public_ci_low),
        "ci_high": board_score(challenge, sub.public_ci_high),
        "submitted_at": sub.created_at,
    }


def _refresh_baseline(challenge: Challenge, submission_id: int) -> None:
    sub = baseline_submissions(challenge).filter(pk=submission_id).first()
    if sub is None:  # not scored, or disqualified: off the boards
        BaselineScore.objects.filter(submission_id=submission_id).delete()
        return
    values = _baseline_values(challenge, sub)
    BaselineScore.objects.update_or_create(
        submission_id=values.pop("submission_id"), defaults={"challenge": challenge, **values}
    )


# What the board needs of its challenge (read once per result, after the board lock).
_BOARD_CHALLENGE_FIELDS = {
    "id",
    "title",
    "metric",
    "display_precision",
    "freeze_at",
    "unfrozen_at",
    "revealed_at",
}


@cache
def _board_challenge_sql() -> tuple[tuple[str, ...], str]:
    # In the model's field order: Model.from_db takes a subset of fields in that order.
    names = tuple(
        f.attname for f in Challenge._meta.concrete_fields if f.attname in _BOARD_CHALLENGE_FIELDS
    )
    columns = ", ".join(f"c.{rowsql.column(Challenge, n)}" for n in names)
    sql = (
        f"SELECT {columns}, EXISTS (SELECT 1 FROM {rowsql.table(ChatWebhook)} w "  # noqa: S608 - names from _meta
        "WHERE w.challenge_id = c.id AND w.is_active) "
        f"FROM {rowsql.table(Challenge)} c WHERE c.id = %s"
    )
    return names, sql


def _board_challenge(challenge_id: int) -> tuple[Challenge, bool]:
    """The challenge with the fields the board reads (any other loads when touched), and
    whether it has an active chat webhook; one query."""
    names, sql = _board_challenge_sql()
    with connection.cursor() as cursor:
        cursor.execute(sql, [challenge_id])
        row = cursor.fetchone()
    if row is None:
        raise Challenge.DoesNotExist(f"challenge {challenge_id}")
    values = rowsql.convert(Challenge, names, row[:-1])
    challenge = Challenge.from_db(connection.alias, list(names), list(values.values()))
    return challenge, bool(row[-1])


def leaderboard_record_result(*, submission: Submission) -> None:
    """Bring the submission's team up to date on the leaderboards of its challenge.

    Called by the grading pipeline inside the transaction that stores a result, and safe
    to call again for the same submission (after a rejudge, a disqualification of that
    submission or a change of final selection): it recomputes the team's row from its
    submissions, so a repeated call changes nothing. A live hint is published once the
    transaction commits, to the audiences allowed to see the change. Reads of the
    submission: its id, challenge, team, creation time, baseline flag, verdict and
    diagnostics (the caller's instance, not read again).
    """
    with transaction.atomic(savepoint=False):
        _board_lock(submission.challenge_id, shared=True)
        # Read after the shared lock: a freeze or reveal committed before it is seen.
        challenge, has_webhooks = _board_challenge(submission.challenge_id)
        if submission.is_baseline:
            _refresh_baseline(challenge, submission.pk)
        elif submission.team_id is not None:
            # Only a challenge with a chat webhook announces new leaders.
            leader_before = webhooks.public_leader_id(challenge) if has_webhooks else None
            _refresh_team(challenge, submission.team_id)
            if has_webhooks:
                transaction.on_commit(
                    lambda: webhooks.webhooks_leader_check(
                        challenge_id=challenge.pk, previous_leader_id=leader_before
                    ),
                    robust=True,
                )
        audiences = change_audiences(
            challenge=challenge,
            team_id=submission.team_id,
            created_at=submission.created_at,
            is_baseline=submission.is_baseline,
        )
        data = {"challenge": challenge.pk, "submission": submission.pk}
        # The organizers' room view (`leaderboard.room`) reads what the run hit from its hint.
        room = {
            "verdict": submission.verdict,
            "diagnostics": [str(d.get("code", "")) for d in submission.diagnostics or []],
        }
        transaction.on_commit(lambda: _publish_hint(challenge.pk, audiences, data, room))


def leaderboard_rebuild(*, challenge: Challenge) -> int:
    """Recompute every team's row of the challenge from its submissions; returns the count.

    For changes that touch many teams or the rules: a rejudge, disqualifications, a new
    freeze time or display precision. One query picks each team's candidate rows and
    totals (`_candidate_rows`), then a bulk insert.
    """
    with transaction.atomic():
        challenge = _lock_challenge(challenge.pk)
        if connection.vendor == "postgresql":
            # The window functions sort the challenge's submissions by team: in memory
            # (about 24 MB at 200,000) rather than in temporary files (twice as slow).
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL work_mem = '64MB'")
        rows = list(_rebuilt_rows(challenge))
        TeamScore.objects.filter(challenge=challenge).delete()
        TeamScore.objects.bulk_create(rows, batch_size=2000)
        BaselineScore.objects.filter(challenge=challenge).delete()
        BaselineScore.objects.bulk_create(
            BaselineScore(challenge=challenge, **_baseline_values(challenge, sub))
            for sub in baseline_submissions(challenge)
        )
        if challenge.board_stale_since is not None:
            # Read under the challenge's lock: the rules just applied are the latest.
            Challenge.objects.filter(pk=challenge.pk).update(board_stale_since=None)
        transaction.on_commit(
            lambda: _publish_hint(challenge.pk, ["public", "organizers"], {"rebuilt": True})
        )
    return len(rows)


STALE_GRACE_S = 10.0  # the request that changed the rules rebuilds first; this job after


def leaderboard_rebuild_stale(*, grace_s: float = STALE_GRACE_S) -> int:
    """Rebuild the boards of challenges whose board rules changed (`board_stale_since`) more
    than `grace_s` ago and were not rebuilt since (the rebuild after the change failed, or
    the process ended first): the database says what is left. Returns how many."""
    due = timezone.now() - timedelta(seconds=grace_s)
    stale = Challenge.objects.filter(board_stale_since__lte=due).order_by("board_stale_since")
    done = 0
    for challenge in stale:
        try:
            leaderboard_rebuild(challenge=challenge)
        except Exception:  # noqa: BLE001 - one failing board must not stop the others
            logger.exception("rebuild of the boards of %s failed", challenge.slug)
            continue
        done += 1
    return done


def _rebuilt_rows(challenge: Challenge) -> Iterable[TeamScore]:
    """Every team's row, computed by the same function as the incremental update from the
    team's candidate rows (`_candidate_rows`), which the database picks."""
    stream = _candidate_rows(challenge)
    for team_id, group in groupby(stream, key=itemgetter("team_id")):
        rows: list[Mapping[str, Any]] = list(group)
        totals = {name: rows[0][name] for name in _TOTALS if name in rows[0]}
        yield TeamScore(
            challenge=challenge, team_id=team_id, **_values_from_rows(challenge, rows, totals)
        )


_TOTALS = ("entries", "last_submission_at", "frozen_entries", "frozen_last_submission_at")


def _candidate_rows(challenge: Challenge) -> Iterator[dict[str, Any]]:
    """Per team (in team order), the scored submissions that can be its entry, with the
    team's totals on each row.

    One query: window functions give each row its team's best raw score (live and before
    the freeze), count and latest time; the filter on them (the ORM wraps the windows in a
    subquery) keeps the rows within the tie band of a best score (`scoring.tie_band`: every
    row that rounds like it at display precision) and the final selections. The exact rule
    is then applied in Python to a few rows per team instead of to every submission, which
    a rebuild used to stream (3 times slower; `benchmarks/leaderboard_rebuild.py`)."""
    subs = scored_submissions(challenge).exclude(team_id__in=_disqualified_team_ids(challenge))
    best = Max if challenge.higher_is_better else Min
    band = tie_band(challenge.display_precision)

    def near(best_name: str) -> Q:
        width = band * Abs(F(best_name))
        return Q(public_score__gte=F(best_name) - width, public_score__lte=F(best_name) + width)

    windows = {
        "team_best": Window(best("public_score"), partition_by=[F("team_id")]),
        "entries": Window(Count("id"), partition_by=[F("team_id")]),
        "last_submission_at": Window(Max("created_at"), partition_by=[F("team_id")]),
    }
    keep = near("team_best") | Q(is_final=True, private_score__isnull=False)
    totals: tuple[str, ...] = ("entries", "last_submission_at")
    if challenge.freeze_at is not None:  # else the frozen columns mirror the live ones
        before = Q(created_at__lt=challenge.freeze_at)
        frozen_time = Case(When(before, then=F("created_at")), output_field=DateTimeField())
        frozen_score = Case(When(before, then=F("public_score")), output_field=FloatField())
        windows |= {
            "team_frozen_best": Window(best(frozen_score), partition_by=[F("team_id")]),
            "frozen_entries": Window(Count(frozen_time), partition_by=[F("team_id")]),
            "frozen_last_submission_at": Window(Max(frozen_time), partition_by=[F("team_id")]),
        }
        keep |= before & near("team_frozen_best")
        totals = _TOTALS
    candidates = subs.annotate(**windows).values("team_id", *_ROW_COLUMNS, *totals).filter(keep)
    return candidates.order_by("team_id", "id").iterator(chunk_size=2000)


# --- Organizer actions ---------------------------------------------------------------------


def _require_organizer(actor: User, action: str) -> None:
    if not is_organizer(actor):
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
    webhooks.webhooks_phase_check_after_commit(challenge_id=locked.pk)
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
    webhooks.webhooks_phase_check_after_commit(challenge_id=locked.pk)
    return locked


# --- Live hints ----------------------------------------------------------------------------


def _publish_hint(
    challenge_id: int,
    audiences: list[str],
    data: dict[str, Any],
    organizers_extra: dict[str, Any] | None = None,
) -> None:
    """Tell each audience that its view of the board changed; clients refetch their view.

    The hint carries no scores and, on the public channel, no team: what a viewer may
    see is decided when it fetches its fragment, by the one visibility rule. Organizers'
    hints also carry `organizers_extra` (the verdict and diagnostic codes of the run).
    """
    events = []
    for audience in audiences:
        topic = live.challenge_topic(challenge_id, audience)
        payload = data if audience != "public" else {"challenge": challenge_id}
        if audience == "organizers" and organizers_extra:
            payload = {**payload, **organizers_extra}
        events.append((topic, "leaderboard", payload))
    live.publish_many(events)


def _publish_phase(challenge: Challenge, phase: str) -> None:
    def send() -> None:
        for audience in ("public", "organizers"):
            live.publish(
                live.challenge_topic(challenge.pk, audience),
                "phase",
                {"challenge": challenge.pk, "phase": phase},
            )

    transaction.on_commit(send)
