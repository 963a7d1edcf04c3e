"""The optimizer track on the platform side: which instances a submission is graded on.

Hidden instances come from seeds derived from the installation's SECRET_KEY (which every web
process and grading worker of an installation shares; the data secret lives only where
challenge data is built), the challenge's slug and its seed (HMAC-SHA256): the same for every grading and rejudge of the challenge on
this installation, unknowable to a team (no seed in the repository or the bundle reveals
them). Public instances, shipped in the starter kit for `hackathon evaluate`, come from the
challenge's public seed (grader.workloads.public_seeds) and are drawn from the training rows
alone. Plain functions over a `Challenge`; the grader does the rest.
"""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

from django.conf import settings

from grader.contract import DEFAULT_ALLOWED_IMPORTS, Limits
from grader.optimizer_track import OptimizerJob
from grader.workloads import Workload, public_seeds
from hackathon.challenges.models import Challenge


def challenge_workload(challenge: Challenge) -> Workload:
    return Workload.from_dict(challenge.workload)


def workload_shown(challenge: Challenge) -> dict:
    """The workload as pages, the API and the starter kit show it: every field, with the
    defaults of fields added since the challenge was loaded ({} for a model challenge)."""
    return challenge_workload(challenge).as_dict() if challenge.workload else {}


def hidden_seeds(challenge: Challenge) -> tuple[int, ...]:
    """The secret instance seeds of `challenge` on this installation."""
    key = settings.SECRET_KEY.encode()
    workload = challenge_workload(challenge)
    seeds = []
    for index in range(workload.instances):
        message = f"optimizer-instance:{challenge.slug}:{challenge.seed}:{index}".encode()
        digest = hmac.new(key, message, hashlib.sha256).digest()
        seeds.append(int.from_bytes(digest[:4], "big"))
    return tuple(seeds)


def kit_seeds(challenge: Challenge) -> tuple[int, ...]:
    """The public instances' seeds (in the starter kit: anyone may know them)."""
    return tuple(public_seeds(challenge.seed, challenge_workload(challenge).public_instances))


def optimizer_job(
    challenge: Challenge, *, source: str, paths: dict[str, Path], public_kit: bool = False
) -> OptimizerJob:
    """The grading job of `source`: the hidden instances (half public part, half private part)
    tested on the hidden rows; or, with `public_kit`, the starter kit's public instances
    drawn from the training rows alone, exactly as `hackathon evaluate` builds them."""
    workload = challenge_workload(challenge)
    common = {
        "source": source,
        "task": challenge.task,
        "workload": workload,
        "train_X": paths["train_X"],
        "train_y": paths["train_y"],
        "n_classes": challenge.n_classes,
        "allowed_imports": tuple(challenge.allowed_imports) or DEFAULT_ALLOWED_IMPORTS,
        "seed": challenge.seed,
        "limits": Limits(time_s=float(challenge.time_limit_s), memory_mb=int(challenge.memory_mb)),
    }
    if public_kit:
        seeds = kit_seeds(challenge)
        return OptimizerJob(seeds=seeds, public_count=len(seeds), **common)
    seeds = hidden_seeds(challenge)
    return OptimizerJob(
        seeds=seeds,
        public_count=(len(seeds) + 1) // 2,
        test_X=paths["test_X"],
        test_y=paths["test_y"],
        public_mask=paths["public_mask"],
        **common,
    )


def visible_instances(instances: list[dict] | None, *, show_private: bool) -> list[dict]:
    """The instance runs a viewer may see: private ones only with the private board."""
    return [i for i in instances or [] if show_private or i.get("part") != "private"]
