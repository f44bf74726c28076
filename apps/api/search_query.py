"""The useful subset of GetKeys' LINQ-like SearchQuery and OrderBy, turned into ORM filters.

Anything outside the subset is refused with "The input parameters were incorrect." rather
than guessed at."""

from __future__ import annotations

import datetime as dt
import re

from django.db.models import Count, Q, QuerySet

from . import errors
from .errors import ApiError

FIELDS = {
    "id": "serial", "key": "key", "notes": "notes", "block": "block", "period": "period",
    "maxnoofmachines": "max_no_of_machines", "trialactivation": "trial_activation",
    "created": "created", "expires": "expires", "globalid": "pk",
    "customerid": "customer_id", "customer.id": "customer_id",
    "customer.email": "customer__email", "customer.name": "customer__name",
    "customer.companyname": "customer__company_name", "allowedmachines": "allowed_machines",
    "automaticactivation": "automatic_activation",
    **{f"f{n}": f"f{n}" for n in range(1, 9)},
}
TEXT_FIELDS = {"key", "notes", "allowedmachines", "customer.email", "customer.name",
               "customer.companyname"}
OPS = {"=": "exact", "==": "exact", "<": "lt", ">": "gt", "<=": "lte", ">=": "gte"}

_COMPARISON = re.compile(r"^\s*([a-z0-9.]+)\s*(==|=|!=|<=|>=|<|>)\s*(.+?)\s*$", re.I)
_CONTAINS = re.compile(r'^\s*([a-z0-9.]+)\.contains\(\s*"(.*)"\s*\)\s*$', re.I)
_COUNT = re.compile(r"^\s*activatedmachines\.count\(\)\s*(==|=|!=|<=|>=|<|>)\s*(\d+)\s*$",
                    re.I)
_DATE = re.compile(r"^datetime\(\s*(\d{4})\s*,\s*(\d{1,2})\s*,\s*(\d{1,2})\s*\)$", re.I)
_SPLIT = re.compile(r"\s+and\s+|\s*&&\s*", re.I)


def _value(raw: str):
    lowered = raw.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if raw.startswith('"') and raw.endswith('"') and len(raw) >= 2:
        return raw[1:-1]
    date = _DATE.match(raw)
    if date:
        try:
            year, month, day = map(int, date.groups())
            return dt.datetime(year, month, day, tzinfo=dt.UTC)
        except ValueError:
            raise ApiError(errors.INCORRECT_INPUT) from None
    if re.fullmatch(r"-?\d{1,18}", raw):
        return int(raw)
    raise ApiError(errors.INCORRECT_INPUT)


def _condition(clause: str, queryset: QuerySet) -> tuple[Q, QuerySet]:
    count = _COUNT.match(clause)
    if count:
        op, number = count.groups()
        queryset = queryset.annotate(_machines=Count("activations", distinct=True))
        return _compare("_machines", op, int(number)), queryset
    contains = _CONTAINS.match(clause)
    if contains:
        name, text = contains.groups()
        if name.lower() not in TEXT_FIELDS:
            raise ApiError(errors.INCORRECT_INPUT)
        return Q(**{f"{FIELDS[name.lower()]}__icontains": text}), queryset
    comparison = _COMPARISON.match(clause)
    if comparison:
        name, op, raw = comparison.groups()
        field = FIELDS.get(name.lower())
        if field is None:
            raise ApiError(errors.INCORRECT_INPUT)
        return _compare(field, op, _value(raw)), queryset
    raise ApiError(errors.INCORRECT_INPUT)


def _compare(field: str, op: str, value) -> Q:
    if op == "!=":
        return ~Q(**{field: value})
    return Q(**{f"{field}__{OPS[op]}": value})


def apply_search(queryset: QuerySet, query: str) -> QuerySet:
    query = query.strip()
    if not query:
        return queryset
    condition = Q()
    for clause in _SPLIT.split(query):
        if not clause.strip():
            raise ApiError(errors.INCORRECT_INPUT)
        q, queryset = _condition(clause, queryset)
        condition &= q
    return queryset.filter(condition)


def apply_order(queryset: QuerySet, order_by: str) -> QuerySet:
    parts = order_by.strip().split()
    if not parts or len(parts) > 2:
        raise ApiError(errors.INCORRECT_INPUT)
    field = FIELDS.get(parts[0].lower())
    direction = parts[1].lower() if len(parts) == 2 else "ascending"
    if field is None or direction not in ("ascending", "descending", "asc", "desc"):
        raise ApiError(errors.INCORRECT_INPUT)
    prefix = "-" if direction.startswith("desc") else ""
    return queryset.order_by(f"{prefix}{field}", f"{prefix}serial")
