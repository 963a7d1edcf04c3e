"""Team rules, enforced by the services: every bad input is refused and changes nothing."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from hackathon.accounts.models import Membership, Team
from hackathon.accounts.selectors import user_team
from hackathon.accounts.services import (
    team_create,
    team_join,
    team_leave,
    team_regenerate_code,
    team_remove_member,
)

from tests.conftest import make_user

pytestmark = pytest.mark.django_db


def snapshot() -> tuple:
    teams = tuple(
        Team.objects.order_by("pk").values_list("pk", "name", "invite_code", "created_by")
    )
    members = tuple(Membership.objects.order_by("pk").values_list("user", "team"))
    return teams, members


def refused(expected: str, call, *args, **kwargs) -> ValidationError:
    before = snapshot()
    with pytest.raises(ValidationError) as caught:
        call(*args, **kwargs)
    assert caught.value.code == expected, caught.value.messages
    assert snapshot() == before
    return caught.value


def test_creating_a_team_makes_the_creator_its_first_member(outsider) -> None:
    team = team_create(user=outsider, name="  Gradient   Rangers ")
    assert team.name == "Gradient Rangers"
    assert team.created_by == outsider
    assert user_team(outsider) == team
    assert len(team.invite_code) >= 12


def test_duplicate_team_name_in_any_case_is_refused(team_a, outsider) -> None:
    error = refused("duplicate_name", team_create, user=outsider, name="tEaM a")
    assert "already exists" in error.messages[0]


def test_blank_team_name_is_refused(outsider) -> None:
    refused("blank", team_create, user=outsider, name="   ")


def test_two_hundred_character_team_name_is_refused(outsider) -> None:
    error = refused("too_long", team_create, user=outsider, name="x" * 200)
    assert "60" in error.messages[0] and "200" in error.messages[0]


def test_a_sixty_character_team_name_is_accepted(outsider) -> None:
    assert team_create(user=outsider, name="y" * 60).name == "y" * 60


def test_creating_a_second_team_while_in_one_is_refused(member_a) -> None:
    refused("already_in_team", team_create, user=member_a, name="Another")


def test_joining_with_the_invite_code_adds_the_member(team_a, outsider) -> None:
    assert team_join(user=outsider, code=f" {team_a.invite_code} ") == team_a
    assert user_team(outsider) == team_a


def test_joining_a_full_team_is_refused(team_a, outsider, settings) -> None:
    settings.TEAM_MAX_SIZE = 2
    team_join(user=make_user("second"), code=team_a.invite_code)
    error = refused("team_full", team_join, user=outsider, code=team_a.invite_code)
    assert "full" in error.messages[0]


def test_default_team_size_is_four(team_a) -> None:
    for n in range(3):
        team_join(user=make_user(f"mate{n}"), code=team_a.invite_code)
    refused("team_full", team_join, user=make_user("fifth"), code=team_a.invite_code)
    assert team_a.memberships.count() == 4


def test_joining_while_already_in_a_team_is_refused(team_a, member_b) -> None:
    refused("already_in_team", team_join, user=member_b, code=team_a.invite_code)


def test_an_invalid_invite_code_is_refused(outsider, team_a) -> None:
    refused("invalid_code", team_join, user=outsider, code="no-such-code")


def test_a_blank_invite_code_is_refused(outsider) -> None:
    refused("blank", team_join, user=outsider, code="  ")


def test_a_regenerated_invite_code_stops_the_old_one(team_a, member_a, outsider) -> None:
    old = team_a.invite_code
    team_regenerate_code(actor=member_a, team=team_a)
    team_a.refresh_from_db()
    assert team_a.invite_code != old
    refused("invalid_code", team_join, user=outsider, code=old)
    assert team_join(user=outsider, code=team_a.invite_code) == team_a


def test_only_the_creator_regenerates_the_code(team_a, outsider) -> None:
    team_join(user=outsider, code=team_a.invite_code)
    refused("not_team_creator", team_regenerate_code, actor=outsider, team=team_a)


def test_an_organizer_may_regenerate_a_team_code(team_a, organizer) -> None:
    old = team_a.invite_code
    team_regenerate_code(actor=organizer, team=team_a)
    team_a.refresh_from_db()
    assert team_a.invite_code != old


def test_the_creator_removes_a_member(team_a, member_a, outsider) -> None:
    team_join(user=outsider, code=team_a.invite_code)
    team_remove_member(actor=member_a, team=team_a, member=outsider)
    assert user_team(outsider) is None
    assert user_team(member_a) == team_a


def test_a_member_who_is_not_the_creator_cannot_remove_anyone(team_a, member_a, outsider) -> None:
    team_join(user=outsider, code=team_a.invite_code)
    refused("not_team_creator", team_remove_member, actor=outsider, team=team_a, member=member_a)


def test_the_creator_of_another_team_cannot_remove_members(team_a, member_b, outsider) -> None:
    team_join(user=outsider, code=team_a.invite_code)
    refused("not_team_creator", team_remove_member, actor=member_b, team=team_a, member=outsider)


def test_removing_someone_who_is_not_a_member_is_refused(team_a, member_a, member_b) -> None:
    refused("not_a_member", team_remove_member, actor=member_a, team=team_a, member=member_b)


def test_the_creator_cannot_remove_themselves(team_a, member_a) -> None:
    refused("remove_self", team_remove_member, actor=member_a, team=team_a, member=member_a)


def test_leaving_passes_the_creator_role_to_the_longest_standing_member(team_a, member_a) -> None:
    first, second = make_user("first"), make_user("second")
    team_join(user=first, code=team_a.invite_code)
    team_join(user=second, code=team_a.invite_code)
    team_leave(user=member_a)
    team_a.refresh_from_db()
    assert team_a.created_by == first
    assert user_team(member_a) is None


def test_the_last_member_leaving_deletes_an_empty_team_and_frees_its_name(member_a, team_a) -> None:
    team_leave(user=member_a)
    assert not Team.objects.filter(pk=team_a.pk).exists()
    assert team_create(user=member_a, name="Team A").name == "Team A"


def test_leaving_without_a_team_is_refused(outsider) -> None:
    refused("not_in_team", team_leave, user=outsider)
