"""Which request parameters a view reads: recorded on one request, so that a crawl can leave
out the variants of a parameter that the view never looks at.

The argument for leaving them out: two requests that differ only in parameters the view does
not read run the same code up to the first read of one of them. If the view never reads any of
them on the request without them, it never reaches such a read on the request with them either
(the data, the session and the cache are the same for both: the crawl rolls back and clears
between requests), so the answer is the same answer, already checked.

What counts as reading, so that nothing is missed: any access by name to a parameter
dictionary (request.GET, request.POST, or any MultiValueDict made meanwhile: a form's data, a
copy) records that name; any access that is not by name (iterating, items, copy, urlencode,
len, update, dict(), pickling) records "everything", and so does reading the raw query string
(request.META["QUERY_STRING"], get_full_path, build_absolute_uri) or the raw body outside
Django's own parsing of the form. Recording too much only means sending more variants."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from django.core.handlers.wsgi import WSGIRequest
from django.http.request import HttpRequest, QueryDict
from django.utils.datastructures import MultiValueDict


class Reads:
    def __init__(self) -> None:
        self.names: set[str] = set()
        self.everything = False

    def covers(self, names: Iterable[str]) -> bool:
        """Whether a request that adds these parameters may run differently."""
        return self.everything or any(name in self.names for name in names)


_current: list[Reads] = []  # the recording in progress (at most one)
_paused = [0]  # inside Django's own parsing of the request body


def _record_name(key: Any) -> None:
    if _current and not _paused[0]:
        _current[-1].names.add(str(key))


def _record_everything() -> None:
    if _current and not _paused[0]:
        _current[-1].everything = True


def _by_name(method: Callable) -> Callable:
    @functools.wraps(method)
    def wrapper(self, key, *args, **kwargs):
        _record_name(key)
        return method(self, key, *args, **kwargs)
    return wrapper


def _whole(method: Callable) -> Callable:
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        _record_everything()
        return method(self, *args, **kwargs)
    return wrapper


def _paused_while(method: Callable) -> Callable:
    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        _paused[0] += 1
        try:
            return method(*args, **kwargs)
        finally:
            _paused[0] -= 1
    return wrapper


class _RecordingMeta(dict):
    """request.META that records a read of the raw query string."""

    def __getitem__(self, key):
        if key == "QUERY_STRING":
            _record_everything()
        return super().__getitem__(key)

    def get(self, key, default=None):
        if key == "QUERY_STRING":
            _record_everything()
        return super().get(key, default)


# (class, attribute, wrapper): every access path to a parameter dictionary's contents.
_BY_NAME = ("__getitem__", "get", "getlist", "_getlist", "__contains__", "setlist",
            "setdefault", "setlistdefault", "appendlist", "pop", "__delitem__", "__setitem__")
_WHOLE = ("__iter__", "__len__", "keys", "items", "lists", "values", "copy", "__copy__",
          "__deepcopy__", "__getstate__", "update", "dict", "popitem", "clear", "__repr__",
          "__eq__", "urlencode")


@contextlib.contextmanager
def parameters_read() -> Iterator[Reads]:
    """Record what the requests sent inside read of their parameters."""
    reads = Reads()
    patches: list[tuple[type, str, Any]] = []

    def patch(owner: type, name: str, wrap: Callable) -> None:
        if name in vars(owner) or owner is MultiValueDict:
            original = vars(owner).get(name) or getattr(owner, name)
            patches.append((owner, name, vars(owner).get(name)))
            setattr(owner, name, wrap(original))

    for owner in (MultiValueDict, QueryDict):
        for name in _BY_NAME:
            patch(owner, name, _by_name)
        for name in _WHOLE:
            if hasattr(owner, name):
                patch(owner, name, _whole)
    body = HttpRequest.body
    patches.append((HttpRequest, "body", body))
    HttpRequest.body = property(_whole(body.fget))  # type: ignore[method-assign]
    for name in ("read", "readline", "readlines", "__iter__"):
        patch(HttpRequest, name, _whole)
    # Django filling the dictionaries (parsing the query string or the body) reads nothing
    # for the view.
    patch(HttpRequest, "_load_post_and_files", _paused_while)
    patch(QueryDict, "__init__", _paused_while)
    init = WSGIRequest.__init__

    def recording_init(self, environ):
        init(self, environ)
        self.META = _RecordingMeta(self.META)

    patches.append((WSGIRequest, "__init__", init))
    WSGIRequest.__init__ = recording_init  # type: ignore[method-assign]
    _current.append(reads)
    try:
        yield reads
    finally:
        _current.pop()
        for owner, name, original in reversed(patches):
            if original is None:
                delattr(owner, name)
            else:
                setattr(owner, name, original)
