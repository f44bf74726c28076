"""Who gets what on every customer-portal URL: a matrix of URL x persona -> status.

Personas: anonymous; a customer admin (may deactivate devices); a user of the same customer
without that permission; a user of another customer of the same vendor (who must get 404 on
this customer's objects and change nothing with its ids); and the vendor's owner, who belongs
to no customer. Each request runs in a rolled-back savepoint, so every persona meets the same
data. A refused request must leave no trace in the object log; a request that the row says
writes must leave one (which also proves the row's POST data is valid).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.test import Client
from django.urls import get_resolver, reverse
from django.utils import timezone

from apps.audit.log import Actor
from apps.licensing.models import Activation, AppAuthorization
from apps.licensing.services import app_user_register, token_create
from apps.licensing.services.portal import portal_link_create
from tests.matrix import (
    LOGIN,
    csrf_problems,
    get_problems,
    mismatch,
    rolled_back,
    url_names_in,
)

from .customer_portal.personas import PortalWorld, client_for, portal  # noqa: F401

PERSONAS = ("anonymous", "admin", "reader", "neighbour", "vendor_owner")
NOT_ALLOWED = (405, 405, 405, 405, 405)  # GET of a POST-only view, whoever asks
NOBODY = (False,) * 5

READ_PAGE = (LOGIN, 200, 200, 200, 403)  # a page of "your customer": no object id in the URL
READ_OBJECT = (LOGIN, 200, 200, 404, 403)


@dataclass
class World:
    portal: PortalWorld
    invitation_token: str
    app_user_id: int = 0  # a user of the vendor's application, of the portal's customer
    app_authorization_id: int = 0  # an application a person of the customer authorized


@dataclass(frozen=True)
class Row:
    kwargs: Callable[[World], dict] = lambda w: {}
    get: tuple = READ_PAGE
    post: tuple | None = None  # None: a read page, POST is not part of its contract
    data: Callable[[World], dict] = lambda w: {}
    writes: tuple = NOBODY  # per persona: an allowed POST leaves an object-log entry


MATRIX: dict[str, Row] = {
    "license_list": Row(),
    "license_detail": Row(kwargs=lambda w: {"key_id": w.portal.key.pk}, get=READ_OBJECT),
    # Any user of the customer: the device holds its seat already, so nothing is spent.
    "device_license_file": Row(kwargs=lambda w: {"key_id": w.portal.key.pk,
                                                 "activation_id": w.portal.activation.pk},
                               get=READ_OBJECT),
    "device_list": Row(),
    # On to Stripe's billing portal for the customer's own subscriptions (none here: back to
    # the licenses with a message); tests/customer_portal/test_billing.py has the rest.
    "billing_portal": Row(get=NOT_ALLOWED, post=(LOGIN, 302, 302, 302, 403)),
    "floating_usage": Row(),
    # Application users (userauth) of the customer: any of its people see them; removing
    # one takes the permission to manage activations; another customer's id is 404.
    "app_user_list": Row(),
    "app_user_remove": Row(kwargs=lambda w: {"app_user_id": w.app_user_id}, get=NOT_ALLOWED,
                           post=(LOGIN, 302, 403, 404, 403),
                           writes=(False, True, False, False, False)),
    # The neighbour may deactivate his own devices; ids of this customer's are ignored.
    "device_deactivate": Row(get=NOT_ALLOWED, post=(LOGIN, 302, 403, 302, 403),
                             data=lambda w: {"activation": [w.portal.activation.pk]},
                             writes=(False, True, False, False, False)),
    # User account authorization (.NET UserAccount.GetLicenseKeys): the approval page needs
    # the application's query (without it: 400, tests/api/test_user_account_auth.py has the
    # rest); any person of the customer may revoke; another customer's id is 404.
    "app_authorize": Row(get=(LOGIN, 400, 400, 400, 403), post=(LOGIN, 400, 400, 400, 403),
                         data=lambda w: {"decision": "approve"}),
    "app_authorization_list": Row(),
    "app_authorization_revoke": Row(kwargs=lambda w: {"authorization_id":
                                                      w.app_authorization_id},
                                    get=NOT_ALLOWED, post=(LOGIN, 302, 302, 404, 403),
                                    writes=(False, True, True, False, False)),
    # Switching only changes the session; someone else's membership is 404.
    "switch_customer": Row(kwargs=lambda w: {"membership_id": w.portal.admin_membership.pk},
                           get=NOT_ALLOWED, post=(LOGIN, 302, 404, 404, 403)),
    # Public: the token is the credential. Anonymous visitors are asked to sign up or log in.
    "join": Row(kwargs=lambda w: {"token": w.invitation_token}, get=(200,) * 5,
                post=(200, 302, 302, 302, 302), writes=(False, True, True, True, True)),
}
PUBLIC = {"join"}


@pytest.fixture
def world(portal) -> World:  # noqa: F811
    _, token = portal_link_create(vendor=portal.tenant.vendor, actor=portal.tenant.owner,
                                  customer=portal.customer)
    app_user = app_user_register(vendor=portal.tenant.vendor, actor=Actor.for_system("test"),
                                 username="matrix-user", password="matrix pw",
                                 customer=portal.customer)
    shipped, _ = token_create(vendor=portal.tenant.vendor, actor=Actor.for_system("test"),
                              name="shipped", permissions=["auth.GetToken"])
    authorization = AppAuthorization.objects.create(
        vendor=portal.tenant.vendor, customer=portal.customer, user=portal.admin,
        access_token=shipped, authorization_digest="0" * 64, public_key_pem="-",
        app_name="Matrix app", expires_days=5, claim_by=timezone.now())
    return World(portal, token, app_user.pk, authorization.pk)


def _client(world: World, persona: str) -> Client:
    users = {"admin": world.portal.admin, "reader": world.portal.reader,
             "neighbour": world.portal.neighbour_admin, "vendor_owner": world.portal.tenant.owner}
    return client_for(users.get(persona))


@pytest.mark.parametrize("persona", PERSONAS)
def test_get_status_of_every_url(persona, world):
    client, column = _client(world, persona), PERSONAS.index(persona)
    assert get_problems(client, MATRIX, column, url_of=lambda name, row: reverse(
        f"customer_portal:{name}", kwargs=row.kwargs(world))) == []


@pytest.mark.parametrize("persona", PERSONAS)
def test_post_status_of_every_write_url(persona, world):
    client, column = _client(world, persona), PERSONAS.index(persona)
    problems = []
    for name, row in MATRIX.items():
        if row.post is None:
            continue
        url = reverse(f"customer_portal:{name}", kwargs=row.kwargs(world))
        response, logged = rolled_back(lambda: client.post(url, row.data(world)))
        problems.append(mismatch(name, "POST", row.post[column], response, url))
        if row.writes[column] and not logged:
            problems.append(f"{name} POST should have changed something but did not")
        if not row.writes[column] and logged:
            problems.append(f"{name} POST should change nothing but wrote {logged} entries")
    assert [p for p in problems if p] == []


@pytest.mark.parametrize("persona", PERSONAS)
def test_only_the_customer_admin_can_free_the_customers_device(persona, world):
    url = reverse("customer_portal:device_deactivate")
    _client(world, persona).post(url, {"activation": [world.portal.activation.pk]})
    still_there = Activation.objects.filter(pk=world.portal.activation.pk).exists()
    assert still_there == (persona != "admin")


def test_posts_without_a_csrf_token_are_refused(world):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.portal.admin)
    assert csrf_problems(
        client, MATRIX,
        url_of=lambda name, row: reverse(f"customer_portal:{name}", kwargs=row.kwargs(world)),
        data_of=lambda row: row.data(world)) == []


def test_every_customer_portal_url_has_a_row_in_the_matrix():
    names = url_names_in("customer_portal")
    assert names, "no customer_portal URLs found: is the URLconf still included?"
    assert names - set(MATRIX) == set(), "add these URLs to MATRIX"
    assert set(MATRIX) - names == set(), "these MATRIX rows name no URL"


def test_every_non_public_view_declares_its_access_level(world):
    """The permission decorator on the def line is what makes a view's rule visible."""
    resolver = get_resolver()
    undeclared = [
        name for name, row in MATRIX.items()
        if name not in PUBLIC and not hasattr(
            resolver.resolve(reverse(f"customer_portal:{name}", kwargs=row.kwargs(world))).func,
            "access_level")
    ]
    assert undeclared == []


def test_deactivating_needs_the_deactivate_level():
    from apps.customer_portal import views

    assert views.device_deactivate.access_level == "deactivate"
