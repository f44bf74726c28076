"""The recorder the out-of-range crawl relies on to leave variants out (reads.py): a view's
every way of reading a parameter is recorded, and Django's own parsing is not."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django import forms
from django.test import RequestFactory
from django.utils.datastructures import MultiValueDict

from .reads import parameters_read


class Range(forms.Form):
    since = forms.DateField(required=False)
    until = forms.DateField(required=False)


def _recorded(view: Callable, *, post: bool = False) -> tuple[set[str], bool]:
    factory = RequestFactory()
    with parameters_read() as reads:
        request = (factory.post("/x/?q=1", {"a": "1", "b": "2"}) if post
                   else factory.get("/x/", {"since": "2026-01-01", "other": "1"}))
        view(request)
    return reads.names, reads.everything


@pytest.mark.parametrize(("view", "names"), [
    (lambda r: r.GET.get("since"), {"since"}),
    (lambda r: r.GET["other"], {"other"}),
    (lambda r: "since" in r.GET, {"since"}),
    (lambda r: r.GET.getlist("until"), {"until"}),
    (lambda r: Range(r.GET).is_valid(), {"since", "until"}),
    (lambda r: r.GET, set()),  # the dictionary made, nothing read from it
])
def test_a_read_by_name_records_that_name(view, names):
    assert _recorded(view) == (names, False)


@pytest.mark.parametrize("view", [
    lambda r: Range(r.GET or None),
    lambda r: dict(r.GET),
    lambda r: list(r.GET.items()),
    lambda r: r.GET.copy(),
    lambda r: r.GET.urlencode(),
    lambda r: list(r.GET),
    lambda r: r.get_full_path(),
    lambda r: r.build_absolute_uri(),
    lambda r: r.META["QUERY_STRING"],
    lambda r: r.META.get("QUERY_STRING"),
])
def test_any_other_read_records_everything(view):
    assert _recorded(view)[1] is True


def test_parsing_a_posted_form_reads_nothing_and_reading_its_fields_does():
    assert _recorded(lambda r: r.POST, post=True) == (set(), False)
    assert _recorded(lambda r: r.POST.get("a"), post=True) == ({"a"}, False)
    assert _recorded(lambda r: r.body, post=True)[1] is True


def test_nothing_stays_patched_after_recording():
    assert _recorded(lambda r: r.GET.get("since"))[0] == {"since"}
    assert "__contains__" not in vars(MultiValueDict)
    request = RequestFactory().get("/x/", {"since": "1"})
    assert type(request.META) is dict and request.GET.get("since") == "1"


def test_covers_means_the_request_may_run_differently():
    with parameters_read() as reads:
        pass
    reads.names = {"since"}
    assert reads.covers({"since": "x"}) and not reads.covers({"until": "x"})
    reads.everything = True
    assert reads.covers({"until": "x"})
