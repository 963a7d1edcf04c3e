"""How the values of challenge.toml are read: the kinds of the schema's fields (schema.py).

A kind's `parse` returns the value normalised (a tuple for a list, a float for a number, an
aware date-time) or raises `Wrong` with what was expected; the schema turns that into an
error naming the file and the key. A kind also tells the authoring form what input to show
(a select of `Choice.options()`, a number input between `low` and `high`).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

from grader import workloads as wl
from hackathon.challenges.spec import ALL_METRICS, INSTALLATION_SEED

SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,58}[a-z0-9])?$")
MODULE_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*$")
# Slugs that would collide with the organizer pages under /challenges/.
RESERVED_SLUGS = frozenset({"manage", "new", "upload"})

NOTHING: Any = object()  # no value (None is one)


class Wrong(Exception):
    """A value that does not fit: what was expected, the value (when worth showing), and
    where inside the field (`[1]` of a list)."""

    def __init__(self, expected: str, got: Any = NOTHING, *, at: str = "") -> None:
        super().__init__(expected)
        self.expected = expected
        self.got = got
        self.at = at


class Kind:
    """How a field's value is read: `parse` returns it normalised or raises `Wrong`."""

    expected = "a value"

    def parse(self, value: Any) -> Any:
        raise NotImplementedError


def _is_number(value: Any) -> bool:
    # bool is an int in Python; a TOML `true` is never a number here.
    return isinstance(value, int | float) and not isinstance(value, bool)


class Text(Kind):
    """A string of at most `max_length` characters; `what` it is, for the messages."""

    def __init__(
        self, max_length: int = 300, *, what: str = "a string", strip: bool = False,
        blank_ok: bool = True,
    ) -> None:  # fmt: skip
        self.max_length = max_length
        self.expected = what
        self.strip = strip
        self.blank_ok = blank_ok

    def parse(self, value: Any) -> str:
        if not isinstance(value, str):
            raise Wrong(self.expected, value)
        if len(value) > self.max_length:
            raise Wrong(f"a string of at most {self.max_length} characters")
        if not self.blank_ok and not value.strip():
            raise Wrong(f"a non-empty {self.expected.removeprefix('a ').removeprefix('the ')}")
        return value.strip() if self.strip else value


class Slug(Kind):
    expected = "lowercase letters, digits and dashes (at most 60)"

    def parse(self, value: Any) -> str:
        if not isinstance(value, str) or not SLUG_RE.match(value):
            raise Wrong(self.expected, value)
        if value in RESERVED_SLUGS:
            raise Wrong(f"a slug other than {', '.join(sorted(RESERVED_SLUGS))}", value)
        return value


class Number(Kind):
    """A finite number, within [low, high] when they are given."""

    def __init__(self, low: float | None = None, high: float | None = None) -> None:
        self.low, self.high = low, high
        self.expected = "a finite number" if low is None else f"a number between {low} and {high}"

    def parse(self, value: Any) -> float:
        if not _is_number(value) or not math.isfinite(value):
            raise Wrong(self.expected, value)
        if self.low is not None and self.high is not None and not self.low <= value <= self.high:
            raise Wrong(self.expected, value)
        return float(value)


class Whole(Kind):
    def __init__(self, low: int, high: int) -> None:
        self.low, self.high = low, high
        self.expected = f"a whole number between {low} and {high}"

    def parse(self, value: Any) -> int:
        if (
            not isinstance(value, int)
            or isinstance(value, bool)
            or not self.low <= value <= self.high
        ):
            raise Wrong(self.expected, value)
        return value


class Flag(Kind):
    expected = "true or false"

    def parse(self, value: Any) -> bool:
        if not isinstance(value, bool):
            raise Wrong(self.expected, value)
        return value


class Choice(Kind):
    """One of `choices`; `labels` names them for the form's options."""

    def __init__(self, choices: Iterable[str], labels: Mapping[str, str] | None = None) -> None:
        self.choices = tuple(choices)
        self.labels = dict(labels or {})
        self.expected = f"one of {', '.join(self.choices)}"

    def parse(self, value: Any) -> str:
        if value not in self.choices:
            raise Wrong(self.expected, value)
        return value

    def options(self) -> list[tuple[str, str]]:
        return [(c, self.labels.get(c, c)) for c in self.choices]


class Metric(Choice):
    """A model-track metric, or the optimizer track's ranking (its workload's scoring, which
    the rules compare); whether it fits the task is a rule too."""

    def __init__(self) -> None:
        super().__init__(ALL_METRICS)

    def parse(self, value: Any) -> str:
        return value if value in wl.SCORINGS else super().parse(value)


class Module(Kind):
    expected = "a module name such as numpy"

    def parse(self, value: Any) -> str:
        if not isinstance(value, str) or not MODULE_RE.match(value):
            raise Wrong(self.expected, value)
        return value


class Names(Kind):
    """A list of names, each read by `item`; duplicates dropped, order kept."""

    def __init__(self, item: Kind, what: str) -> None:
        self.item = item
        self.expected = f"a list of {what}"

    def parse(self, value: Any) -> tuple[str, ...]:
        if not isinstance(value, list | tuple):
            raise Wrong(self.expected, value)
        for i, name in enumerate(value):
            try:
                self.item.parse(name)
            except Wrong as wrong:
                raise Wrong(wrong.expected, name, at=f"[{i}]") from None
        return tuple(dict.fromkeys(value))


class When(Kind):
    expected = "a date-time such as 2026-03-01T09:00:00Z"

    def parse(self, value: Any) -> dt.datetime:
        if not isinstance(value, dt.datetime):
            raise Wrong(self.expected, value)
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


class Widths(Kind):
    """The hidden layer widths of an MLP."""

    expected = "a list of layer widths such as [32, 16]"

    def parse(self, value: Any) -> tuple[int, ...]:
        if not isinstance(value, list | tuple):
            raise Wrong(self.expected, value)
        if len(value) > 4 or not all(
            isinstance(h, int) and not isinstance(h, bool) and 1 <= h <= 1024 for h in value
        ):
            raise Wrong("at most 4 whole numbers between 1 and 1024", list(value))
        return tuple(value)


class Params(Kind):
    expected = "a table of parameters"

    def parse(self, value: Any) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise Wrong(self.expected, value)
        return dict(value)


class Exponents(Kind):
    expected = "[low, high] exponents of ten"

    def parse(self, value: Any) -> tuple[float, float]:
        if (
            not isinstance(value, list | tuple)
            or len(value) != 2
            or not all(map(_is_number, value))
        ):
            raise Wrong(self.expected, value)
        if not -8 <= value[0] <= value[1] <= 8:
            raise Wrong("-8 <= low <= high <= 8", list(value))
        return (float(value[0]), float(value[1]))


class Seed(Kind):
    """`"installation"` (the installation's secret: None) or a pinned whole number."""

    expected = f'"{INSTALLATION_SEED}" or a whole number'

    def parse(self, value: Any) -> int | None:
        if value == INSTALLATION_SEED:
            return None
        if not isinstance(value, int) or isinstance(value, bool):
            raise Wrong(self.expected, value)
        if not 0 <= value <= 2**32 - 1:
            raise Wrong(f"a whole number between 0 and {2**32 - 1}", value)
        return value
