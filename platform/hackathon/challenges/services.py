"""Writes for challenges: loading a bundle (from a folder, a zip or the authoring form)
into a `Challenge` and its hidden-data blobs, publishing, and resplitting under guard."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from django.db import transaction
from django.utils import timezone

from hackathon.challenges import data as data_module
from hackathon.challenges.bundle import TOML, parse_bundle
from hackathon.challenges.errors import ChallengeDataError
from hackathon.challenges.installation import challenge_data_secret
from hackathon.challenges.models import Challenge, DataBlob
from hackathon.challenges.schema import check_spec
from hackathon.challenges.spec import ChallengeSpec, DataSource

logger = logging.getLogger(__name__)


class ResplitRefused(ChallengeDataError):
    """The hidden split would change under submissions that already have scores."""


@dataclass
class LoadOutcome:
    challenge: Challenge
    created: bool = False
    changed: bool = False  # texts, limits or times were updated
    resplit: bool = False  # the hidden split changed
    rejudged: bool = False
    unchanged: bool = False  # the bundle was identical: nothing was rebuilt
    note: str = ""
    # The rules that order its boards changed (`BOARD_RULE_FIELDS`): the boards must be
    # rebuilt (the challenge is marked `board_stale_since` until they are).
    board_rules_changed: bool = False


def files_hash(files: Mapping[str, bytes]) -> str:
    """One hash for a bundle's files (path and content), independent of their order."""
    lines = sorted(f"{path}\0{hashlib.sha256(body).hexdigest()}" for path, body in files.items())
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def blob_store(*, data: bytes) -> DataBlob:
    digest = data_module.sha256(data)
    blob, _ = DataBlob.objects.get_or_create(
        sha256=digest, defaults={"data": data, "size": len(data)}
    )
    return blob


def challenge_store_bundle(
    *,
    files: Mapping[str, bytes],
    on_resplit: Callable[[Challenge], bool],
    origin: str = "bundle",
    force: bool = False,
    keep_browser_edits: bool = False,
) -> LoadOutcome:
    """Parse a bundle held in memory and create or update its challenge (idempotent).
    Called through `organizing.services.challenge_load_bundle`, which decides `on_resplit`.

    `keep_browser_edits` (load_challenges at start-up) leaves alone a challenge that was
    edited in the browser since it was loaded; an explicit upload always applies."""
    spec = parse_bundle(files, origin=origin)
    bundle_hash = files_hash(files)
    existing = Challenge.objects.filter(slug=spec.slug).first()
    if existing and not force and existing.bundle_hash == bundle_hash and existing.split_hash:
        return LoadOutcome(challenge=existing, unchanged=True)
    if existing and keep_browser_edits and not existing.bundle_hash and existing.split_hash:
        # Edited in the browser since it was loaded: a reload must not silently undo that.
        return LoadOutcome(
            challenge=existing,
            unchanged=True,
            note="edited in the browser since it was loaded; not overwritten (use --force)",
        )
    return challenge_store_spec(
        spec=spec, origin=origin, on_resplit=on_resplit, bundle_hash=bundle_hash
    )


_TEXT_AND_LIMIT_FIELDS = (
    "title",
    "summary",
    "description_md",
    "task",
    "track",
    "workload",
    "metric",
    "extra_metrics",
    "time_limit_s",
    "memory_mb",
    "daily_quota",
    "total_quota",
    "inflight_cap",
    "max_final",
    "display_precision",
    "best_plausible",
    "allowed_imports",
    "gradient_descent_only",
    "min_loss_curve_points",
    "start_at",
    "end_at",
    "freeze_at",
    "is_published",
    "starter_code",
    "baseline_code",
)


# What the leaderboard's rows depend on beyond the submissions: how scores are rounded and
# ordered, and which submissions count on the frozen board.
BOARD_RULE_FIELDS = ("display_precision", "freeze_at", "metric")


def build_spec_split(
    spec: ChallengeSpec, *, origin: str = "bundle"
) -> tuple[data_module.Dataset, data_module.Split]:
    """The data and split of `spec`, drawn from the installation's secret when it has no
    pinned seed (the secret is read only then: a CSV challenge needs none)."""
    secret = challenge_data_secret() if spec.data.uses_installation_seed else None
    return data_module.build_split(spec, origin=origin, secret=secret)


def _copy_spec_fields(
    challenge: Challenge,
    spec: ChallengeSpec,
    *,
    dataset: data_module.Dataset,
    source: dict[str, Any],
) -> None:
    """The spec's texts, rules, limits and dates, and the data's shape, onto `challenge`."""
    challenge.title = spec.title
    challenge.summary = spec.summary
    challenge.description_md = spec.description_md
    challenge.task = spec.task
    challenge.track = spec.track
    challenge.workload = dict(spec.workload)
    challenge.metric = spec.metric
    challenge.extra_metrics = list(spec.extra_metrics)
    challenge.n_classes = dataset.n_classes
    challenge.n_features = dataset.X.shape[1]
    challenge.feature_names = dataset.feature_names
    challenge.target_name = dataset.target_name
    challenge.source = source
    challenge.seed = spec.seed
    challenge.test_fraction = spec.test_fraction
    challenge.public_fraction = spec.public_fraction
    challenge.time_limit_s = spec.time_limit_s
    challenge.memory_mb = spec.memory_mb
    challenge.daily_quota = spec.daily_quota
    challenge.total_quota = spec.total_quota
    challenge.inflight_cap = spec.inflight_cap
    challenge.max_final = spec.max_final
    challenge.display_precision = spec.display_precision
    challenge.best_plausible = spec.best_plausible
    challenge.allowed_imports = list(spec.allowed_imports)
    challenge.gradient_descent_only = spec.gradient_descent_only
    challenge.min_loss_curve_points = spec.min_loss_curve_points
    challenge.public_labels = spec.data.labels_are_public
    challenge.start_at = spec.start_at
    challenge.end_at = spec.end_at
    challenge.freeze_at = spec.freeze_at
    challenge.is_published = spec.published
    challenge.starter_code = spec.starter_code
    challenge.baseline_code = spec.baseline_code


def challenge_store_spec(
    *,
    spec: ChallengeSpec,
    on_resplit: Callable[[Challenge], bool],
    origin: str = "bundle",
    bundle_hash: str = "",
) -> LoadOutcome:
    """Create or update the challenge of `spec`: data built and split first (outside the
    transaction, raising `ChallengeDataError` with nothing written), then one transaction
    stores blobs and fields. When the hidden split of an existing challenge changed,
    `on_resplit(challenge)` runs in that transaction after the new split is stored: it may
    raise (`ResplitRefused`: nothing is written) or act on the challenge's submissions, and
    returns whether they were rejudged."""
    check_spec(spec, file=data_module.error_file(origin, TOML))
    dataset, split = build_spec_split(spec, origin=origin)
    blobs = split.blobs()
    hashes = {key: data_module.sha256(body) for key, body in blobs.items()}
    new_split_hash = data_module.split_hash(hashes)
    source = spec.data.as_dict()

    with transaction.atomic():
        existing = Challenge.objects.select_for_update().filter(slug=spec.slug).first()
        created = existing is None
        challenge = Challenge(slug=spec.slug) if existing is None else existing
        resplit = not created and challenge.split_hash != new_split_hash
        for file_name, body in spec.data_files.items():
            source["blob"] = blob_store(data=body).sha256
            source["file"] = file_name
        if created or resplit:
            for key, body in blobs.items():
                setattr(challenge, key, blob_store(data=body))
            challenge.split_hash = new_split_hash
            challenge.n_train = len(split.train_y)
            challenge.n_test = len(split.test_y)
        before = {f: getattr(challenge, f) for f in _TEXT_AND_LIMIT_FIELDS} if not created else {}
        _copy_spec_fields(challenge, spec, dataset=dataset, source=source)
        challenge.bundle_hash = bundle_hash
        board_rules_changed = not created and any(
            before[f] != getattr(challenge, f) for f in BOARD_RULE_FIELDS
        )
        if board_rules_changed:
            challenge.board_stale_since = timezone.now()
        challenge.save()
        changed = created or any(before[f] != getattr(challenge, f) for f in before)
        rejudged = on_resplit(challenge) if resplit else False
    return LoadOutcome(
        challenge=challenge,
        created=created,
        changed=changed or resplit,
        resplit=resplit,
        rejudged=rejudged,
        board_rules_changed=board_rules_changed,
    )


def challenge_to_spec(challenge: Challenge) -> ChallengeSpec:
    """The spec a challenge was made from (its bundle can be written back from it)."""
    source = dict(challenge.source or {})
    data_files: dict[str, bytes] = {}
    blob_sha = source.pop("blob", None)
    if blob_sha:
        data_files[source["file"]] = bytes(DataBlob.objects.get(sha256=blob_sha).data)
    rescale = source.get("rescale_log10")
    return ChallengeSpec(
        slug=challenge.slug,
        title=challenge.title,
        summary=challenge.summary,
        task=challenge.task,
        metric=challenge.metric,
        extra_metrics=tuple(challenge.extra_metrics),
        data=DataSource(
            kind=source.get("kind", "csv"),
            name=source.get("name", ""),
            params=source.get("params", {}),
            file=source.get("file", ""),
            target=source.get("target", ""),
            rescale_log10=tuple(rescale) if rescale else None,
            seed=source.get("seed"),
            seed_is_public=bool(source.get("seed_is_public", source.get("seed") is not None)),
        ),
        test_fraction=challenge.test_fraction,
        public_fraction=challenge.public_fraction,
        seed=challenge.seed,
        time_limit_s=challenge.time_limit_s,
        memory_mb=challenge.memory_mb,
        daily_quota=challenge.daily_quota,
        total_quota=challenge.total_quota,
        inflight_cap=challenge.inflight_cap,
        max_final=challenge.max_final,
        display_precision=challenge.display_precision,
        best_plausible=challenge.best_plausible,
        allowed_imports=tuple(challenge.allowed_imports),
        gradient_descent_only=challenge.gradient_descent_only,
        min_loss_curve_points=challenge.min_loss_curve_points,
        start_at=challenge.start_at,
        end_at=challenge.end_at,
        freeze_at=challenge.freeze_at,
        published=challenge.is_published,
        description_md=challenge.description_md,
        starter_code=challenge.starter_code,
        baseline_code=challenge.baseline_code,
        data_files=data_files,
        track=challenge.track,
        workload=dict(challenge.workload or {}),
    )


def challenge_set_published(*, challenge: Challenge, published: bool) -> Challenge:
    Challenge.objects.filter(pk=challenge.pk).update(is_published=published)
    challenge.is_published = published
    return challenge


def spec_with(spec: ChallengeSpec, **changes: Any) -> ChallengeSpec:
    return replace(spec, **changes)
