"""schemathesis over the published OpenAPI schema, in process (WSGI): no 5xx, and every
response matches the schema (status, content type, body).

Bounded: a few examples per operation (SCHEMATHESIS_EXAMPLES, default 6), each sent as
anonymous, team member and organizer, with generated and with real path parameters.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.api.conftest import make_scored_submission

EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "6"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture
def api_schema(db: None) -> Iterator[schemathesis.BaseSchema]:
    # In process, in the test's transaction: nothing is committed, no grading message leaves.
    # As Django's test client does, keep the request cycle from closing that connection.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def real_objects(challenge: object, team_a: object, member_a: object) -> dict[str, object]:
    """Path parameters that exist: generated cases are also sent against real objects."""
    submission = make_scored_submission(challenge, team_a, member_a)
    return {"slug": challenge.slug, "id": submission.pk}  # type: ignore[attr-defined]


@pytest.fixture
def tokens(organizer: object, member_a: object) -> dict[str, str]:
    from hackathon.accounts.services import api_token_create

    return {
        "organizer": api_token_create(user=organizer, name="schemathesis")[1],
        "member": api_token_create(user=member_a, name="schemathesis")[1],
    }


def operations() -> list[str]:
    """Operation labels, read from the schema without a database (for test ids)."""
    from drf_spectacular.generators import SchemaGenerator

    paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]
    return sorted(f"{method.upper()} {path}" for path, item in paths.items() for method in item)


@pytest.mark.parametrize("label", operations())
def test_every_operation_answers_within_its_schema(
    label: str,
    api_schema: schemathesis.BaseSchema,
    tokens: dict[str, str],
    real_objects: dict[str, object],
) -> None:
    method, path = label.split(" ", 1)
    operation = api_schema[path][method]

    # schemathesis' own pytest plugin does not run under pytest 9 yet: drive Hypothesis here.
    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case: object) -> None:
        generated = dict(case.path_parameters or {})  # type: ignore[attr-defined]
        real = {k: v for k, v in real_objects.items() if k in generated}
        for path_parameters in (generated, {**generated, **real}):
            case.path_parameters = path_parameters  # type: ignore[attr-defined]
            for role in ("anonymous", "member", "organizer"):
                headers = {"Authorization": f"Token {tokens[role]}"} if role in tokens else {}
                case.call_and_validate(headers=headers, checks=CHECKS)  # type: ignore[attr-defined]

    run()
