"""The API reads a URL-encoded form itself (apps.api.params.form_fields), as request.POST
would have read it."""

from __future__ import annotations

import pytest
from django.core.exceptions import BadRequest, RequestDataTooBig, TooManyFieldsSent
from django.test import RequestFactory, override_settings

from apps.api.params import Params, form_fields

BODIES = [
    b"token=abc&ProductId=3&Key=AAAAA-BBBBB&MachineCode=m%C3%A9&FriendlyName=My+PC",
    b"Key=first&key=second&Key=third",  # names in any case: the last value of each name
    b"Sign=&Metadata&=nameless&Notes=a%26b%3Dc",  # blank values, a missing '=', escapes
    b"FriendlyName=caf\xe9",  # not UTF-8: read as Latin-1, as QueryDict does
    b"MachineCode=%ZZ%2&x=%E2%82%AC",  # broken escapes stay as they are
    b"",
]


@pytest.mark.parametrize("body", BODIES)
def test_a_form_is_read_as_request_post_reads_it(body):
    ours = RequestFactory().generic("POST", "/api/key/Activate", body,
                                    content_type="application/x-www-form-urlencoded")
    django = RequestFactory().generic("POST", "/api/key/Activate", body,
                                      content_type="application/x-www-form-urlencoded")
    assert list(form_fields(ours)) == list(django.POST.items())
    if body:  # (an empty body is sent with no content type: request.POST reads it)
        assert not hasattr(ours, "_post")  # request.POST was not needed


def test_query_string_and_form_merge_and_the_form_wins():
    request = RequestFactory().post("/api/key/Activate?Key=from-query&Sign=true",
                                    "Key=from-form",
                                    content_type="application/x-www-form-urlencoded")
    params = Params(request)
    assert (params.str("key"), params.bool("Sign")) == ("from-form", True)


@override_settings(DATA_UPLOAD_MAX_NUMBER_FIELDS=3)
def test_too_many_fields_are_refused_as_django_refuses_them():
    request = RequestFactory().generic("POST", "/api/key/Activate", b"a=1&b=2&c=3&d=4",
                                       content_type="application/x-www-form-urlencoded")
    with pytest.raises(TooManyFieldsSent):
        Params(request)


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=10)
def test_a_body_over_the_size_limit_is_refused():
    request = RequestFactory().generic("POST", "/api/key/Activate", b"token=" + b"x" * 20,
                                       content_type="application/x-www-form-urlencoded")
    with pytest.raises(RequestDataTooBig):
        Params(request)


def test_other_forms_go_through_django():
    multipart = RequestFactory().post("/api/key/Activate", {"Key": "k", "Sign": "1"})
    assert Params(multipart).str("Key") == "k"
    latin1 = RequestFactory().generic(
        "POST", "/api/key/Activate", b"Key=k",
        content_type="application/x-www-form-urlencoded; charset=iso-8859-1")
    with pytest.raises(BadRequest):  # as request.POST refuses it
        Params(latin1)
