"""Who gets what on every reseller-portal URL: a matrix of URL x persona -> status.

Personas: anonymous, the reseller, another reseller of the same vendor (404 on the reseller's
objects, never 403), and the vendor's owner, who is no reseller (403 everywhere: the vendor
portal is theirs, this one is not). Every request runs in a savepoint that is rolled back, so
each persona meets the same data. A denied request must leave no trace in the object log; an
allowed write must leave one, which also proves the POST data of the row is valid.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.test import Client
from django.urls import get_resolver, reverse

from tests.matrix import (
    LOGIN,
    csrf_problems,
    get_problems,
    mismatch,
    rolled_back,
    url_names_in,
)

from .reseller_portal.personas import ResellerWorld, build_reseller_world

PERSONAS = ("anonymous", "reseller", "other_reseller", "vendor_owner")
NOT_ALLOWED = (405, 405, 405, 405)  # GET of a POST-only view, whoever asks

READ_PAGE = (LOGIN, 200, 200, 403)  # a page of "your reseller", no object id in the URL
READ_OBJECT = (LOGIN, 200, 404, 403)
WRITE_PAGE_POST = (LOGIN, 302, 302, 403)
WRITE_OBJECT_POST = (LOGIN, 302, 404, 403)


@pytest.fixture
def world(tenant, other_tenant) -> ResellerWorld:
    return build_reseller_world(tenant, other_tenant)


@dataclass(frozen=True)
class Row:
    kwargs: Callable[[ResellerWorld], dict] = lambda w: {}
    get: tuple = READ_PAGE
    post: tuple | None = None  # None: a read page, POST is not part of its contract
    data: Callable[[ResellerWorld], dict] = lambda w: {}
    writes: bool = True  # an allowed POST leaves an object-log entry


def _right(w: ResellerWorld) -> dict:
    return {"right_id": w.me.right.pk}


def _key(w: ResellerWorld) -> dict:
    return {"key_id": w.me.key.pk}


MATRIX: dict[str, Row] = {
    "dashboard": Row(),
    # Switching only changes the session; a reseller one is not is 404.
    "switch_reseller": Row(kwargs=lambda w: {"reseller_id": w.me.reseller.pk}, get=NOT_ALLOWED,
                           post=(LOGIN, 302, 404, 403), writes=False),
    "key_issue": Row(kwargs=_right, get=READ_OBJECT, post=WRITE_OBJECT_POST,
                     data=lambda w: {"customer": w.me.customer.pk}),
    "key_list": Row(),
    "key_detail": Row(kwargs=_key, get=READ_OBJECT),
    # The file is the response itself; making it changes nothing.
    "license_file": Row(kwargs=_key, get=NOT_ALLOWED, post=(LOGIN, 200, 404, 403),
                        writes=False),
    "customer_list": Row(),
    "customer_create": Row(post=WRITE_PAGE_POST, data=lambda w: {"name": "Matrix customer"}),
}
# Public: the token in the path is the credential. Tested in tests/reseller_portal/test_accept.py.
PUBLIC = {"accept"}


def _client(world: ResellerWorld, persona: str) -> Client:
    client = Client()
    user = {"reseller": world.me.user, "other_reseller": world.rival.user,
            "vendor_owner": world.tenant.owner}.get(persona)
    if user is not None:
        client.force_login(user)
    return client


def _url(name: str, row: Row, world: ResellerWorld) -> str:
    return reverse(f"reseller_portal:{name}", kwargs=row.kwargs(world))


@pytest.mark.parametrize("persona", PERSONAS)
def test_get_status_of_every_url(persona, world):
    client, column = _client(world, persona), PERSONAS.index(persona)
    assert get_problems(client, MATRIX, column,
                        url_of=lambda name, row: _url(name, row, world)) == []


@pytest.mark.parametrize("persona", PERSONAS)
def test_post_status_of_every_write_url(persona, world):
    client, column = _client(world, persona), PERSONAS.index(persona)
    problems = []
    for name, row in MATRIX.items():
        if row.post is None:
            continue
        url, expected = _url(name, row, world), row.post[column]
        response, logged = rolled_back(lambda: client.post(url, row.data(world)))
        problems.append(mismatch(name, "POST", expected, response, url))
        allowed = expected in (200, 302)
        if allowed and row.writes and not logged:
            problems.append(f"{name} POST was allowed but changed nothing")
        if not allowed and logged:
            problems.append(f"{name} POST was refused but wrote {logged} object-log entries")
    assert [p for p in problems if p] == []


def test_posts_without_a_csrf_token_are_refused(world):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.me.user)
    assert csrf_problems(client, MATRIX, url_of=lambda name, row: _url(name, row, world),
                         data_of=lambda row: row.data(world)) == []


def test_every_reseller_portal_url_has_a_row_in_the_matrix():
    names = url_names_in("reseller_portal")
    assert names, "no reseller_portal URLs found: is the URLconf still included?"
    assert names - set(MATRIX) - PUBLIC == set(), "add these URLs to MATRIX"
    assert (set(MATRIX) | PUBLIC) - names == set(), "these MATRIX rows name no URL"


def test_every_non_public_view_declares_its_access_level(world):
    """The permission decorator on the def line is what makes a view's rule visible."""
    resolver = get_resolver()
    undeclared = [name for name, row in MATRIX.items()
                  if not hasattr(resolver.resolve(_url(name, row, world)).func,
                                 "access_level")]
    assert undeclared == []


@pytest.mark.parametrize("persona", PERSONAS)
def test_an_unknown_invitation_token_is_404_for_every_persona(persona, world):
    url = reverse("reseller_portal:accept", args=["not-a-real-token"])
    client = _client(world, persona)
    assert (client.get(url).status_code, client.post(url).status_code) == (404, 404)
