"""Shared pieces of the property-based tests of every form and Web API method: hostile values
(random, oversized, control characters, non-UTF-8 bytes), a snapshot of every table's row
count, and the rule that an answer saying "no" leaves the database as it was."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import quote_from_bytes

from django.apps import apps
from django.contrib.messages import constants
from django.db import connection, transaction
from django.forms import BaseForm
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

# Few examples per form or method, many forms and methods: the whole set runs in well under a
# minute on a small machine. Each run draws new examples (no database of old ones).
FUZZ = settings(max_examples=6, deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])

# Rows these may write even when they answer "no": the Web API log records refused calls.
LOGS_EVEN_ON_ERROR = {"usage.webapilog"}
COUNTED_APPS = ("accounts", "licensing", "usage", "audit", "account", "mfa", "license_server")

ODD = ["", " ", "0", "-1", "1e400", "NaN", "None", "null", "true", "[]", "{}", "9" * 40,
       "-9223372036854775809", "x" * 100_000, "é" * 20_000, "\x00", "a\x00b", "\r\n\t",
       "' OR 1=1 --", "<script>alert(1)</script>", "../../etc/passwd", "🔑" * 300,
       "\ud7ff\ue000\uffff", "2026-02-30", "1970-01-01T00:00:00Z"]
TEXT = st.one_of(st.sampled_from(ODD), st.text(max_size=60),
                 st.text(st.characters(max_codepoint=0x9F), max_size=30),
                 st.integers(min_value=-(2**70), max_value=2**70).map(str))
VALUES = st.one_of(TEXT, st.lists(TEXT, min_size=1, max_size=3))


def form_data(known: dict) -> st.SearchStrategy[dict]:
    """The form's own fields (sometimes with their valid values) plus a few others, odd."""
    names = sorted(known) or ["name"]
    return st.tuples(
        st.dictionaries(st.sampled_from(names), VALUES, max_size=len(names)),
        st.dictionaries(st.text(max_size=10), VALUES, max_size=2),
        st.booleans(),
    ).map(lambda parts: {**(known if parts[2] else {}), **parts[1], **parts[0]})


def raw_bodies(known: dict) -> st.SearchStrategy[bytes]:
    """A urlencoded body with invalid UTF-8, raw or percent-encoded, in the form's fields."""
    names = sorted(known) or ["name"]
    junk = st.binary(min_size=1, max_size=200).filter(_not_utf8)
    pair = st.tuples(st.sampled_from(names), junk, st.booleans()).map(
        lambda p: p[0].encode() + b"=" + (quote_from_bytes(p[1]).encode() if p[2] else p[1]))
    return st.lists(pair, min_size=1, max_size=3).map(b"&".join)


def _not_utf8(raw: bytes) -> bool:
    try:
        raw.decode()
    except UnicodeDecodeError:
        return True
    return False


def row_counts() -> dict[str, int]:
    """Rows per table of the domain apps, in one statement."""
    models = [model for model in apps.get_models()
              if model._meta.app_label in COUNTED_APPS and not model._meta.proxy]
    quote = connection.ops.quote_name
    sql = "SELECT " + ", ".join(f"(SELECT COUNT(*) FROM {quote(m._meta.db_table)})"
                                for m in models)
    with connection.cursor() as cursor:
        cursor.execute(sql)
        counts = cursor.fetchone()
    return {m._meta.label_lower: n for m, n in zip(models, counts, strict=True)}


def is_refusal(response) -> bool:
    """A "no": an error status, a form shown again with errors, or an error message."""
    if response.status_code >= 400:
        return True
    for context in response.context or []:
        values = context.flatten().values() if hasattr(context, "flatten") else context.values()
        if any(isinstance(v, BaseForm) and v.is_bound and v.errors for v in values):
            return True
    # Only messages added by this request: older ones may wait in the cookie.
    storage = getattr(getattr(response, "wsgi_request", None), "_messages", None)
    return any(m.level >= constants.ERROR for m in getattr(storage, "_queued_messages", []))


def check_request(send: Callable, refused: Callable = is_refusal) -> list[str]:
    """Send inside a rolled-back savepoint; what is wrong with the outcome."""
    with transaction.atomic():
        before = row_counts()
        response = send()
        after = row_counts()
        transaction.set_rollback(True)
    problems = []
    if response.status_code >= 500:
        problems.append(f"HTTP {response.status_code}")
    elif refused(response):
        changed = {name: after[name] - before[name] for name in before
                   if after[name] != before[name] and name not in LOGS_EVEN_ON_ERROR}
        if changed:
            problems.append(f"refused ({response.status_code}) but wrote {changed}")
    return problems


def fuzz_form(url: str, known: dict, client: Callable[[], Client], label: str = "") -> None:
    """POST random, oversized and non-UTF-8 variants of a valid form (`known`) to `url`, from
    the client `client()` returns for each example: never a 500, and a refusal writes
    nothing."""

    @FUZZ
    @given(data=form_data(known), raw=raw_bodies(known), use_raw=st.booleans())
    def fuzz(data: dict, raw: bytes, use_raw: bool) -> None:
        sender = client()
        if use_raw:
            problems = check_request(lambda: sender.post(
                url, raw, content_type="application/x-www-form-urlencoded"))
        else:
            problems = check_request(lambda: sender.post(url, data))
        assert problems == [], (label or url, raw if use_raw else data)

    fuzz()
