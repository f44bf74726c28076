"""Every portal URL (vendor, reseller and customer portal, the public activation form), for
every persona, with dates and ids out of range in the query string (and in the form data of
the URLs that take a POST): never a 500 (nor a 503, which here would mean a failed statement:
the test database is reachable), and an answer saying "no" writes nothing.

The values are the ones that once crashed pages: a day whose next day does not exist
(9999-12-31), one so early that the default 30 days before it start before year 1, and ids
past PostgreSQL's bigint (and SQLite's INTEGER, where Python raises OverflowError). Some fail
on one database only: run these on both.

Each URL is first requested without any of them, recording the parameters its view reads
(tests/fuzz/reads.py); the values of parameters it never reads would take it down the same
path to the same answer, so only the variants naming a parameter it reads are sent. On the
vendor portal that leaves out 41% of the owner's requests and over 75% of other personas'
(refused before the view reads anything), where the crawl took 7 of CI's 19 minutes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from django.core.cache import cache
from django.db import DatabaseError
from django.test import Client
from django.urls import reverse

from apps.accounts.models import User
from apps.core.forms import DayField
from apps.licensing.models import Activation, CustomerMembership
from apps.licensing.services.portal import portal_link_create
from tests.activation_forms.conftest import open_form
from tests.customer_portal.personas import client_for, portal  # noqa: F401  (fixture)
from tests.factories import UserFactory
from tests.matrix import url_names_in
from tests.reseller_portal.personas import ResellerWorld, build_reseller_world
from tests.test_customer_portal_permissions import MATRIX as CUSTOMER_MATRIX
from tests.test_customer_portal_permissions import World as CustomerWorld
from tests.test_reseller_portal_permissions import MATRIX as RESELLER_MATRIX
from tests.test_url_permissions import MATRIX as VENDOR_MATRIX
from tests.vendor_matrix import World as VendorWorld

from .common import check_request
from .reads import parameters_read

HUGE = "9" * 23  # past 2**63 and 2**64
DATE_NAMES = ("since", "until", "valid_until", "date")
# The id-like parameters the portals' forms read (ids, cursors, page numbers, Unix instants).
ID_NAMES = ("activation", "before", "customer", "end", "id", "key", "object_id", "page",
            "product", "product_id", "start", "template")
VARIANTS: list[dict[str, str]] = [
    # Past the last day a form takes: the day after "To" does not exist.
    {"until": "9999-12-31"},
    {"since": "9999-01-01", "until": "9999-12-31"},
    {"valid_until": "9999-12-31"},
    # Before the first: the default range before "To" would start before year 1.
    {"until": "0001-01-01"},
    {"since": "0001-01-01", "until": "0001-01-02"},
    {"valid_until": "0001-01-01"},
    # The first and the last day taken: the pages compute with them.
    {"since": "9998-01-01", "until": "9998-12-31"},
    {"since": "1970-01-01", "until": "1970-01-01"},
    {"valid_until": "9998-12-31"},
    {name: "not-a-date" for name in DATE_NAMES},
    # One id at a time: an invalid neighbour would hide a crash behind a form error.
    *({name: HUGE} for name in ID_NAMES),
    *({name: value for name in ID_NAMES} for value in ("-1", "x", str(2**63), str(2**31))),
]
PERSONAS = ("anonymous", "vendor_owner", "other_vendor", "reseller", "customer_admin")


@dataclass
class Everyone:
    vendor: VendorWorld
    reseller: ResellerWorld
    customer: CustomerWorld
    activation_form_slug: str

    def user(self, persona: str) -> User | None:
        return {"vendor_owner": self.vendor.tenant.owner, "other_vendor": self.vendor.other.owner,
                "reseller": self.reseller.me.user,
                "customer_admin": self.customer.portal.admin}.get(persona)


@pytest.fixture
def everyone(tenant, other_tenant, tenant_token, tenant_invitation, portal) -> Everyone:  # noqa: F811
    portal_user = CustomerMembership.objects.create(customer=tenant.customer, user=UserFactory())
    link, _ = portal_link_create(vendor=tenant.vendor, actor=tenant.owner,
                                 customer=tenant.customer)
    _, join_token = portal_link_create(vendor=tenant.vendor, actor=tenant.owner,
                                       customer=portal.customer)
    return Everyone(
        vendor=VendorWorld(tenant, other_tenant, tenant_token.token.pk,
                           tenant_invitation.invitation.pk, portal_user.pk, link.pk),
        reseller=build_reseller_world(tenant, other_tenant),
        customer=CustomerWorld(portal, join_token),
        activation_form_slug=open_form(tenant.product).slug,
    )


@dataclass(frozen=True)
class Target:
    url: str
    get: bool  # False: a POST-only view
    data: dict | None  # the row's valid POST data; None: the URL takes no POST


def _matrix_targets(namespace: str, matrix: dict, world: object) -> dict[str, Target]:
    return {name: Target(reverse(f"{namespace}:{name}", kwargs=row.kwargs(world)),
                         get=row.get[0] != 405,
                         data=None if row.post is None else row.data(world))
            for name, row in matrix.items()}


def _targets(portal_name: str, w: Everyone) -> dict[str, Target]:
    """Every URL of one portal, by name; the test below checks none is missing."""
    if portal_name == "vendor_portal":
        targets = _matrix_targets(portal_name, VENDOR_MATRIX, w.vendor)
        targets["invitation_accept"] = Target(
            reverse("vendor_portal:invitation_accept", args=["not-a-real-token"]), True, {})
        targets["organisation_create"] = Target(
            reverse("vendor_portal:organisation_create"), True, {"organisation": "Range Ltd"})
        # The development mailbox (DEBUG with the development mail backend only).
        targets["devmail_list"] = Target(reverse("vendor_portal:devmail_list"), True, None)
        targets["devmail_detail"] = Target(
            reverse("vendor_portal:devmail_detail", args=[1]), True, None)
        return targets
    if portal_name == "reseller_portal":
        targets = _matrix_targets(portal_name, RESELLER_MATRIX, w.reseller)
        targets["accept"] = Target(reverse("reseller_portal:accept", args=["not-a-token"]),
                                   True, {})
        return targets
    if portal_name == "customer_portal":
        return _matrix_targets(portal_name, CUSTOMER_MATRIX, w.customer)
    return {"activation_form": Target(
        reverse("activation_forms:activation_form", args=[w.activation_form_slug]), True,
        {"key": w.vendor.tenant.key.key, "machine_code": "range-pc"})}


PORTALS = ("vendor_portal", "reseller_portal", "customer_portal", "activation_forms")


def _senders(target: Target) -> Iterator[tuple[str, Callable[[Client, dict], object]]]:
    if target.get:
        yield "GET", lambda c, v: c.get(target.url, v)
    if target.data is not None:
        yield "POST", lambda c, v: c.post(target.url, {**target.data, **v})


def _checked(client: Client, send: Callable[[Client, dict], object], variant: dict
             ) -> list[str]:
    cache.clear()  # the activation form's rate limit is not under test
    # In a rolled-back savepoint: every request meets the same data.
    try:
        return check_request(lambda: send(client, variant))
    except DatabaseError as error:  # PostgreSQL: the request's statement failed
        return [f"{type(error).__name__} after the request"]




def test_every_portal_url_is_crawled(everyone):
    for portal_name in PORTALS:
        assert set(_targets(portal_name, everyone)) == url_names_in(portal_name), portal_name


@pytest.mark.parametrize("portal_name", PORTALS)
@pytest.mark.parametrize("persona", PERSONAS)
def test_out_of_range_dates_and_ids_never_fail(portal_name, persona, everyone):
    client = Client(raise_request_exception=False)
    if (user := everyone.user(persona)) is not None:
        client.force_login(user)
    problems = []
    sent = skipped = 0
    for name, target in _targets(portal_name, everyone).items():
        for method, send in _senders(target):
            # The request without any variant, recording which parameters the view reads: a
            # variant of parameters it never reads runs the same code to the same answer
            # (tests/fuzz/reads.py), so only the others are sent.
            with parameters_read() as reads:
                found = _checked(client, send, {})
            problems += [f"{name} {method} (no parameters): {p}" for p in found]
            for variant in VARIANTS:
                if not reads.covers(variant):
                    skipped += 1
                    continue
                sent += 1
                found = _checked(client, send, variant)
                problems += [f"{name} {method} {variant}: {p}" for p in found]
    print(f"{portal_name}/{persona}: {sent} variants sent, {skipped} left out")
    assert not problems, "\n".join(problems)


# --- What the person sees instead. ---

RANGE_PAGES = ("vendor_portal:billing_report", "vendor_portal:webapi_log",
               "vendor_portal:object_log", "vendor_portal:usage_report",
               "vendor_portal:floating_report", "customer_portal:floating_usage")


@pytest.mark.parametrize("query", [{"until": "9999-12-31"},
                                   {"since": "9999-01-01", "until": "9999-12-31"},
                                   {"until": "0001-01-01"}])
@pytest.mark.parametrize("name", RANGE_PAGES)
def test_a_day_out_of_range_is_shown_as_a_form_error(name, query, portal):  # noqa: F811
    user = portal.admin if name.startswith("customer_portal") else portal.tenant.owner
    response = client_for(user).get(reverse(name), query)
    assert response.status_code == 200
    assert DayField.default_error_messages["out_of_range"] in response.content.decode()


def test_a_device_id_past_a_bigint_is_refused_and_frees_nothing(portal):  # noqa: F811
    response = client_for(portal.admin).post(reverse("customer_portal:device_deactivate"), {
        "activation": [HUGE, portal.activation.pk]}, follow=True)
    assert response.status_code == 200
    assert "The selection is not valid." in response.content.decode()
    assert Activation.objects.filter(pk=portal.activation.pk).exists()
