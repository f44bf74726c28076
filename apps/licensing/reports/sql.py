"""The few SQL pieces whose spelling differs between PostgreSQL and SQLite."""

from __future__ import annotations

import datetime as dt

from django.db import connection
from django.db.models import QuerySet

# Whole Unix seconds of a timestamp column. Integers keep bucket arithmetic (t - t % 3600)
# exact and portable; the log's sub-second part does not matter to any report.
_EPOCH = {
    "postgresql": "CAST(FLOOR(EXTRACT(EPOCH FROM {})) AS BIGINT)",
    "sqlite": "CAST(strftime('%%s', {}) AS INTEGER)",
}


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
