"""The integrity check of a graded submission, and the organizers' actions on its flags.

`integrity_check_submission` runs off the request path, on the default queue (grading
sends `hackathon.integrity.tasks.check_submission` by name once a result is committed;
`integrity_sweep` checks whatever a lost message left unchecked). It computes every kind
of flag from what the platform measured and stored, never from what the solution claims:

- embedded data: many numeric literals or a long string/bytes constant (`embedded.py`);
- an implausible score: a perfect score for the metric, or better than the bound the
  challenge declares (`best_plausible`, e.g. its noise floor);
- code nearly identical to another team's: winnowed token fingerprints (`fingerprint.py`),
  compared incrementally against the stored fingerprints of the challenge's other teams,
  with the starter's fingerprints and boilerplate shared by most teams left out;
- no loss curve on a gradient-descent-only challenge, which asks for one;
- on such a challenge, a loss curve not borne out: computed from a formula, typed in, or not
  ending at the training loss the grader measured for the model it came with (`curves.py`);
- on such a challenge, a direct solve suspected: Cramer's rule, elimination, substitution or
  an inverse by iteration written by hand (`direct_solve.py`, with the lines), or more
  determinants than Cramer's rule needs as the sandbox's numpy counted them;
- code run from text (exec, eval, compile), which hides what it does from the review;
- a rule-violation verdict.

Flags are never acted on automatically: an organizer dismisses one or disqualifies the
submission (`submission_disqualify`, the existing action).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from hackathon.accounts.selectors import is_organizer
from hackathon.challenges.models import Challenge, Metric
from hackathon.challenges.precision import score_text
from hackathon.integrity import fingerprint as fp
from hackathon.integrity.curves import curve_reasons
from hackathon.integrity.direct_solve import code_from_text, direct_solves
from hackathon.integrity.embedded import embedded_data
from hackathon.integrity.models import CodeFingerprint, FlagKind, IntegrityFlag
from hackathon.integrity.selectors import excluded_hashes
from hackathon.submissions.models import State, Submission, Verdict

logger = logging.getLogger(__name__)

# Embedded data: an honest gradient-descent solution holds a few dozen literals.
MAX_NUMERIC_LITERALS = 200
MAX_STRING_BYTES = 2048  # the longest single string or bytes constant
MAX_TOTAL_STRING_BYTES = 8192

# Similarity: share of the smaller fingerprint found in the other one (containment).
SIMILARITY_THRESHOLD = 0.4
SIMILARITY_MIN_SHARED = 10  # fingerprints in common, below which short files say nothing
SIMILAR_TEAMS_FLAGGED = 3  # the most similar other teams, one submission each
# A fingerprint held by at least this share of the challenge's teams (and at least this
# many teams) is common boilerplate, not evidence of copying.
BOILERPLATE_SHARE = 0.1
BOILERPLATE_MIN_TEAMS = 4

PERFECT_SCORE: dict[str, float] = {
    Metric.RMSE: 0.0,
    Metric.MAE: 0.0,
    Metric.LOG_LOSS: 0.0,
    Metric.R2: 1.0,
    Metric.ACCURACY: 1.0,
    Metric.F1_MACRO: 1.0,
    Metric.ROC_AUC: 1.0,
}


@dataclass(frozen=True)
class Finding:
    kind: str
    detail: str
    score: float | None = None
    other_id: int | None = None
    lines: tuple[int, ...] = ()


# --- the checks ------------------------------------------------------------------------


def embedded_findings(code: str) -> list[Finding]:
    found = embedded_data(code)
    reasons = []
    if found.numeric_literals > MAX_NUMERIC_LITERALS:
        reasons.append(f"{found.numeric_literals} numeric literals")
    if found.longest_string > MAX_STRING_BYTES:
        reasons.append(f"a string or bytes constant of {found.longest_string} bytes")
    elif found.string_bytes > MAX_TOTAL_STRING_BYTES:
        reasons.append(f"{found.string_bytes} bytes of string constants")
    if not reasons:
        return []
    detail = (
        f"The source embeds data: {' and '.join(reasons)} (an honest solution needs a few "
        f"dozen; limits {MAX_NUMERIC_LITERALS} literals, {MAX_STRING_BYTES} bytes)."
    )
    strength = max(
        found.numeric_literals / MAX_NUMERIC_LITERALS, found.longest_string / MAX_STRING_BYTES
    )
    return [Finding(FlagKind.EMBEDDED_DATA, detail, round(strength, 3))]


def score_findings(challenge: Challenge, submission: Submission) -> list[Finding]:
    perfect = PERFECT_SCORE.get(challenge.metric)
    bound = challenge.best_plausible
    digits = challenge.display_precision
    reasons = []
    for label, value in (
        ("public", submission.public_score),
        ("private", submission.private_score),
    ):
        if value is None:
            continue
        shown = score_text(value, digits)
        if perfect is not None and abs(value - perfect) <= 1e-9:
            reasons.append(f"a perfect {label} score ({shown})")
        elif bound is not None and (value > bound if challenge.higher_is_better else value < bound):
            limit = score_text(bound, digits)
            reasons.append(f"a {label} score of {shown}, better than the plausible {limit}")
    if not reasons:
        return []
    joined = "; ".join(reasons)
    detail = f"{joined[:1].upper()}{joined[1:]}: check for leaked labels or a lookup."
    return [Finding(FlagKind.IMPLAUSIBLE_SCORE, detail[:500])]


def loss_curve_findings(challenge: Challenge, submission: Submission) -> list[Finding]:
    required = challenge.min_loss_curve_points if challenge.gradient_descent_only else 0
    if submission.verdict != Verdict.SCORED or required <= 0:
        return []
    points = len(submission.loss_curve or [])
    if points >= required:
        return []
    detail = (
        f"The challenge asks for a loss curve (at least {required} points of loss_curve_); "
        f"this submission recorded {points}."
    )
    return [Finding(FlagKind.NO_LOSS_CURVE, detail, float(points))]


_SOLVE_NAMES = {
    "cramer": "Cramer's rule",
    "elimination": "elimination",
    "substitution": "a triangular solve or factorisation",
    "cholesky": "a Cholesky factor by hand",
    "iterative_inverse": "an inverse by iteration",
}


def _excerpt(code: str, line: int) -> str:
    lines = code.splitlines()
    text = lines[line - 1].strip() if 0 < line <= len(lines) else ""
    return text if len(text) <= 60 else text[:57] + "..."


def direct_solve_findings(challenge: Challenge, submission: Submission) -> list[Finding]:
    """On a gradient-descent-only challenge: direct solves written by hand (the patterns of
    `direct_solve.py`, with their lines), and more determinants of one size than Cramer's
    rule needs, as the sandbox's numpy counted them."""
    if not challenge.gradient_descent_only:
        return []
    suspects = direct_solves(submission.code)
    reasons = []
    for kind, name in _SOLVE_NAMES.items():
        found = [s for s in suspects if s.kind == kind]
        shown = [f"line {s.line}, {s.what}: {_excerpt(submission.code, s.line)}" for s in found]
        if shown:
            reasons.append(f"{name} ({'; '.join(shown[:3])})")
    counted = {}
    for size, count in (submission.determinants or {}).items():
        n = int(size)
        if n >= 2 and int(count) >= n + 1:
            counted[n] = int(count)
    if counted:
        n, count = max(counted.items())
        reasons.append(
            f"{count} determinants of {n}x{n} matrices during the run, as the sandbox's numpy "
            f"counted them (Cramer's rule solves {n} unknowns with {n + 1})"
        )
    if not reasons:
        return []
    detail = (
        "The model may be solved directly, not trained by gradient descent: "
        + "; ".join(reasons)
        + ". Read the code: a direct solve written by hand breaks the challenge's rule."
    )
    lines = tuple(sorted({s.line for s in suspects}))
    return [Finding(FlagKind.DIRECT_SOLVE, detail[:500], float(len(reasons)), lines=lines)]


def code_from_text_findings(submission: Submission) -> list[Finding]:
    """exec, eval or compile: code the review cannot read (nor any check of the source)."""
    found = code_from_text(submission.code)
    if not found:
        return []
    shown = ", ".join(f"{name} on line {line}" for line, name in found[:5])
    detail = (
        f"The solution runs code from text ({shown}): what that code does is hidden from "
        "the review and from every check of the source."
    )
    return [
        Finding(
            FlagKind.CODE_FROM_TEXT,
            detail[:500],
            float(len(found)),
            lines=tuple(sorted({line for line, _ in found})),
        )
    ]


def curve_findings(challenge: Challenge, submission: Submission) -> list[Finding]:
    """On a challenge that asks for a loss curve: a curve computed from a formula or typed
    in, or one that does not end at the training loss of the model it came with, which the
    platform measured (`curves.py`)."""
    required = challenge.min_loss_curve_points if challenge.gradient_descent_only else 0
    if submission.verdict != Verdict.SCORED or required <= 0 or not submission.loss_curve:
        return []
    reasons = curve_reasons(submission.loss_curve, submission.training_loss or {}, challenge.task)
    if not reasons:
        return []
    detail = "The reported loss curve is not borne out: " + "; ".join(reasons) + "."
    return [Finding(FlagKind.CURVE_NOT_BORNE_OUT, detail[:500], float(len(reasons)))]


def rule_findings(submission: Submission) -> list[Finding]:
    if submission.verdict != Verdict.RULE_VIOLATION:
        return []
    message = (submission.message or "a rule of the challenge").strip()
    return [Finding(FlagKind.RULE_VIOLATION, f"Rule violation: {message}"[:500])]


def similarity_findings(
    challenge: Challenge, submission: Submission, hashes: np.ndarray
) -> list[Finding]:
    """Compare `hashes` with the stored fingerprints of the challenge's other teams."""
    if submission.team_id is None:
        return []
    others = list(
        CodeFingerprint.objects.filter(challenge=challenge, team__isnull=False, version=fp.VERSION)
        .exclude(team_id=submission.team_id)
        .exclude(submission_id=submission.pk)
        .values_list("submission_id", "team_id", "hashes")
    )
    mine = np.setdiff1d(hashes, excluded_hashes(challenge), assume_unique=True)
    if not others or mine.size < SIMILARITY_MIN_SHARED:
        return []
    arrays = [fp.from_bytes(bytes(raw)) for _, _, raw in others]
    owner = np.repeat(np.arange(len(others)), [a.size for a in arrays])
    every = np.concatenate(arrays)
    teams = np.array([team for _, team, _ in others])

    # Boilerplate: my fingerprints that many teams' code holds too (MOSS ignores passages
    # found in more than a few documents the same way).
    in_mine = np.isin(every, mine)
    team_count = len(set(teams.tolist())) + 1
    pairs = np.unique(np.stack([teams[owner[in_mine]].astype(np.uint64), every[in_mine]]), axis=1)
    values, holders = np.unique(pairs[1], return_counts=True)
    common = max(BOILERPLATE_MIN_TEAMS, BOILERPLATE_SHARE * team_count)
    boiler = values[holders + 1 >= common]
    mine = np.setdiff1d(mine, boiler, assume_unique=True)
    shared_mask = in_mine & ~np.isin(every, boiler)
    shared = np.bincount(owner[shared_mask], minlength=len(others))
    excluded = np.concatenate([excluded_hashes(challenge), boiler])
    sizes = np.bincount(owner[~np.isin(every, excluded)], minlength=len(others))

    best: dict[int, tuple[float, float, int, int]] = {}  # team -> (containment, jaccard, n, sub)
    for i, (other_id, team_id, _) in enumerate(others):
        n = int(shared[i])
        if n < SIMILARITY_MIN_SHARED:
            continue
        smaller = max(1, min(int(mine.size), int(sizes[i])))
        containment = n / smaller
        jaccard = n / max(1, int(mine.size) + int(sizes[i]) - n)
        if containment >= SIMILARITY_THRESHOLD and containment > best.get(team_id, (0,))[0]:
            best[team_id] = (containment, jaccard, n, other_id)
    ranked = sorted(best.items(), key=lambda item: -item[1][0])[:SIMILAR_TEAMS_FLAGGED]
    findings = []
    for _, (containment, jaccard, n, other_id) in ranked:
        detail = (
            f"{containment:.0%} of the code's fingerprints match submission #{other_id} of "
            f"another team ({n} shared, Jaccard {jaccard:.2f}; starter and common "
            f"boilerplate left out)."
        )
        findings.append(
            Finding(FlagKind.SIMILAR_CODE, detail, round(containment, 4), other_id=other_id)
        )
    return findings


# --- running a check -------------------------------------------------------------------


def integrity_check_submission(*, submission_id: int) -> list[IntegrityFlag]:
    """Compute (again) every flag of one graded submission and store its fingerprint.

    Idempotent: a second run for the same result changes nothing; a flag that no longer
    applies (after a rejudge) goes unless an organizer dismissed it.
    """
    submission = Submission.objects.select_related("challenge").filter(pk=submission_id).first()
    if submission is None or submission.state != State.FINISHED or submission.is_baseline:
        return []
    challenge = submission.challenge
    code_print = fp.fingerprint(submission.code)
    findings = [
        *embedded_findings(submission.code),
        *score_findings(challenge, submission),
        *loss_curve_findings(challenge, submission),
        *curve_findings(challenge, submission),
        *direct_solve_findings(challenge, submission),
        *code_from_text_findings(submission),
        *rule_findings(submission),
    ]
    findings += similarity_findings(challenge, submission, code_print.hashes)
    with transaction.atomic():
        CodeFingerprint.objects.update_or_create(
            submission=submission,
            defaults={
                "challenge": challenge,
                "team_id": submission.team_id,
                "hashes": fp.to_bytes(code_print.hashes),
                "size": code_print.size,
                "version": fp.VERSION,
            },
        )
        return _store_flags(submission, findings)


def _store_flags(submission: Submission, findings: list[Finding]) -> list[IntegrityFlag]:
    existing = {
        (flag.kind, flag.other_submission_id): flag
        for flag in IntegrityFlag.objects.select_for_update().filter(submission=submission)
    }
    # A pair already flagged from the other side is not flagged twice.
    reverse = set(
        IntegrityFlag.objects.filter(
            other_submission=submission, kind=FlagKind.SIMILAR_CODE
        ).values_list("submission_id", flat=True)
    )
    kept: list[IntegrityFlag] = []
    for finding in findings:
        if finding.kind == FlagKind.SIMILAR_CODE and finding.other_id in reverse:
            continue
        flag = existing.pop((finding.kind, finding.other_id), None)
        if flag is None:
            flag = IntegrityFlag.objects.create(
                submission=submission,
                challenge_id=submission.challenge_id,
                kind=finding.kind,
                detail=finding.detail[:500],
                score=finding.score,
                other_submission_id=finding.other_id,
                lines=list(finding.lines),
            )
        elif (flag.detail, flag.score, flag.lines) != (
            finding.detail[:500],
            finding.score,
            list(finding.lines),
        ):
            flag.detail, flag.score = finding.detail[:500], finding.score
            flag.lines = list(finding.lines)
            flag.save(update_fields=["detail", "score", "lines"])
        kept.append(flag)
    stale = [flag.pk for flag in existing.values() if flag.dismissed_at is None]
    IntegrityFlag.objects.filter(pk__in=stale).delete()
    return kept


def integrity_sweep(*, limit: int = 200) -> int:
    """Check graded submissions that were never checked (a lost message, a worker down), or
    whose fingerprint is of an older normalisation (`fingerprint.VERSION`): the database,
    not the broker, says what is left. Returns how many were checked."""
    current = CodeFingerprint.objects.filter(version=fp.VERSION).values("submission_id")
    unchecked = (
        Submission.objects.filter(state=State.FINISHED, is_baseline=False)
        .exclude(pk__in=current)
        .order_by("finished_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    done = 0
    for submission_id in list(unchecked):
        try:
            integrity_check_submission(submission_id=submission_id)
        except Exception:  # noqa: BLE001 - one bad row must not stop the sweep
            logger.exception("integrity check of submission %s failed", submission_id)
            continue
        done += 1
    return done


# --- organizer actions -----------------------------------------------------------------


def integrity_flag_dismiss(*, flag: IntegrityFlag, actor: User) -> IntegrityFlag:
    """Mark a flag reviewed and harmless; it leaves the list of flags to review."""
    if not is_organizer(actor):
        raise PermissionDenied("Only organizers may dismiss a flag.")
    with transaction.atomic():
        locked = IntegrityFlag.objects.select_for_update().get(pk=flag.pk)
        if locked.dismissed_at is not None:
            raise ValidationError("This flag is already dismissed.")
        locked.dismissed_by = actor
        locked.dismissed_at = timezone.now()
        locked.save(update_fields=["dismissed_by", "dismissed_at"])
    return locked


def integrity_flag_restore(*, flag: IntegrityFlag, actor: User) -> IntegrityFlag:
    """Undo a dismissal: the flag is back on the list to review."""
    if not is_organizer(actor):
        raise PermissionDenied("Only organizers may restore a flag.")
    IntegrityFlag.objects.filter(pk=flag.pk).update(dismissed_by=None, dismissed_at=None)
    flag.refresh_from_db()
    return flag
