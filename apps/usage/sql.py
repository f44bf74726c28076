"""The few SQL pieces whose spelling differs between PostgreSQL and SQLite."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection, transaction
from django.db.models import QuerySet

# Whole Unix seconds of a timestamp column. Integers keep bucket arithmetic (t - t % 3600)
# exact and portable; the log's sub-second part does not matter to any report.
_EPOCH = {
    "postgresql": "CAST(FLOOR(EXTRACT(EPOCH FROM {})) AS BIGINT)",
    "sqlite": "CAST(strftime('%%s', {}) AS INTEGER)",
}


# One value per (product, key, machine): the partition of the seat windows. On PostgreSQL a
# 64-bit hash, because sorting hundreds of thousands of rows by three text columns is most of
# the report's time; a collision needs billions of distinct seats to become likely.
_SEAT = {
    "postgresql": "hashtextextended({0}::text || ':' || {1} || ':' || {2}, 0)",
    "sqlite": "{0} || ':' || {1} || ':' || {2}",
}


def seat_id(product_id: str, key: str, machine_code: str) -> str:
    return _SEAT[connection.vendor].format(product_id, key, machine_code)


def epoch(column: str) -> str:
    return _EPOCH[connection.vendor].format(column)


def unix(value: dt.datetime) -> int:
    return int(value.timestamp())


def from_unix(value: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(value, tz=dt.UTC)


def as_cte(queryset: QuerySet) -> tuple[str, tuple]:
    """A values_list queryset as SQL for a WITH clause, with its parameters. Filtering
    through the ORM keeps index use and each backend's own datetime parameter handling."""
    sql, params = queryset.query.sql_with_params()
    return sql, tuple(params)


def fetch(sql: str, params: tuple) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


_scratch_names = itertools.count(1)


@contextmanager
def report_session() -> Iterator[None]:
    """A transaction tuned for one report's statements. On PostgreSQL: enough memory for
    window functions, sorts and hashes (the default 4 MB spills them to disk) and no JIT (its
    compile time exceeds what it saves on these one-off statements). LOCAL settings end with
    the transaction."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL work_mem = '128MB'")
                cursor.execute("SET LOCAL jit = off")
        yield


@contextmanager
def scratch_table(sql: str, params: tuple) -> Iterator[str]:
    """A temporary table holding the rows of `sql` for the block (in a report_session),
    then dropped; its name."""
    name = f"report_scratch_{next(_scratch_names)}"
    with report_session(), connection.cursor() as cursor:
        cursor.execute(f"CREATE TEMP TABLE {name} AS {sql}", params)
        try:
            yield name
        finally:
            cursor.execute(f"DROP TABLE {name}")
