"""The training rows `hackathon evaluate` grades on (both tracks), read by the platform's own
parsers from train.npz, train.csv or train.csv.gz."""

from __future__ import annotations

import gzip
from typing import Any

from hackathon.cli.remote import CliError


def csv_text(data: bytes, name: str) -> bytes:
    """The CSV bytes of a training file, ungzipped when its name ends in .gz."""
    if not name.endswith(".gz"):
        return data
    try:
        return gzip.decompress(data)
    except (OSError, EOFError) as exc:
        raise CliError(f"{name} is not a gzip file: {exc}") from None


def load_dataset(setup: Any) -> Any:
    """The training rows, read by the platform's own parsers (npz, csv or csv.gz)."""
    # Lazy: the platform's data module (numpy, scipy) loads only when data is read.
    from hackathon.challenges.data import parse_csv, parse_npz
    from hackathon.challenges.errors import ChallengeDataError

    try:
        if setup.data_name.endswith(".npz"):
            return parse_npz(setup.data_bytes, task=setup.task, file=setup.data_name)
        return parse_csv(
            csv_text(setup.data_bytes, setup.data_name),
            target=setup.target,
            task=setup.task,
            file=setup.data_name,
        )
    except ChallengeDataError as exc:
        raise CliError(str(exc)) from None
