"""The other areas' interfaces this app calls, in one place.

Each call goes to the agreed function of the owning app. While a module is still being
written (the areas grow in parallel), a small local fallback keeps the pipeline working;
a fallback is used only when the module itself does not exist, never to hide an error
raised inside it.
"""

from __future__ import annotations

import importlib
import logging
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from django.conf import settings

if TYPE_CHECKING:
    from hackathon.accounts.models import Team
    from hackathon.challenges.models import Challenge
    from hackathon.submissions.models import Submission

logger = logging.getLogger(__name__)


def _module(name: str) -> ModuleType | None:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name and (name == exc.name or name.startswith(exc.name + ".")):
            return None
        raise


def _function(module: str, name: str) -> Any | None:
    found = _module(module)
    return getattr(found, name, None) if found else None


# --- accounts -------------------------------------------------------------------------
def user_team(user: Any) -> Team | None:
    fn = _function("hackathon.accounts.selectors", "user_team")
    if fn:
        return fn(user)
    if not getattr(user, "is_authenticated", False):
        return None
    from hackathon.accounts.models import Membership

    membership = Membership.objects.select_related("team").filter(user=user).first()
    return membership.team if membership else None


def user_is_organizer(user: Any) -> bool:
    fn = _function("hackathon.accounts.selectors", "user_is_organizer")
    if fn:
        return bool(fn(user))
    if not getattr(user, "is_authenticated", False):
        return False
    return bool(user.is_staff or user.groups.filter(name=settings.ORGANIZERS_GROUP).exists())


# --- challenges -----------------------------------------------------------------------
def challenge_dataset_paths(challenge: Challenge, cache_dir: Path) -> dict[str, Path]:
    fn = _function("hackathon.challenges.datasets", "challenge_dataset_paths")
    if fn:
        return fn(challenge, cache_dir)
    return _dataset_paths_fallback(challenge, cache_dir)


def _dataset_paths_fallback(challenge: Challenge, cache_dir: Path) -> dict[str, Path]:
    import hashlib

    from hackathon.challenges.models import DataBlob

    cache_dir.mkdir(parents=True, exist_ok=True)
    paths = {}
    for key in ("train_X", "train_y", "test_X", "test_y", "public_mask"):
        sha = getattr(challenge, f"{key}_id")
        if not sha:
            raise RuntimeError(f"challenge {challenge.slug} has no {key} blob")
        path = cache_dir / f"{sha}.npy"
        if not path.exists() or hashlib.sha256(path.read_bytes()).hexdigest() != sha:
            data = bytes(DataBlob.objects.get(sha256=sha).data)
            if hashlib.sha256(data).hexdigest() != sha:
                raise RuntimeError(f"blob {sha} is corrupt in the database")
            tmp = path.with_suffix(".tmp")
            tmp.write_bytes(data)
            tmp.replace(path)
        paths[key] = path
    return paths


# --- leaderboard ----------------------------------------------------------------------
def leaderboard_record_result(*, submission: Submission) -> None:
    fn = _function("hackathon.leaderboard.services", "leaderboard_record_result")
    if fn:
        fn(submission=submission)


def leaderboard_rebuild(*, challenge: Challenge) -> None:
    fn = _function("hackathon.leaderboard.services", "leaderboard_rebuild")
    if fn:
        fn(challenge=challenge)


def viewer_may_see_private(*, challenge: Challenge, viewer: Any) -> bool:
    fn = _function("hackathon.leaderboard.selectors", "viewer_may_see_private")
    if fn:
        return bool(fn(challenge=challenge, viewer=viewer))
    # Until the leaderboard's rule exists, the strictest reading: organizers, or after reveal.
    return user_is_organizer(viewer) or bool(challenge.revealed_at)


def live_publish(topic: str, event: str, data: dict) -> None:
    """Push a live event; a failure to publish never breaks grading (pages resync)."""
    fn = _function("hackathon.leaderboard.live", "publish")
    if not fn:
        return
    try:
        fn(topic, event, data)
    except Exception:  # noqa: BLE001 - live updates are best effort by design
        logger.warning("live publish to %s failed", topic, exc_info=True)


def live_stream_url() -> str | None:
    """The SSE endpoint's URL prefix, if the leaderboard app serves one."""
    from django.urls import NoReverseMatch, reverse

    for name in ("leaderboard:live", "leaderboard:events", "live", "events"):
        try:
            return reverse(name)
        except NoReverseMatch:
            continue
    return None


# --- grader ---------------------------------------------------------------------------
def precheck(source: str, allowed_imports: tuple[str, ...]) -> tuple[bool, str, str]:
    """(ok, verdict, message) from the grader's static pre-check."""
    fn = _function("grader.precheck", "precheck")
    if fn:
        result = fn(source, allowed_imports)
        return bool(result.ok), str(result.verdict or ""), str(result.message or "")
    import ast

    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        return False, "syntax_error", f"Syntax error on line {exc.lineno}: {exc.msg}"
    allowed = set(allowed_imports)
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names = [node.module]
        for name in names:
            if name.split(".")[0] not in allowed:
                return (
                    False,
                    "forbidden_import",
                    (
                        f"line {node.lineno}: import of {name!r} is not allowed; allowed: "
                        f"{', '.join(sorted(allowed))}"
                    ),
                )
    if not any(isinstance(n, ast.ClassDef) and n.name == "Model" for n in tree.body):
        return False, "syntax_error", "solution.py must define a class named Model"
    return True, "", ""
