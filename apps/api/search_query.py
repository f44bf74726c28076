"""GetKeys' SearchQuery and OrderBy: the LINQ-like language of Cryptolens' product page, turned
into ORM filters.

The language, from Cryptolens' help page "Searching for Licenses using Linq Queries"
(github.com/Cryptolens/docs, web-interface/linq-search-product.md; every example there is a
test in tests/api/test_search_query.py):

- comparisons `id=2`, `id < 10`, `period = 30`, `F1 = true`, `notes="Bob"`, with
  `= == != <> < <= > >=`, joined by `and`/`&&`, `or`/`||`, negated by `not`/`!`, grouped
  by parentheses; a boolean field alone (`block`) means `block = true`;
- string methods `key.contains("ITVBC")`, `notes.startswith(...)`, `.endswith(...)`;
- dates: `created >= DateTime(2015,01,01)`, `created = today`, the variables `today`,
  `yesterday`, `tomorrow`, `monthback`, `monthforward`. A date without a time of day compares
  the calendar day (Cryptolens keeps key dates at midnight, so `created = today` means "made
  today"); `DateTime(y,m,d,h,mi[,s])` compares the instant;
- the customer: `customer.name="Bob"`, `customer.id=3`, `customer.created = today`, and
  `resellerid=1234` / `resellerid=-1` (keys no reseller issued);
- the devices and data objects: `ActivatedMachines.Count() > 0`,
  `ActivatedMachines.Count(it.Mid="machine code") > 0`,
  `ActivatedMachines.Count(it.Time >= DateTime(2015,01,01)) > 0`, `dataobjects.count() > 0`,
  `dataobjects.count(it.name="usagecount") > 0` (also `.Any(...)`);
- a key string alone (`ITVBC-GXXNU-GSMTK-NIJBT`) finds that key, as the page's update says.

Variable names are case-insensitive (the page's note). String comparisons are too: Cryptolens
runs these queries on SQL Server, whose default collation ignores case (inferred).

The query is parsed here, never passed on: every field is looked up in the tables below and
every value becomes a query parameter of a Q object. Anything else (an unknown field, a value
of the wrong type, a dangling operator) is refused with "The input parameters were
incorrect." rather than guessed at, and never reaches the database as text."""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, F, IntegerField, Model, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from apps.licensing.models import Activation, DataObject

from . import errors
from .errors import ApiError

# Guards against queries built to be expensive: nesting and the number of conditions.
MAX_DEPTH = 20
MAX_CONDITIONS = 40
MAX_COUNTS = 8  # each count is a subquery run for every key
MAX_DIGITS = 18

INT, STR, BOOL, DATE, NULL = "int", "str", "bool", "date", "null"


@dataclass(frozen=True)
class Field:
    path: str  # ORM lookup path
    kind: str
    nullable: bool = False
    none_value: int | None = None  # an int that means "no such object" (resellerid=-1)


KEY_FIELDS: dict[str, Field] = {
    "id": Field("serial", INT), "key": Field("key", STR), "notes": Field("notes", STR),
    "block": Field("block", BOOL), "period": Field("period", INT),
    "maxnoofmachines": Field("max_no_of_machines", INT),
    "trialactivation": Field("trial_activation", BOOL),
    "automaticactivation": Field("automatic_activation", BOOL),
    "allowedmachines": Field("allowed_machines", STR),
    "created": Field("created", DATE), "expires": Field("expires", DATE),
    "globalid": Field("pk", INT),
    "customerid": Field("customer_id", INT, nullable=True),
    "resellerid": Field("reseller_id", INT, nullable=True, none_value=-1),
    **{f"f{n}": Field(f"f{n}", BOOL) for n in range(1, 9)},
    # The customer object's fields, as the help page lists them (those this portal keeps).
    "customer.id": Field("customer_id", INT, nullable=True),
    "customer.name": Field("customer__name", STR),
    "customer.email": Field("customer__email", STR),
    "customer.companyname": Field("customer__company_name", STR),
    "customer.created": Field("customer__created", DATE),
    "customer.ispublic": Field("customer__shared_with_resellers", BOOL),
    "customer.resellerid": Field("customer__reseller_id", INT, nullable=True, none_value=-1),
    "customer.maxnoofdevices": Field("customer__max_no_of_devices", INT),
}

# The key's lists a query may count: the model, its link to the key, and its fields.
COLLECTIONS: dict[str, tuple[type[Model], str, dict[str, Field]]] = {
    "activatedmachines": (Activation, "key", {
        "mid": Field("machine_code", STR), "ip": Field("ip", STR),
        "time": Field("time", DATE), "friendlyname": Field("friendly_name", STR),
    }),
    "dataobjects": (DataObject, "key", {
        "id": Field("pk", INT), "name": Field("name", STR),
        "stringvalue": Field("string_value", STR), "intvalue": Field("int_value", INT),
    }),
}

DATE_VARIABLES = ("today", "yesterday", "tomorrow", "monthback", "monthforward")
STRING_METHODS = {"contains": "icontains", "startswith": "istartswith",
                  "endswith": "iendswith"}
COMPARISONS = {"=": "exact", "==": "exact", "!=": "ne", "<>": "ne", "<": "lt", "<=": "lte",
               ">": "gt", ">=": "gte"}
MIRRORED = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "=": "=", "==": "==", "!=": "!=",
            "<>": "<>"}

_TOKEN = re.compile(r"""\s*(?:
    (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
  | (?P<number>\d+)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>==|!=|<>|<=|>=|&&|\|\||[=<>!().,-])
)""", re.X)
_KEY_ALONE = re.compile(r"\s*[A-Za-z]{5}(?:-[A-Za-z]{5}){3}\s*")


class _Invalid(Exception):
    pass


@dataclass
class _Token:
    kind: str  # string, number, name, op, end
    text: str


@dataclass
class _Value:
    kind: str
    value: Any
    day: bool = False  # a date without a time of day


@dataclass
class _Operand:
    """A field (or a count of a list) on one side of a comparison."""

    field: Field


def _tokens(query: str) -> list[_Token]:
    """The query's tokens (the query has no trailing blanks), ending with an "end" token."""
    found, position = [], 0
    while position < len(query):
        match = _TOKEN.match(query, position)
        if match is None:
            raise _Invalid
        kind = match.lastgroup or ""
        found.append(_Token(kind, match.group(kind)))
        position = match.end()
    found.append(_Token("end", ""))
    return found


class _Parser:
    """Recursive descent over the tokens, building the Q object as it goes. Counts of a
    key's lists become correlated subqueries, named in `aliases` for the queryset."""

    def __init__(self, query: str) -> None:
        self.tokens = _tokens(query)
        self.position = 0
        self.fields = KEY_FIELDS  # inside Count(...): the counted list's fields
        self.in_collection = False
        self.aliases: dict[str, Any] = {}
        self.depth = 0
        self.conditions = 0

    # --- tokens ---
    def peek(self) -> _Token:
        return self.tokens[self.position]

    def take(self) -> _Token:
        token = self.tokens[self.position]
        if token.kind != "end":
            self.position += 1
        return token

    def word(self, *words: str) -> bool:
        token = self.peek()
        if (token.kind in ("name", "op")) and token.text.lower() in words:
            self.position += 1
            return True
        return False

    def expect(self, text: str) -> None:
        if self.take().text != text:
            raise _Invalid

    # --- grammar: or > and > not > condition ---
    def parse(self) -> Q:
        q = self.disjunction()
        if self.peek().kind != "end":
            raise _Invalid
        return q

    def disjunction(self) -> Q:
        q = self.conjunction()
        while self.word("or", "||"):
            q = q | self.conjunction()
        return q

    def conjunction(self) -> Q:
        q = self.negation()
        while self.word("and", "&&"):
            q = q & self.negation()
        return q

    def negation(self) -> Q:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise _Invalid
        try:
            if self.word("not", "!"):
                return ~self.negation()
            if self.peek().text == "(":
                self.take()
                q = self.disjunction()
                self.expect(")")
                return q
            return self.condition()
        finally:
            self.depth -= 1

    def condition(self) -> Q:
        self.conditions += 1
        if self.conditions > MAX_CONDITIONS:
            raise _Invalid
        left = self.operand()
        if isinstance(left, Q):  # key.contains("x"), dataobjects.any(...)
            if self.peek().text in COMPARISONS:
                return self.compare_predicate(left)
            return left
        op = self.peek().text
        if op not in COMPARISONS:
            if isinstance(left, _Operand) and left.field.kind == BOOL:
                return self.build(left, "=", _Value(BOOL, True))
            raise _Invalid
        self.take()
        right = self.operand()
        if isinstance(left, _Operand) and isinstance(right, _Value):
            return self.build(left, op, right)
        if isinstance(left, _Value) and isinstance(right, _Operand):
            return self.build(right, MIRRORED[op], left)
        raise _Invalid

    def compare_predicate(self, predicate: Q) -> Q:
        op = self.take().text
        value = self.operand()
        if not isinstance(value, _Value) or value.kind != BOOL or op not in (
                "=", "==", "!=", "<>"):
            raise _Invalid
        return predicate if (value.value == (op in ("=", "=="))) else ~predicate

    # --- operands ---
    def operand(self) -> _Operand | _Value | Q:
        token = self.peek()
        if token.kind == "string":
            self.take()
            return _Value(STR, _unquote(token.text))
        if token.kind == "number" or token.text == "-":
            return self.number()
        if token.kind != "name":
            raise _Invalid
        lowered = token.text.lower()
        if lowered in ("true", "false", "yes", "no"):
            self.take()
            return _Value(BOOL, lowered in ("true", "yes"))
        if lowered == "null":
            self.take()
            return _Value(NULL, None)
        if lowered in DATE_VARIABLES:
            self.take()
            return _Value(DATE, _date_variable(lowered), day=True)
        if lowered == "datetime" and self.tokens[self.position + 1].text == "(":
            return self.date_literal()
        return self.member()

    def number(self) -> _Value:
        negative = self.word("-")
        token = self.take()
        if token.kind != "number" or len(token.text) > MAX_DIGITS:
            raise _Invalid
        return _Value(INT, -int(token.text) if negative else int(token.text))

    def date_literal(self) -> _Value:
        self.take()
        self.expect("(")
        parts = [self.number().value]
        while self.word(","):
            parts.append(self.number().value)
        self.expect(")")
        if len(parts) not in (3, 5, 6):
            raise _Invalid
        try:
            year, month, day, hour, minute, second = [*parts, 0, 0, 0][:6]
            moment = dt.datetime(year, month, day, hour, minute, second, tzinfo=dt.UTC)
        except (ValueError, OverflowError):
            raise _Invalid from None
        if len(parts) == 3:
            return _Value(DATE, moment.date(), day=True)
        return _Value(DATE, moment)

    def member(self) -> _Operand | Q:
        names = [self.take().text.lower()]
        if names[0] == "it" and self.peek().text == ".":
            names = []
        while self.peek().text == ".":
            self.take()
            token = self.take()
            if token.kind != "name":
                raise _Invalid
            names.append(token.text.lower())
        if not names:
            raise _Invalid
        calling = self.peek().text == "("
        if not self.in_collection and names[0] in COLLECTIONS and len(names) == 2:
            return self.collection(names[0], names[1])
        if calling and len(names) >= 2 and names[-1] in STRING_METHODS:
            field = self.fields.get(".".join(names[:-1]))
            return self.string_method(field, names[-1])
        field = self.fields.get(".".join(names))
        if field is None or calling:
            raise _Invalid
        return _Operand(field)

    def string_method(self, field: Field | None, method: str) -> Q:
        self.expect("(")
        token = self.take()
        self.expect(")")
        if field is None or field.kind != STR or token.kind != "string":
            raise _Invalid
        return Q(**{f"{field.path}__{STRING_METHODS[method]}": _unquote(token.text)})

    def collection(self, name: str, method: str) -> _Operand | Q:
        if method not in ("count", "any"):
            raise _Invalid
        model, link, fields = COLLECTIONS[name]
        predicate = Q()
        if self.peek().text == "(":
            self.take()
            if self.peek().text != ")":
                self.fields, self.in_collection = fields, True
                try:
                    predicate = self.disjunction()
                finally:
                    self.fields, self.in_collection = KEY_FIELDS, False
            self.expect(")")
        elif method == "any":
            raise _Invalid
        rows = (model._default_manager.filter(**{link: OuterRef("pk")}).filter(predicate)
                .order_by().values(link).annotate(n=Count("pk")).values("n"))
        if len(self.aliases) >= MAX_COUNTS:
            raise _Invalid
        alias = f"_search_count_{len(self.aliases)}"
        self.aliases[alias] = Coalesce(Subquery(rows, output_field=IntegerField()), 0)
        if method == "any":
            return Q(**{f"{alias}__gt": 0})
        return _Operand(Field(alias, INT))

    # --- building ---
    def build(self, operand: _Operand, op: str, value: _Value) -> Q:
        field, lookup = operand.field, COMPARISONS[op]
        if value.kind == NULL or (field.none_value is not None and value.kind == INT
                                  and value.value == field.none_value):
            if not field.nullable or lookup not in ("exact", "ne"):
                raise _Invalid
            return Q(**{f"{field.path}__isnull": lookup == "exact"})
        if value.kind != field.kind:
            raise _Invalid
        path = field.path
        if field.kind == STR:
            if lookup not in ("exact", "ne"):
                raise _Invalid
            q = Q(**{f"{path}__iexact": value.value})
            # A text field is "" rather than NULL here, except through a missing customer.
            return ~q if lookup == "ne" else q
        if field.kind == BOOL and lookup not in ("exact", "ne"):
            raise _Invalid
        if field.kind == DATE and value.day:
            path = f"{path}__date"
        if lookup == "ne":
            return ~Q(**{path: value.value})
        return Q(**{f"{path}__{lookup}": value.value})


def _unquote(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text[1:-1])


def _date_variable(name: str) -> dt.date:
    today = timezone.now().date()
    return {
        "today": today, "yesterday": today - dt.timedelta(days=1),
        "tomorrow": today + dt.timedelta(days=1),
        "monthback": _add_months(today, -1), "monthforward": _add_months(today, 1),
    }[name]


def _add_months(day: dt.date, months: int) -> dt.date:
    """The same day `months` later, or the month's last day (March 31 - 1 = February 28)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return dt.date(year, month + 1, min(day.day, last))


def search_filter(query: str) -> tuple[Q, dict[str, Any]]:
    """The Q object and the annotations (counts of devices or data objects) a SearchQuery
    stands for. Raises ApiError (incorrect input) for anything outside the language."""
    query = query.strip()
    if _KEY_ALONE.fullmatch(query):
        return Q(key__iexact=query), {}
    try:
        parser = _Parser(query)
        q = parser.parse()
    except _Invalid:
        raise ApiError(errors.INCORRECT_INPUT) from None
    return q, parser.aliases


def apply_search(queryset: QuerySet, query: str) -> QuerySet:
    if not query.strip():
        return queryset
    q, aliases = search_filter(query)
    if aliases:
        queryset = queryset.alias(**aliases)
    return queryset.filter(q)


# OrderBy: "fieldName [ascending|descending]" (GetKeys page); the product page's names
# (web-interface/order-by-product.md: ID, Created, Expires, Customer, F1..F8, Block).
ORDER_FIELDS = {
    "id": "serial", "key": "key", "created": "created", "expires": "expires",
    "period": "period", "block": "block", "notes": "notes", "globalid": "pk",
    "customer": "customer_id", "customerid": "customer_id",
    "maxnoofmachines": "max_no_of_machines", "trialactivation": "trial_activation",
    "automaticactivation": "automatic_activation",
    **{f"f{n}": f"f{n}" for n in range(1, 9)},
}


def apply_order(queryset: QuerySet, order_by: str) -> QuerySet:
    parts = order_by.replace("(", " ").replace(")", " ").split()
    if not parts or len(parts) > 2:
        raise ApiError(errors.INCORRECT_INPUT)
    field = ORDER_FIELDS.get(parts[0].lower())
    direction = parts[1].lower() if len(parts) == 2 else "ascending"
    if field is None or direction not in ("ascending", "descending", "asc", "desc"):
        raise ApiError(errors.INCORRECT_INPUT)
    descending = direction.startswith("desc")
    # Keys without a customer come last either way, on every database.
    first = F(field).desc(nulls_last=True) if descending else F(field).asc(nulls_last=True)
    return queryset.order_by(first, "-serial" if descending else "serial")
