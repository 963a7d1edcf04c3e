"""Single-row statements of the grading path, as plain SQL built from the models.

Django's ORM spends 0.5-1 ms of CPU building each query, more than the database spends
running a statement that touches one row, and a grading worker runs a handful of them per
submission (claim it, store its result, update the team's board row). Those few statements
are written with these helpers instead: the SQL of each shape is built once from the
model's own metadata (table and column names), values go in through each field's
`get_db_prep_save` and come out through the backend's and the field's converters, so they
are written and read exactly as the ORM writes and reads them (time zones, JSON, SQLite's
booleans). Everything else uses the ORM.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import cache
from typing import Any

from django.db import connection, transaction
from django.db.models import Field, Model

Converter = Callable[[Any, Any, Any], Any]


@cache
def _field(model: type[Model], name: str) -> Field:
    field = model._meta.get_field(name)
    if not isinstance(field, Field) or not field.concrete:
        raise ValueError(f"{model.__name__}.{name} is not a column")
    return field


def column(model: type[Model], name: str) -> str:
    """The quoted column of field `name` ("team" and "team_id" both name team_id)."""
    return connection.ops.quote_name(str(_field(model, name).column))


def table(model: type[Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _prep(model: type[Model], name: str, value: Any) -> Any:
    return _field(model, name).get_db_prep_save(value, connection)


@cache
def _update_sql(model: type[Model], names: tuple[str, ...], keys: tuple[str, ...]) -> str:
    sets = ", ".join(f"{column(model, n)} = %s" for n in names)
    where = " AND ".join(f"{column(model, k)} = %s" for k in keys)
    return f"UPDATE {table(model)} SET {sets} WHERE {where}"  # noqa: S608 - names from _meta


def update(model: type[Model], *, where: Mapping[str, Any], values: Mapping[str, Any]) -> int:
    """UPDATE the rows equal to `where` on every key with `values`; the number changed."""
    names, keys = tuple(values), tuple(where)
    params = [_prep(model, n, values[n]) for n in names]
    params += [_prep(model, k, where[k]) for k in keys]
    with connection.cursor() as cursor:
        cursor.execute(_update_sql(model, names, keys), params)
        return int(cursor.rowcount)


@cache
def _converters(model: type[Model], names: tuple[str, ...]) -> tuple[tuple[Any, tuple], ...]:
    out = []
    for name in names:
        col = _field(model, name).get_col(model._meta.db_table)
        found = connection.ops.get_db_converters(col) + col.get_db_converters(connection)
        out.append((col, tuple(found)))
    return tuple(out)


def convert(model: type[Model], names: Sequence[str], row: Sequence[Any]) -> dict[str, Any]:
    """A row read with a plain cursor, as the ORM would return its `names` fields."""
    values = {}
    for name, value, (col, converters) in zip(
        names, row, _converters(model, tuple(names)), strict=True
    ):
        for converter in converters:
            value = converter(value, col, connection)
        values[name] = value
    return values


def fetch(
    model: type[Model], names: Sequence[str], sql: str, params: Sequence[Any]
) -> list[dict[str, Any]]:
    """Run `sql`, whose columns are the fields `names` of `model` in that order; its rows
    as dicts of converted values."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return [convert(model, names, row) for row in rows]


@cache
def _get_sql(
    model: type[Model], related: tuple[str, ...], keys: tuple[str, ...]
) -> tuple[str, tuple[tuple[type[Model], tuple[str, ...]], ...]]:
    parts = [(model, "t0")]
    joins = []
    for i, name in enumerate(related, 1):
        fk = _field(model, name)
        target = fk.related_model
        assert isinstance(target, type)  # noqa: S101 - a model class, not "self"
        target_pk = connection.ops.quote_name(str(target._meta.pk.column))
        joins.append(
            f"LEFT JOIN {table(target)} t{i} ON t{i}.{target_pk} = t0.{column(model, name)}"
        )
        parts.append((target, f"t{i}"))
    shapes = []
    columns = []
    for part, alias in parts:
        names = tuple(f.attname for f in part._meta.concrete_fields)
        shapes.append((part, names))
        columns += [f"{alias}.{column(part, n)}" for n in names]
    where = " AND ".join(f"t0.{column(model, k)} = %s" for k in keys)
    sql = (
        f"SELECT {', '.join(columns)} FROM {table(model)} t0 {' '.join(joins)} "  # noqa: S608 - names from _meta
        f"WHERE {where} LIMIT 1"
    )
    return sql, tuple(shapes)


def get(
    model: type[Model], *, where: Mapping[str, Any], related: Sequence[str] = ()
) -> Model | None:
    """The row equal to `where` on every key as a model instance, with the objects of its
    foreign keys `related` loaded alongside (as select_related does), or None."""
    keys = tuple(where)
    sql, shapes = _get_sql(model, tuple(related), keys)
    with connection.cursor() as cursor:
        cursor.execute(sql, [_prep(model, k, where[k]) for k in keys])
        row = cursor.fetchone()
    if row is None:
        return None
    objects = []
    start = 0
    for part, names in shapes:
        values = convert(part, names, row[start : start + len(names)])
        start += len(names)
        objects.append(part.from_db(connection.alias, list(names), list(values.values())))
    instance = objects[0]
    for name, obj in zip(related, objects[1:], strict=True):
        fk = _field(model, name)
        fk.set_cached_value(instance, obj if obj.pk is not None else None)  # type: ignore[attr-defined]
    return instance


@contextmanager
def non_durable() -> Iterator[None]:
    """A transaction whose commit does not wait for the disk: PostgreSQL's synchronous_commit
    off for it alone (SET LOCAL), which spares a flush of the write-ahead log, some ms per
    commit. Only for writes whose loss in a database crash (the last few hundred ms of
    commits, never a torn or inconsistent row) costs nothing or is recovered anyway: a
    worker's heartbeat row, a claim (lost, the submission is queued again and the sweeper
    sends it; the grading attempt's result is then refused by its token). SQLite: a plain
    transaction (its WAL mode already commits without a sync)."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit TO OFF")
        yield
