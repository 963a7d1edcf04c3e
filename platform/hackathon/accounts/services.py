"""Writes for teams and API tokens; every rule is enforced here, under a transaction.

Views, the admin and the API call these functions; they raise
`django.core.exceptions.ValidationError` with a message meant for the person who
asked, and change nothing when they do.
"""

from __future__ import annotations

import hashlib
import secrets
import unicodedata

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from hackathon.accounts.models import ApiToken, Membership, Team
from hackathon.accounts.selectors import is_organizer

TEAM_NAME_MAX_LENGTH = 60
TOKEN_NAME_MAX_LENGTH = 100
TOKEN_PREFIX = "hk_"  # noqa: S105 - a public prefix that marks a token, not a secret
MAX_ACTIVE_TOKENS = 20


# Control, format (zero-width, bidi overrides) and line/paragraph separators: invisible or
# able to disguise a name, reorder the page around it or drive a terminal that prints it.
FORBIDDEN_NAME_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp"})
# Letters and symbols that draw nothing (Hangul fillers, the blank Braille pattern).
BLANK_LOOKING = frozenset("\u115f\u1160\u2800\u3164\uffa0")


def team_name_clean(name: str | None) -> str:
    """The name as it will be stored, or a ValidationError saying what is wrong with it."""
    raw = name or ""
    # Inside the name; surrounding whitespace (a trailing newline) is trimmed below.
    hidden = next(
        (ch for ch in raw.strip() if unicodedata.category(ch) in FORBIDDEN_NAME_CATEGORIES),
        None,
    )
    if hidden is not None:
        raise ValidationError(
            f"A team name cannot contain control or invisible formatting characters "
            f"(found U+{ord(hidden):04X}).",
            code="invisible_characters",
        )
    cleaned = " ".join(raw.split())
    if not cleaned:
        raise ValidationError("Enter a team name.", code="blank")
    if not any(unicodedata.category(ch)[0] in "LNPS" and ch not in BLANK_LOOKING for ch in cleaned):
        raise ValidationError(
            "A team name needs at least one visible character.", code="no_visible_characters"
        )
    if len(cleaned) > TEAM_NAME_MAX_LENGTH:
        raise ValidationError(
            f"A team name has at most {TEAM_NAME_MAX_LENGTH} characters "
            f"(this one has {len(cleaned)}).",
            code="too_long",
        )
    return cleaned


def team_name_key(name: str) -> str:
    """What two names must share to count as the same team: NFKC + casefold (so "ÉQUIPE" is
    "équipe", "STRASSE" is "straße", and full-width letters are plain ones)."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", name).casefold())


def _already_in_team(user: User) -> ValidationError:
    team = Membership.objects.select_related("team").get(user=user).team
    return ValidationError(
        f"You are already in the team “{team.name}”. Leave it first.", code="already_in_team"
    )


def _name_taken(name: str) -> ValidationError:
    return ValidationError(
        f"A team named “{name}” already exists (names are compared ignoring case).",
        code="duplicate_name",
    )


def _new_invite_code() -> str:
    return secrets.token_urlsafe(9)  # 12 URL-safe characters, 72 bits


def team_create(*, user: User, name: str) -> Team:
    """Create a team with `user` as its creator and first member."""
    name = team_name_clean(name)
    try:
        with transaction.atomic():
            if Membership.objects.filter(user=user).exists():
                raise _already_in_team(user)
            key = team_name_key(name)
            if Team.objects.filter(name_key=key).exists():
                raise _name_taken(name)
            team = Team.objects.create(
                name=name, name_key=key, invite_code=_new_invite_code(), created_by=user
            )
            Membership.objects.create(user=user, team=team)
    except IntegrityError:
        # A concurrent request won the race; the constraints said no.
        if Membership.objects.filter(user=user).exists():
            raise _already_in_team(user) from None
        raise _name_taken(name) from None
    return team


def team_join(*, user: User, code: str) -> Team:
    """Join the team whose current invite code is `code`.

    The team row is locked while its members are counted, so two joins at once
    cannot overfill it (on SQLite, IMMEDIATE transactions serialize writers).
    """
    code = (code or "").strip()
    if not code:
        raise ValidationError("Enter an invite code.", code="blank")
    try:
        with transaction.atomic():
            if Membership.objects.filter(user=user).exists():
                raise _already_in_team(user)
            team = Team.objects.select_for_update().filter(invite_code=code).first()
            if team is None:
                raise ValidationError(
                    "This invite code is not valid. It may have been regenerated: "
                    "ask your team for the current one.",
                    code="invalid_code",
                )
            if team.memberships.count() >= settings.TEAM_MAX_SIZE:
                raise ValidationError(
                    f"The team “{team.name}” is full ({settings.TEAM_MAX_SIZE} members).",
                    code="team_full",
                )
            Membership.objects.create(user=user, team=team)
    except IntegrityError:
        raise _already_in_team(user) from None
    return team


def team_leave(*, user: User) -> None:
    """Leave the user's team.

    If the creator leaves, the longest-standing member takes over. A team left empty
    is deleted unless it has submissions (they stay on the leaderboard's history).
    """
    with transaction.atomic():
        membership = Membership.objects.select_related("team").filter(user=user).first()
        if membership is None:
            raise ValidationError("You are not in a team.", code="not_in_team")
        team = Team.objects.select_for_update().get(pk=membership.team_id)
        membership.delete()
        remaining = team.memberships.order_by("joined_at", "id").first()
        if remaining is None:
            if not _team_has_submissions(team):
                team.delete()
            return
        if team.created_by_id == user.pk:
            team.created_by_id = remaining.user_id
            team.save(update_fields=["created_by"])


def _team_has_submissions(team: Team) -> bool:
    related = getattr(team, "submissions", None)
    return bool(related is not None and related.exists())


def _require_team_manager(actor: User, team: Team, action: str) -> None:
    if team.created_by_id == actor.pk or is_organizer(actor):
        return
    raise ValidationError(f"Only the team's creator can {action}.", code="not_team_creator")


def team_remove_member(*, actor: User, team: Team, member: User) -> None:
    """Remove `member` from `team`; only the creator (or an organizer) may."""
    _require_team_manager(actor, team, "remove members")
    if member.pk == actor.pk:
        raise ValidationError(
            "You cannot remove yourself; leave the team instead.", code="remove_self"
        )
    with transaction.atomic():
        Team.objects.select_for_update().get(pk=team.pk)
        deleted, _ = Membership.objects.filter(team=team, user=member).delete()
        if not deleted:
            raise ValidationError(
                f"{member.get_username()} is not a member of this team.", code="not_a_member"
            )
        if team.created_by_id == member.pk:
            # An organizer removed the creator: the longest-standing member takes over.
            remaining = team.memberships.order_by("joined_at", "id").first()
            team.created_by_id = remaining.user_id if remaining else None
            team.save(update_fields=["created_by"])


def team_regenerate_code(*, actor: User, team: Team) -> Team:
    """Give the team a new invite code; the old one stops working at once."""
    _require_team_manager(actor, team, "regenerate the invite code")
    team.invite_code = _new_invite_code()
    team.save(update_fields=["invite_code"])
    return team


# --- API tokens ----------------------------------------------------------------------


def _hash_key(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode()).hexdigest()


def api_token_create(*, user: User, name: str) -> tuple[ApiToken, str]:
    """Create a personal API token; returns it and its raw key, which is never stored."""
    cleaned = " ".join((name or "").split())
    if not cleaned:
        raise ValidationError("Give the token a name, e.g. “laptop”.", code="blank")
    if len(cleaned) > TOKEN_NAME_MAX_LENGTH:
        raise ValidationError(
            f"A token name has at most {TOKEN_NAME_MAX_LENGTH} characters.", code="too_long"
        )
    with transaction.atomic():
        # Lock the user row so two concurrent creations cannot pass the cap together.
        User.objects.select_for_update().filter(pk=user.pk).first()
        active = ApiToken.objects.filter(user=user, revoked_at__isnull=True).count()
        if active >= MAX_ACTIVE_TOKENS:
            raise ValidationError(
                f"You already have {MAX_ACTIVE_TOKENS} active tokens; revoke one first.",
                code="too_many",
            )
        raw_key = TOKEN_PREFIX + secrets.token_urlsafe(32)
        token = ApiToken.objects.create(
            user=user, name=cleaned, prefix=raw_key[:10], key_hash=_hash_key(raw_key)
        )
    return token, raw_key


def api_token_revoke(*, user: User, token_id: int) -> None:
    """Revoke one of the user's own active tokens."""
    updated = ApiToken.objects.filter(pk=token_id, user=user, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    if not updated:
        raise ValidationError("No such active token.", code="no_such_token")


def api_token_authenticate(raw_key: str) -> User | None:
    """The active user owning this active token, or None."""
    if not raw_key or not raw_key.startswith(TOKEN_PREFIX) or len(raw_key) > 200:
        return None
    token = (
        ApiToken.objects.select_related("user")
        .filter(key_hash=_hash_key(raw_key), revoked_at__isnull=True)
        .first()
    )
    if token is None or not token.user.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        # At most one write a minute per token, not one per request.
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user
