"""Reads of the leaderboard: pages of the public and private boards, the shake-up, exports.

Every read applies THE visibility rule of `hackathon.leaderboard.visibility` (re-exported
here: `viewer_may_see_private`, `viewer_visibility`, `live_channels_for`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet, Window
from django.db.models.functions import Rank, RowNumber

from hackathon.accounts.models import Team
from hackathon.challenges.models import Challenge
from hackathon.challenges.precision import DEFAULT_DISPLAY_PRECISION, score_text
from hackathon.leaderboard.models import BaselineScore, TeamDisqualification, TeamScore
from hackathon.leaderboard.scoring import (
    baseline_submissions,
    best_first,
    board_score,
    ranked_above,
    scored_submissions,
    strictly_better,
)
from hackathon.leaderboard.visibility import (
    Viewer,
    Visibility,
    live_channels_for,
    viewer_may_see_private,
    viewer_visibility,
)

KINDS = ("public", "private")
MAX_PAGE_SIZE = 500


# --- Rows ----------------------------------------------------------------------------------


@dataclass
class LeaderboardRow:
    rank: int | None  # None for baseline rows (unranked)
    team_id: int | None
    name: str
    score: float | None
    ci_low: float | None = None
    ci_high: float | None = None
    entries: int | None = None
    last_submission_at: datetime | None = None
    submitted_at: datetime | None = None  # of the submission that holds the score
    is_baseline: bool = False
    is_own: bool = False
    statistically_tied: bool = False  # confidence interval overlaps the team ranked above
    from_finals: bool = False  # private board: score from a selected final submission
    precision: int = DEFAULT_DISPLAY_PRECISION  # the challenge's display precision

    # Preformatted (one rule: challenges.precision) for every channel; also cheaper than
    # Django's floatformat and date filters over a page of rows.
    @property
    def score_text(self) -> str:
        return score_text(self.score, self.precision)

    @property
    def ci_text(self) -> str:
        if self.ci_low is None or self.ci_high is None:
            return ""
        low, high = (
            score_text(self.ci_low, self.precision),
            score_text(self.ci_high, self.precision),
        )
        return f"[{low}, {high}]"

    @property
    def last_iso(self) -> str:
        return _iso(self.last_submission_at) or ""

    @property
    def last_text(self) -> str:
        at = self.last_submission_at
        return at.strftime("%Y-%m-%d %H:%M") if at else ""

    def as_dict(self) -> dict:
        return {
            "rank": self.rank,
            "team_id": self.team_id,
            "team": self.name,
            "score": _finite(self.score),
            "score_text": self.score_text,
            "ci_low": _finite(self.ci_low),
            "ci_high": _finite(self.ci_high),
            "entries": self.entries,
            "last_submission_at": _iso(self.last_submission_at),
            "is_baseline": self.is_baseline,
            "is_own": self.is_own,
            "statistically_tied": self.statistically_tied,
            "from_finals": self.from_finals,
        }


@dataclass
class OwnStanding:
    """The viewer's team, as the viewer (and only the viewer) sees it."""

    rank: int | None  # on this board as shown; None if not on it
    page: int | None
    live_score: float | None = None  # newer than the freeze: shown to the team only
    live_entries: int | None = None
    disqualified_reason: str | None = None
    precision: int = DEFAULT_DISPLAY_PRECISION

    @property
    def live_text(self) -> str:
        return score_text(self.live_score, self.precision)


@dataclass
class LeaderboardView:
    challenge: Challenge
    kind: str
    visibility: Visibility
    frozen: bool  # rows are the board as at the freeze
    higher_is_better: bool
    rows: list[LeaderboardRow]
    page: int
    page_size: int
    total_teams: int
    own: OwnStanding | None = None
    frozen_at: datetime | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def num_pages(self) -> int:
        return max(1, math.ceil(self.total_teams / self.page_size))

    def as_dict(self) -> dict:
        own = None
        if self.own is not None:
            own = {
                "rank": self.own.rank,
                "page": self.own.page,
                "live_score": _finite(self.own.live_score),
                "live_entries": self.own.live_entries,
                "disqualified_reason": self.own.disqualified_reason,
            }
        return {
            "challenge": self.challenge.slug,
            "kind": self.kind,
            "frozen": self.frozen,
            "frozen_at": _iso(self.frozen_at),
            "higher_is_better": self.higher_is_better,
            "metric": self.challenge.metric,
            "page": self.page,
            "page_size": self.page_size,
            "num_pages": self.num_pages,
            "total_teams": self.total_teams,
            "rows": [row.as_dict() for row in self.rows],
            "own": own,
        }


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


@dataclass(frozen=True)
class _Columns:
    """Which TeamScore columns make up a board."""

    score: str
    at: str
    ci_low: str | None
    ci_high: str | None
    entries: str
    last: str


_LIVE = _Columns(
    "best_score", "best_at", "best_ci_low", "best_ci_high", "entries", "last_submission_at"
)
_FROZEN = _Columns(
    "frozen_score",
    "frozen_at",
    "frozen_ci_low",
    "frozen_ci_high",
    "frozen_entries",
    "frozen_last_submission_at",
)
_PRIVATE = _Columns("private_score", "private_at", None, None, "entries", "last_submission_at")


def _board_queryset(challenge: Challenge, cols: _Columns) -> QuerySet[TeamScore]:
    return TeamScore.objects.filter(challenge=challenge, **{f"{cols.score}__isnull": False})


def _ordered(challenge: Challenge, cols: _Columns) -> QuerySet[TeamScore]:
    order = best_first(
        cols.score, cols.at, higher_is_better=challenge.higher_is_better, tiebreak="team_id"
    )
    return _board_queryset(challenge, cols).order_by(*order)


def _rank_of(challenge: Challenge, cols: _Columns, score: float) -> int:
    """Rank by THE rule: rows tied at display precision share it."""
    better = strictly_better(cols.score, value=score, higher_is_better=challenge.higher_is_better)
    return _board_queryset(challenge, cols).filter(better).count() + 1


def _position_of(
    challenge: Challenge, cols: _Columns, score: float, at: datetime, team_id: int
) -> int:
    ahead = ranked_above(
        cols.score,
        cols.at,
        "team_id",
        value=score,
        when=at,
        key=team_id,
        higher_is_better=challenge.higher_is_better,
    )
    return _board_queryset(challenge, cols).filter(ahead).count() + 1


def _row(
    ts: dict, cols: _Columns, rank: int, own_team_id: int | None, precision: int
) -> LeaderboardRow:
    return LeaderboardRow(
        precision=precision,
        rank=rank,
        team_id=ts["team_id"],
        name=ts["team__name"],
        score=ts[cols.score],
        ci_low=ts[cols.ci_low] if cols.ci_low else None,
        ci_high=ts[cols.ci_high] if cols.ci_high else None,
        entries=ts[cols.entries],
        last_submission_at=ts[cols.last],
        submitted_at=ts[cols.at],
        is_own=own_team_id is not None and ts["team_id"] == own_team_id,
        from_finals=bool(ts.get("private_from_finals")) and cols is _PRIVATE,
    )


def _overlaps(row: LeaderboardRow, above: LeaderboardRow) -> bool:
    if row.ci_low is None or row.ci_high is None or above.ci_low is None or above.ci_high is None:
        return False
    return row.ci_low <= above.ci_high and above.ci_low <= row.ci_high


def _page_rows(
    challenge: Challenge, cols: _Columns, *, offset: int, page_size: int, own: int | None
) -> list[LeaderboardRow]:
    """The ranked rows of one page, ties marked against the row above (the one before the
    page included)."""
    columns = [
        "team_id",
        "private_from_finals",
        *{cols.score, cols.at, cols.entries, cols.last},
        *[c for c in (cols.ci_low, cols.ci_high) if c],
    ]
    window = list(
        _ordered(challenge, cols).values(*columns)[max(0, offset - 1) : offset + page_size]
    )
    # Names for this page only: joining teams before the LIMIT would look up every team
    # ranked above the page.
    names = _team_names([ts["team_id"] for ts in window])
    for ts in window:
        ts["team__name"] = names.get(ts["team_id"], "")
    digits = challenge.display_precision
    above = _row(window.pop(0), cols, offset, None, digits) if offset and window else None
    rows = [_row(ts, cols, offset + i + 1, own, digits) for i, ts in enumerate(window)]
    for row in rows:
        if above is not None:
            row.statistically_tied = _overlaps(row, above)
            if row.score is not None and row.score == above.score:
                # Tied at display precision: one shared rank.
                row.rank = (
                    above.rank if row is not rows[0] else _rank_of(challenge, cols, row.score)
                )
        above = row
    return rows


def leaderboard_view(
    *,
    challenge: Challenge,
    viewer: Viewer,
    kind: str = "public",
    page: int = 1,
    page_size: int = 50,
    _whole_board: bool = False,
) -> LeaderboardView:
    """One page of a leaderboard as this viewer may see it.

    Raises PermissionDenied for the private board when the rule hides it, ValueError for
    an unknown kind. A page past the end is clamped to the last page.
    """
    if kind not in KINDS:
        raise ValueError(f"Unknown leaderboard {kind!r}: expected one of {', '.join(KINDS)}.")
    visibility = viewer_visibility(challenge=challenge, viewer=viewer)
    if kind == "private" and not visibility.may_see_private:
        raise PermissionDenied("The private leaderboard is not revealed yet.")
    frozen = kind == "public" and visibility.public_frozen
    cols = _PRIVATE if kind == "private" else (_FROZEN if frozen else _LIVE)
    total = _board_queryset(challenge, cols).count()
    page_size = max(1, total) if _whole_board else max(1, min(int(page_size), MAX_PAGE_SIZE))
    num_pages = max(1, math.ceil(total / page_size))
    page = max(1, min(int(page), num_pages))
    offset = (page - 1) * page_size
    rows = _page_rows(challenge, cols, offset=offset, page_size=page_size, own=visibility.team_id)
    rows = _with_baselines(challenge, cols, rows, offset, page == num_pages, frozen)

    return LeaderboardView(
        challenge=challenge,
        kind=kind,
        visibility=visibility,
        frozen=frozen,
        higher_is_better=challenge.higher_is_better,
        rows=rows,
        page=page,
        page_size=page_size,
        total_teams=total,
        own=_own_standing(challenge, cols, visibility, page_size, frozen),
        frozen_at=challenge.freeze_at if frozen else None,
    )


def _with_baselines(
    challenge: Challenge,
    cols: _Columns,
    rows: list[LeaderboardRow],
    offset: int,
    is_last_page: bool,
    frozen: bool,
) -> list[LeaderboardRow]:
    """Insert the baseline rows that fall within this page, unranked, at their score."""
    score_field = "private_score" if cols is _PRIVATE else "public_score"
    baselines = BaselineScore.objects.filter(
        challenge=challenge, **{f"{score_field}__isnull": False}
    )
    if frozen:
        baselines = baselines.filter(submitted_at__lt=challenge.freeze_at)
    result = list(rows)
    inserted = 0
    for sub in baselines.order_by(
        *best_first(score_field, "submitted_at", higher_is_better=challenge.higher_is_better)
    ).values("public_score", "private_score", "ci_low", "ci_high", "submitted_at"):
        score = sub["private_score"] if cols is _PRIVATE else sub["public_score"]
        # Teams ahead of the baseline: strictly better, or equal and submitted no later.
        better = "gt" if challenge.higher_is_better else "lt"
        ahead = (
            _board_queryset(challenge, cols).filter(**{f"{cols.score}__{better}": score}).count()
            + _board_queryset(challenge, cols)
            .filter(**{cols.score: score, f"{cols.at}__lte": sub["submitted_at"]})
            .count()
        )
        if ahead < offset or (ahead >= offset + len(rows) and not is_last_page):
            continue
        position = ahead - offset + inserted
        result.insert(
            position,
            LeaderboardRow(
                rank=None,
                team_id=None,
                name="Baseline",
                score=score,
                ci_low=sub["ci_low"] if cols is not _PRIVATE else None,
                ci_high=sub["ci_high"] if cols is not _PRIVATE else None,
                submitted_at=sub["submitted_at"],
                last_submission_at=sub["submitted_at"],
                is_baseline=True,
                precision=challenge.display_precision,
            ),
        )
        inserted += 1
    return result


def _own_standing(
    challenge: Challenge, cols: _Columns, visibility: Visibility, page_size: int, frozen: bool
) -> OwnStanding | None:
    if visibility.team_id is None:
        return None
    dq = TeamDisqualification.objects.filter(
        challenge=challenge, team_id=visibility.team_id
    ).first()
    if dq is not None:
        return OwnStanding(rank=None, page=None, disqualified_reason=dq.reason)
    ts = TeamScore.objects.filter(challenge=challenge, team_id=visibility.team_id).first()
    if ts is None:
        return OwnStanding(rank=None, page=None)
    own = OwnStanding(rank=None, page=None)
    score, at = getattr(ts, cols.score), getattr(ts, cols.at)
    if score is not None:
        own.rank = _rank_of(challenge, cols, score)
        own.page = (_position_of(challenge, cols, score, at, ts.team_id) - 1) // page_size + 1
    if frozen:
        own.live_score, own.live_entries = ts.best_score, ts.entries
        own.precision = challenge.display_precision
    return own


# --- Shake-up ------------------------------------------------------------------------------


@dataclass
class ShakeupRow:
    team_id: int
    name: str
    public_rank: int
    private_rank: int
    public_score: float | None
    private_score: float | None
    is_own: bool = False
    precision: int = DEFAULT_DISPLAY_PRECISION

    @property
    def public_text(self) -> str:
        return score_text(self.public_score, self.precision)

    @property
    def private_text(self) -> str:
        return score_text(self.private_score, self.precision)

    @property
    def move(self) -> int:
        """Places gained from the public to the private board (positive = moved up)."""
        return self.public_rank - self.private_rank

    def as_dict(self) -> dict:
        return {
            "team_id": self.team_id,
            "team": self.name,
            "public_rank": self.public_rank,
            "private_rank": self.private_rank,
            "move": self.move,
            "public_score": _finite(self.public_score),
            "private_score": _finite(self.private_score),
        }


@dataclass
class ShakeupView:
    challenge: Challenge
    rows: list[ShakeupRow]
    page: int
    page_size: int
    total_teams: int

    @property
    def num_pages(self) -> int:
        return max(1, math.ceil(self.total_teams / self.page_size))


def shakeup_view(
    *, challenge: Challenge, viewer: Viewer, page: int = 1, page_size: int = 50
) -> ShakeupView:
    """Each team's live public rank, private rank and move, ranked by the private board.

    Both ranks come from window functions in one query. PermissionDenied until the
    private board is visible to this viewer.
    """
    visibility = viewer_visibility(challenge=challenge, viewer=viewer)
    if not visibility.may_see_private:
        raise PermissionDenied("The shake-up is shown once the private leaderboard is revealed.")
    higher = challenge.higher_is_better
    base = TeamScore.objects.filter(
        challenge=challenge, best_score__isnull=False, private_score__isnull=False
    )
    total = base.count()
    page_size = max(1, min(int(page_size), MAX_PAGE_SIZE))
    num_pages = max(1, math.ceil(total / page_size))
    page = max(1, min(int(page), num_pages))
    offset = (page - 1) * page_size
    # Ranks by THE rule: tied scores (equal at display precision) share a rank (RANK()),
    # listed earlier submission first (the ROW_NUMBER() order).
    ranked = base.annotate(
        public_rank=Window(
            Rank(), order_by=best_first("best_score", "best_at", higher_is_better=higher)[:1]
        ),
        private_rank=Window(
            Rank(), order_by=best_first("private_score", "private_at", higher_is_better=higher)[:1]
        ),
        private_position=Window(
            RowNumber(),
            order_by=best_first(
                "private_score", "private_at", higher_is_better=higher, tiebreak="team_id"
            ),
        ),
    ).order_by("private_position")
    rows = [
        ShakeupRow(
            team_id=r["team_id"],
            name=r["team__name"],
            public_rank=r["public_rank"],
            private_rank=r["private_rank"],
            public_score=r["best_score"],
            private_score=r["private_score"],
            is_own=r["team_id"] == visibility.team_id,
            precision=challenge.display_precision,
        )
        for r in ranked.values(
            "team_id", "team__name", "public_rank", "private_rank", "best_score", "private_score"
        )[offset : offset + page_size]
    ]
    return ShakeupView(
        challenge=challenge, rows=rows, page=page, page_size=page_size, total_teams=total
    )


# --- Exports and other reads ---------------------------------------------------------------


def leaderboard_export_rows(
    *, challenge: Challenge, viewer: Viewer, kind: str
) -> list[LeaderboardRow]:
    """Every row of a board as this viewer may see it, for CSV exports: one page as long
    as the board, so the same rule, ranks, ties and baselines as the pages."""
    return leaderboard_view(challenge=challenge, viewer=viewer, kind=kind, _whole_board=True).rows


def _team_names(ids: list[int]) -> dict[int, str]:
    names: dict[int, str] = {}
    for start in range(0, len(ids), 5000):
        chunk = ids[start : start + 5000]
        names.update(Team.objects.filter(pk__in=chunk).values_list("pk", "name"))
    return names


def team_disqualification(*, challenge: Challenge, team: Team) -> TeamDisqualification | None:
    return TeamDisqualification.objects.filter(challenge=challenge, team=team).first()


def disqualified_teams(*, challenge: Challenge) -> QuerySet[TeamDisqualification]:
    return (
        TeamDisqualification.objects.filter(challenge=challenge)
        .select_related("team", "actor")
        .order_by("team__name")
    )


__all__ = [
    "LeaderboardRow",
    "LeaderboardView",
    "OwnStanding",
    "ShakeupView",
    "Visibility",
    "leaderboard_export_rows",
    "leaderboard_view",
    "live_channels_for",
    "shakeup_view",
    "viewer_may_see_private",
    "viewer_visibility",
]


# --- Score progression ---------------------------------------------------------------------

PROGRESSION_TEAMS = 10


def score_progression(*, challenge: Challenge, viewer: Viewer) -> dict:
    """The best public score over time of the public board's top ten teams (as this viewer
    sees that board) and of the baselines: one point each time a best improved.

    THE visibility rule decides, as for the board: while the public board is frozen for
    this viewer, nothing submitted at or after the freeze is drawn (the top ten are the
    frozen board's); after the reveal, or for organizers, the whole race is.
    """
    board = leaderboard_view(
        challenge=challenge, viewer=viewer, kind="public", page_size=PROGRESSION_TEAMS
    )
    cutoff = challenge.freeze_at if board.frozen else None
    teams = [
        (row.team_id, row.name)
        for row in board.rows
        if not row.is_baseline and row.team_id is not None
    ][:PROGRESSION_TEAMS]
    subs = scored_submissions(challenge).filter(team_id__in=[t for t, _ in teams])
    bases = baseline_submissions(challenge)
    if cutoff is not None:
        subs = subs.filter(created_at__lt=cutoff)
        bases = bases.filter(created_at__lt=cutoff)
    by_team: dict[int, list[dict]] = {team_id: [] for team_id, _ in teams}
    best: dict[int | None, float] = {}
    baseline_points: list[dict] = []

    def improves(key: int | None, value: float) -> bool:
        current = best.get(key)
        better = current is None or (
            value > current if challenge.higher_is_better else value < current
        )
        if better:
            best[key] = value
        return better

    for team_id, score, at in subs.order_by("created_at", "pk").values_list(
        "team_id", "public_score", "created_at"
    ):
        value = board_score(challenge, score)
        if value is not None and team_id is not None and improves(team_id, value):
            by_team[team_id].append({"at": _iso(at), "score": value})
    for score, at in bases.order_by("created_at", "pk").values_list("public_score", "created_at"):
        value = board_score(challenge, score)
        if value is not None and improves(None, value):
            baseline_points.append({"at": _iso(at), "score": value})
    return {
        "higher_is_better": challenge.higher_is_better,
        "frozen": board.frozen,
        "cutoff": _iso(cutoff),
        "series": [
            {"team_id": team_id, "name": name, "points": by_team[team_id]}
            for team_id, name in teams
        ],
        "baseline": baseline_points,
    }
