"""API fixtures: a real challenge loaded from a bundle, tokens per role, a scored submission."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone
from hackathon.accounts.services import api_token_create
from hackathon.challenges.bundle import read_bundle_dir
from hackathon.challenges.models import Challenge
from hackathon.organizing.services import challenge_load_bundle
from hackathon.submissions.models import State, Submission

BUNDLE = Path(settings.BASE_DIR) / "challenges" / "diabetes-gd"

ROLES = ("anonymous", "member", "other_team", "organizer")


def load_challenge(*, slug: str | None = None, published: bool = True) -> Challenge:
    files = dict(read_bundle_dir(BUNDLE))
    if slug or not published:
        toml = files["challenge.toml"].decode()
        toml = toml.replace('slug = "diabetes-gd"', f'slug = "{slug or "diabetes-gd"}"')
        if not published:
            toml = toml.replace("\n[data]", "\npublished = false\n\n[data]", 1)
        files["challenge.toml"] = toml.encode()
    return challenge_load_bundle(files=files, origin=str(BUNDLE)).challenge


@pytest.fixture
def challenge(db: None) -> Challenge:
    return load_challenge()


@pytest.fixture
def draft_challenge(db: None) -> Challenge:
    challenge = load_challenge(slug="secret-draft", published=False)
    assert not challenge.is_published
    return challenge


def make_scored_submission(challenge: Challenge, team: object, user: object) -> Submission:
    code = "class Model:\n    pass\n"
    now = timezone.now()
    return Submission.objects.create(
        challenge=challenge,
        team=team,
        user=user,
        code=code,
        code_sha256=hashlib.sha256(code.encode()).hexdigest(),
        state=State.FINISHED,
        verdict="scored",
        queued_at=now,
        started_at=now,
        finished_at=now,
        public_score=55.5,
        private_score=57.25,
        loss_curve=[3.0, 2.0, 1.5],
        diagnostics=[{"code": "lr", "title": "Learning rate", "detail": "fine"}],
    )


@pytest.fixture
def submission_a(challenge: Challenge, team_a: object, member_a: object) -> Submission:
    return make_scored_submission(challenge, team_a, member_a)


def _token_client(user: object) -> Client:
    _, key = api_token_create(user=user, name="tests")
    return Client(HTTP_AUTHORIZATION=f"Token {key}")


@pytest.fixture
def as_role(
    member_a: object, member_b: object, organizer: object, team_a: object, team_b: object
) -> Callable[[str], Client]:
    """A client per role: anonymous; member (of team A, which owns the fixtures); other_team
    (team B); organizer. Members and organizer authenticate with API tokens."""
    clients = {
        "anonymous": Client(),
        "member": _token_client(member_a),
        "other_team": _token_client(member_b),
        "organizer": _token_client(organizer),
    }
    return clients.__getitem__
