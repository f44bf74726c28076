"""Request parameters as Cryptolens clients send them: GET or form POST, names in any case,
booleans as True/true/1, and the Python client's literal "None" for a missing value."""

from __future__ import annotations

import builtins
import json
from collections.abc import Iterable
from urllib.parse import parse_qsl

from django.conf import settings
from django.core.exceptions import TooManyFieldsSent
from django.http import HttpRequest

from .errors import INCORRECT_INPUT, ApiError

MISSING = {"", "none", "null"}
TRUE = {"true", "1"}
FALSE = {"false", "0"}
INT64 = 2**63
MAX_VALUE_LENGTH = 100_000
# List parameters are JSON arrays. Python's parser recurses once per level of nesting, so a
# deeply nested value is refused before it is parsed; one call filters by at most so many values.
MAX_JSON_DEPTH = 8
MAX_LIST_ITEMS = 1000


def too_deep(text: str, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether arrays and objects nest more than `limit` levels deep in a JSON text (brackets
    inside strings do not count). One pass, stopping at the first level too deep."""
    if text.count("[") + text.count("{") <= limit:
        return False
    depth = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > limit:
                return True
        elif char in "]}":
            depth -= 1
    return False


def form_fields(request: HttpRequest) -> Iterable[tuple[str, object]]:
    """A POST's form fields as request.POST.items() gives them (each name once, in the order
    names first appear, with its last value). A URL-encoded UTF-8 body, what every client
    sends, is parsed here as Django parses it (QueryDict: the same limits and decoding), since
    request.POST costs the start-up calls more than the rest of this module; anything else
    goes through request.POST (multipart forms; another charset, which it refuses)."""
    if request.method != "POST":
        return ()
    if (request.content_type != "application/x-www-form-urlencoded"
            or (request.encoding or "utf-8").lower() != "utf-8"):
        return request.POST.items()
    body = request.body  # refuses a body over DATA_UPLOAD_MAX_MEMORY_SIZE
    try:
        text = body.decode()
    except UnicodeDecodeError:
        text = body.decode("iso-8859-1")
    fields: dict[str, str] = {}
    try:
        for name, value in parse_qsl(text, keep_blank_values=True, encoding="utf-8",
                                     max_num_fields=settings.DATA_UPLOAD_MAX_NUMBER_FIELDS):
            fields[name] = value
    except ValueError as exc:
        raise TooManyFieldsSent("The number of GET/POST parameters exceeded "
                                "settings.DATA_UPLOAD_MAX_NUMBER_FIELDS.") from exc
    return fields.items()


class Params:
    def __init__(self, request: HttpRequest) -> None:
        values: dict[str, str] = {}
        for source in (request.GET.items(), form_fields(request)):
            for name, value in source:
                if isinstance(value, str):  # a parsed query holds no empty value list
                    values[name.lower()] = value
        self._values = values

    def raw(self, name: str) -> str | None:
        value = self._values.get(name.lower())
        if value is None or value.strip().lower() in MISSING:
            return None
        if len(value) > MAX_VALUE_LENGTH or "\x00" in value:
            # PostgreSQL text cannot hold NUL; no real parameter contains one.
            raise ApiError(INCORRECT_INPUT)
        return value

    def has(self, name: str) -> bool:
        return self.raw(name) is not None

    def str(self, name: str, default: str = "", *, max_length: int | None = None,
            message: str = INCORRECT_INPUT) -> str:
        value = self.raw(name)
        if value is None:
            return default
        if max_length is not None and len(value) > max_length:
            raise ApiError(message)
        return value

    def int(self, name: builtins.str, default: builtins.int = 0, *, minimum: builtins.int = -INT64,
            maximum: builtins.int = INT64 - 1) -> builtins.int:
        value = self.raw(name)
        if value is None:
            return default
        try:
            number = int(value.strip())
        except ValueError:
            raise ApiError(INCORRECT_INPUT) from None
        if not minimum <= number <= maximum:
            raise ApiError(INCORRECT_INPUT)
        return number

    def bool(self, name: builtins.str, default: builtins.bool = False) -> builtins.bool:
        value = self.raw(name)
        if value is None:
            return default
        lowered = value.strip().lower()
        if lowered in TRUE:
            return True
        if lowered in FALSE:
            return False
        raise ApiError(INCORRECT_INPUT)

    def int_list(self, name: builtins.str) -> list[builtins.int] | None:
        """A JSON array of at most MAX_LIST_ITEMS 64-bit integers, e.g. States=[2010,2011]."""
        value = self.raw(name)
        if value is None:
            return None
        if too_deep(value):
            raise ApiError(INCORRECT_INPUT)
        try:
            items = json.loads(value)
        except ValueError:
            raise ApiError(INCORRECT_INPUT) from None
        if not isinstance(items, list) or len(items) > MAX_LIST_ITEMS or not all(
            isinstance(i, int) and not isinstance(i, bool) and -INT64 <= i < INT64
            for i in items
        ):
            raise ApiError(INCORRECT_INPUT)
        return items

    def sign_method(self) -> builtins.int:
        """SignMethod arrives as 0/1 or, from .NET, by enum name."""
        value = (self.raw("SignMethod") or "0").strip().lower()
        if value in {"1", "stringsign"}:
            return 1
        if value in {"0", "linqsign"}:
            return 0
        raise ApiError(INCORRECT_INPUT)
