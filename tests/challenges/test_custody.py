"""Custody of hidden data: no URL of the site, for anyone, returns the hidden test rows.

Every URL pattern is resolved from the root resolver and filled with real objects (the
challenge's slug, ids of submissions, teams, users, tokens, blob hashes...), then
requested as an anonymous visitor, a participant, a member of another team and an
organizer. No response body may contain the hidden labels or features, in any of several
serializations.
"""

from __future__ import annotations

import base64
import io
import itertools
import json
import re
import zipfile
from collections.abc import Iterator

import numpy as np
import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from hackathon.accounts.models import ApiToken, Team
from hackathon.challenges.data import npy_load
from hackathon.challenges.models import Challenge, DataBlob
from hackathon.submissions.models import Submission

PARAM = re.compile(r"<(?:(?P<conv>\w+):)?(?P<name>\w+)>|\(\?P<(?P<rname>\w+)>[^)]*\)")


def walk(resolver: URLResolver, prefix: str = "") -> Iterator[str]:
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            yield from walk(entry, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern)


def to_path(route: str) -> str:
    path = route.replace("^", "").replace("$", "").replace("\\", "")
    return "/" + path.lstrip("/")


def fill(route: str, candidates: dict[str, list[str]]) -> list[str]:
    """Concrete URLs for `route`: each parameter filled from the candidates of its kind."""
    params = list(PARAM.finditer(route))
    if not params:
        return [to_path(route)]
    choices = []
    for match in params:
        if match.group("rname"):
            choices.append(candidates["any"])
        else:
            conv = match.group("conv") or "str"
            choices.append(
                candidates.get(match.group("name"), candidates.get(conv, candidates["str"]))
            )
    urls = []
    for combo in itertools.islice(itertools.product(*choices), 60):
        url = route
        for match, value in zip(params, combo, strict=True):
            url = url.replace(match.group(0), value, 1)
        urls.append(to_path(url))
    return urls


def leak_needles(challenge: Challenge) -> list[str]:
    test_y = npy_load(bytes(challenge.test_y.data))
    test_X = npy_load(bytes(challenge.test_X.data))
    needles = []
    for v in test_y.tolist():
        needles += [repr(v), f"{v:.6f}", json.dumps(v)]
    needles.append(",".join(f"{v:.3f}" for v in test_y[:4].tolist()))
    needles.append(", ".join(f"{v:.3f}" for v in test_y[:4].tolist()))
    needles.append(json.dumps(test_y[:3].tolist())[1:-1])
    needles += [repr(v) for v in test_X[:, 0].tolist()]
    for key in ("test_y", "test_X"):
        blob = bytes(getattr(challenge, key).data)
        needles.append(base64.b64encode(blob[129:201]).decode())  # 129: base64-aligned
        needles.append(blob[129:201].hex())
    return needles


def body_of(response: object) -> bytes:
    """The response body, with the members of a zip (or an .npz) appended in clear."""
    if response.get("Content-Type", "").startswith("text/event-stream"):
        return b""  # a live stream never ends; what it carries is tested with the leaderboard
    body = (
        b"".join(response.streaming_content)
        if getattr(response, "streaming", False)
        else response.content
    )
    if body.startswith(b"PK\x03\x04"):
        with zipfile.ZipFile(io.BytesIO(body)) as archive:
            body += b"".join(archive.read(name) for name in archive.namelist())
    return body


def raw_needles(challenge: Challenge) -> list[bytes]:
    return [bytes(getattr(challenge, key).data)[129:201] for key in ("test_y", "test_X")]


# The one response allowed to carry the hidden rows: an organizer downloading the bundle
# they authored (its data file holds every row, so the challenge can move to another
# instance). Participants get 403 there (tested in test_authoring).
ORGANIZER_BUNDLE = re.compile(r"^/challenges/manage/[^/]+/bundle\.zip$")


@pytest.fixture
def world(
    make_challenge: object, team_a: Team, team_b: Team, member_a: object, organizer: object
) -> Challenge:
    challenge = make_challenge(slug="secret")
    for team, score in ((team_a, 0.5), (team_b, 0.7)):
        Submission.objects.create(
            challenge=challenge,
            team=team,
            code="import numpy",
            code_sha256="0" * 64,
            state="finished",
            verdict="scored",
            public_score=score,
            private_score=score,
            stdout="hello",
            loss_curve=[3.0, 2.0, 1.0],
        )
    try:
        from hackathon.leaderboard.services import leaderboard_rebuild
    except ImportError:
        pass
    else:
        leaderboard_rebuild(challenge=challenge)
    ApiToken.objects.create(user=member_a, name="t", prefix="abc", key_hash="1" * 64)
    return challenge


def test_no_url_returns_hidden_labels_to_anyone(
    world: Challenge, client: Client, client_a: Client, client_b: Client, organizer_client: Client
) -> None:
    ints = {
        str(pk)
        for model in (Submission, Team, ApiToken, Challenge)
        for pk in model.objects.values_list("pk", flat=True)
    }
    ints |= {str(pk) for pk in get_user_model().objects.values_list("pk", flat=True)}
    ints.add("1")
    blobs = list(DataBlob.objects.values_list("sha256", flat=True))
    candidates = {
        "slug": [world.slug],
        "int": sorted(ints, key=int),
        "str": [world.slug, "public", "private", "full", "x", *blobs],
        "path": [str(world.pk), *blobs],
        "kind": ["public", "private", "full", "submissions"],
        "code": [Team.objects.first().invite_code],
        "any": ["", world.slug, *blobs[:2]],
    }
    needles = leak_needles(world)
    raw = raw_needles(world)
    routes = list(walk(get_resolver()))
    assert len(routes) > 30
    requested = ok = 0
    leaks = []
    for route in routes:
        for url in fill(route, candidates):
            for who, c in (
                ("anonymous", client),
                ("participant", client_a),
                ("other team", client_b),
                ("organizer", organizer_client),
            ):
                response = c.get(url)
                requested += 1
                ok += response.status_code == 200
                data = body_of(response)
                body = data.decode("utf-8", "replace")
                found = [n for n in needles if n in body] + [n.hex() for n in raw if n in data]
                if who == "organizer" and ORGANIZER_BUNDLE.match(url):
                    assert found, "the bundle download should hold the data: is the check blind?"
                    continue
                if found:
                    leaks.append(f"{who} GET {url} -> {response.status_code}: {found[:2]}")
    assert leaks == []
    assert requested > 200 and ok > 40  # the walk reached real pages, not only 404s


def test_the_needles_do_find_hidden_labels_when_they_are_printed(world: Challenge) -> None:
    test_y = npy_load(bytes(world.test_y.data))
    needles = leak_needles(world)
    for printed in (
        np.array2string(test_y, precision=6),
        json.dumps(test_y.tolist()),
        str(test_y.tolist()),
        ",".join(map(repr, test_y.tolist())),
        base64.b64encode(bytes(world.test_y.data)).decode(),
    ):
        assert any(n in printed for n in needles), printed[:200]


def test_the_public_csv_has_only_the_training_rows(world: Challenge, client: Client) -> None:
    body = b"".join(client.get("/challenges/secret/train.csv").streaming_content).decode()
    assert len(body.strip().splitlines()) == 1 + world.n_train
    assert not [n for n in leak_needles(world) if n in body]
