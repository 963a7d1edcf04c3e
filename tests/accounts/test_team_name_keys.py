"""Team names are unique ignoring case in every script, by the database, on SQLite as on
PostgreSQL; existing teams get their key from the migration."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from hackathon.accounts.models import Team
from hackathon.accounts.services import team_create, team_name_key

from tests.conftest import make_user


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("ÉQUIPE", "équipe"),
        ("Straße", "STRASSE"),
        ("ΣΟΦΙΑ", "σοφια"),
        ("Ｇｒａｄｉｅｎｔｓ", "gradients"),  # full-width letters (NFKC)
    ],
)
def test_names_differing_only_by_case_or_width_in_any_script_are_one_team(
    first: str, second: str
) -> None:
    team_create(user=make_user("first"), name=first)
    with pytest.raises(ValidationError) as info:
        team_create(user=make_user("second"), name=second)
    assert info.value.code == "duplicate_name"
    assert Team.objects.count() == 1


@pytest.mark.django_db
def test_the_database_refuses_a_second_team_with_the_same_key() -> None:
    team_create(user=make_user("first"), name="ÉQUIPE")
    with pytest.raises(IntegrityError), transaction.atomic():
        Team.objects.create(name="équipe", name_key=team_name_key("équipe"), invite_code="x1")


@pytest.mark.django_db(transaction=True)
def test_the_migration_gives_existing_teams_their_keys_and_keeps_clashing_rows() -> None:
    executor = MigrationExecutor(connection)
    executor.migrate([("accounts", "0001_initial")])
    old_apps = executor.loader.project_state([("accounts", "0001_initial")]).apps
    OldTeam = old_apps.get_model("accounts", "Team")  # noqa: N806
    OldTeam.objects.create(name="Straße", invite_code="a")
    OldTeam.objects.create(name="STRASSE", invite_code="b")  # lower() let this in
    OldTeam.objects.create(name="Gradients", invite_code="c")
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
    keys = dict(Team.objects.values_list("invite_code", "name_key"))
    assert keys == {"a": "strasse", "b": None, "c": "gradients"}
