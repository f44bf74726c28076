"""Templates, reseller invitations, issuance rights and the billing report."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.core import mail
from django.db import connection, connections
from django.utils import timezone

from apps.accounts.models import Reseller
from apps.audit.log import Actor
from apps.audit.models import ObjectLogEntry
from apps.core.errors import DomainError
from apps.licensing.models import Issuance, IssuanceRight, LicenseKey
from apps.licensing.services.resellers import (
    QUOTA_USED_UP,
    RIGHT_CLOSED,
    billing_report,
    key_create_from_template,
    reseller_accept,
    reseller_customer_create,
    reseller_for_token,
    reseller_invite,
    reseller_issue_key,
    right_grant,
    right_update,
    template_create,
)
from tests.factories import CustomerFactory, ProductFactory, UserFactory, make_vendor

SYSTEM = Actor.for_system("test")


@pytest.fixture
def world(db, django_capture_on_commit_callbacks):
    vendor = make_vendor("Seller")
    owner = vendor.memberships.get().user
    product = ProductFactory(vendor=vendor)
    template = template_create(product=product, actor=SYSTEM, name="Pro, 1 year", period=365,
                               f1=True, max_no_of_machines=2, notes="via template",
                               data_objects=[{"name": "seats", "int_value": 2}])
    with django_capture_on_commit_callbacks(execute=True):
        reseller = reseller_invite(vendor=vendor, actor=owner, name="Res",
                                   email="res@partner.example",
                                   accept_url_template="http://testserver/r/{token}/")
    return vendor, owner, product, template, reseller


def _accepted(reseller):
    token = mail.outbox[-1].body.split("/r/")[1].split("/")[0]
    found = reseller_for_token(token)
    assert found == reseller
    return reseller_accept(reseller=found, user=UserFactory(email=reseller.email))


def test_a_key_from_a_template_has_its_parameters_and_data_objects(world):
    _, _, product, template, _ = world
    key = key_create_from_template(template=template, actor=SYSTEM)
    assert (key.product, key.period, key.f1, key.f2, key.max_no_of_machines, key.notes) == (
        product, 365, True, False, 2, "via template")
    assert list(key.data_objects.values_list("name", "int_value")) == [("seats", 2)]


def test_only_the_invited_address_can_accept(world):
    token = mail.outbox[-1].body.split("/r/")[1].split("/")[0]
    with pytest.raises(DomainError, match=r"res@partner\.example"):
        reseller_accept(reseller=reseller_for_token(token), user=UserFactory())
    accepted = reseller_accept(reseller=reseller_for_token(token),
                               user=UserFactory(email="RES@partner.example"))
    assert accepted.user is not None
    assert reseller_for_token(token) is None  # used


def test_issuing_counts_against_the_quota_and_refuses_past_it(world):
    _, _, _, template, reseller = world
    reseller = _accepted(reseller)
    right = right_grant(reseller=reseller, template=template, quota=2, actor=SYSTEM)
    actor = Actor.for_user(reseller.user)
    keys = [reseller_issue_key(right=right, actor=actor) for _ in range(2)]
    with pytest.raises(DomainError, match=QUOTA_USED_UP):
        reseller_issue_key(right=right, actor=actor)

    assert {k.reseller for k in keys} == {reseller}
    right.refresh_from_db()
    assert right.issued == 2
    assert ObjectLogEntry.objects.for_object(right).filter(action="issue refused").count() == 1


@pytest.mark.parametrize("change", [
    {"status": IssuanceRight.PAUSED},
    {"status": IssuanceRight.STOPPED},
    {"valid_until": timezone.now() - dt.timedelta(minutes=1)},
])
def test_paused_stopped_or_expired_rights_issue_nothing(world, change):
    _, _, _, template, reseller = world
    right = right_grant(reseller=_accepted(reseller), template=template, quota=5, actor=SYSTEM)
    right_update(right=right, actor=SYSTEM, **change)
    with pytest.raises(DomainError, match=RIGHT_CLOSED):
        reseller_issue_key(right=right, actor=SYSTEM)
    assert not LicenseKey.objects.filter(reseller=reseller).exists()


def test_raising_a_right_lets_more_keys_out_and_history_is_logged(world):
    _, _, _, template, reseller = world
    right = right_grant(reseller=_accepted(reseller), template=template, quota=1, actor=SYSTEM)
    reseller_issue_key(right=right, actor=SYSTEM)
    right_update(right=right, actor=SYSTEM, quota=3)
    reseller_issue_key(right=right, actor=SYSTEM)
    actions = list(ObjectLogEntry.objects.for_object(right).order_by("id")
                   .values_list("action", flat=True))
    assert actions == ["granted", "key issued", "changed", "key issued"]
    with pytest.raises(DomainError):
        right_update(right=right, actor=SYSTEM, quota=1)  # below what was issued


def test_a_reseller_issues_only_for_its_own_or_shared_customers(world):
    vendor, _, _, template, reseller = world
    reseller = _accepted(reseller)
    right = right_grant(reseller=reseller, template=template, quota=5, actor=SYSTEM)
    own = reseller_customer_create(reseller=reseller, actor=SYSTEM, name="Own")
    vendors_own = CustomerFactory(vendor=vendor)
    assert reseller_issue_key(right=right, actor=SYSTEM, customer=own).customer == own
    with pytest.raises(DomainError, match=r"Could not find the customer\."):
        reseller_issue_key(right=right, actor=SYSTEM, customer=vendors_own)


def test_billing_report_counts_issued_keys_per_reseller_month_and_template(world):
    vendor, _, _, template, reseller = world
    right = right_grant(reseller=_accepted(reseller), template=template, quota=5, actor=SYSTEM)
    for _ in range(3):
        reseller_issue_key(right=right, actor=SYSTEM)
    with pytest.raises(DomainError):
        right_update(right=right, actor=SYSTEM, status="bogus")
    rows = billing_report(vendor=vendor)
    assert [(r["reseller__name"], r["template__name"], r["count"]) for r in rows] == [
        ("Res", "Pro, 1 year", 3)]
    issued_in_log = ObjectLogEntry.objects.for_object(right).filter(action="key issued")
    assert rows[0]["count"] == issued_in_log.count() == Issuance.objects.count()


@pytest.mark.django_db(transaction=True)
def test_quota_is_exact_with_twenty_parallel_requests_for_the_last_three():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL row locks: set DATABASE_URL=postgres://... to run")
    vendor = make_vendor("Parallel")
    product = ProductFactory(vendor=vendor)
    template = template_create(product=product, actor=SYSTEM, name="T")
    reseller = Reseller.objects.create(vendor=vendor, name="R", email="r@example.com")
    right = right_grant(reseller=reseller, template=template, quota=10, actor=SYSTEM)
    IssuanceRight.objects.filter(pk=right.pk).update(issued=7)
    barrier = threading.Barrier(20)
    outcomes: list[str] = []

    def issue() -> None:
        try:
            barrier.wait()
            reseller_issue_key(right=IssuanceRight.objects.get(pk=right.pk), actor=SYSTEM)
            outcomes.append("key")
        except DomainError as refusal:
            outcomes.append(refusal.message)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=issue) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert outcomes.count("key") == 3
    assert outcomes.count(QUOTA_USED_UP) == 17
    right.refresh_from_db()
    assert right.issued == 10
    assert LicenseKey.objects.filter(reseller=reseller).count() == 3
