"""The installation's challenge-data secret.

Generated challenge data without a pinned seed (the generated and semi-synthetic built-ins)
is drawn from a seed only this installation knows: `data.challenge_data_key` derives one key
per challenge from it (HMAC of the slug), so two installations get different data and the
repository reveals none of it. It is kept with the other secrets: `CHALLENGE_DATA_SECRET` (or
`CHALLENGE_DATA_SECRET_FILE`) in production, `var/challenge_data_secret` (made once, mode
0600) for the embedded start and a development checkout. Only the processes that build
challenge data need it (load_challenges, the authoring pages); grading workers read the
stored blobs.
"""

from __future__ import annotations

from django.conf import settings

from hackathon.challenges.errors import ChallengeDataError
from hackathon.envconf import ensure_secret_file, env_bool, env_str


def _is_production() -> bool:
    """The rule the settings apply to SECRET_KEY: a server database, not the embedded start."""
    return bool(env_str("DATABASE_URL")) and not (
        settings.DEBUG or settings.TESTING or env_bool("HACKATHON_EMBEDDED", False)
    )


def challenge_data_secret() -> bytes:
    """The secret, made once under var/ when not configured (never in production)."""
    if settings.CHALLENGE_DATA_SECRET:
        return settings.CHALLENGE_DATA_SECRET.encode()
    if _is_production():
        raise ChallengeDataError(
            "CHALLENGE_DATA_SECRET",
            "not set: generated challenge data is drawn from this installation's secret seed. "
            "Set CHALLENGE_DATA_SECRET (or CHALLENGE_DATA_SECRET_FILE) to a long random "
            "string, once, and keep it: changing it changes the data of every such challenge",
        )
    path = settings.CHALLENGE_DATA_SECRET_PATH
    path.parent.mkdir(parents=True, exist_ok=True)
    return ensure_secret_file(path).encode()
