"""The services behind customer/EditCustomer and reseller/*: customer_edit, reseller_add,
reseller_update, reseller_remove, keys_set_reseller (and keys_issue with a reseller)."""

from __future__ import annotations

import hashlib
import threading

import pytest
from django.db import connection, connections

from apps.audit.log import Actor
from apps.audit.models import ObjectLogEntry
from apps.core.errors import DomainError
from apps.licensing import services
from apps.licensing.models import Customer, LicenseKey, PortalLink
from apps.licensing.services.issuing import NewCustomer, customer_add, customer_edit, keys_issue
from apps.licensing.services.resellers import (
    RESELLER_NOT_FOUND,
    keys_set_reseller,
    reseller_add,
    reseller_customer_create,
    reseller_remove,
    reseller_update,
    right_grant,
    template_create,
)
from tests.factories import CustomerFactory, ProductFactory, make_key, make_vendor
from tests.licensing.keypool import pooled_signing_keys  # noqa: F401  (autouse: fast RSA keys)

ACTOR = Actor.for_system("test")


@pytest.fixture
def vendor(db):
    return make_vendor("Services vendor")


# --- customer_edit ------------------------------------------------------------------------


def test_customer_edit_changes_only_the_fields_given(vendor):
    customer = CustomerFactory(vendor=vendor, name="Old", email="a@example.com",
                               company_name="Acme", max_no_of_devices=5)

    customer_edit(customer=customer, actor=ACTOR,
                  changes={"name": "New", "allow_multiple_user_association": True})

    customer.refresh_from_db()
    assert (customer.name, customer.email, customer.company_name, customer.max_no_of_devices,
            customer.allow_multiple_user_association) == ("New", "a@example.com", "Acme", 5,
                                                          True)
    entry = ObjectLogEntry.objects.for_object(customer).filter(action="updated").get()
    assert entry.changes == {"name": ["Old", "New"],
                             "allow_multiple_user_association": [False, True]}


def test_customer_edit_renews_the_secret_and_the_old_one_stops_working(vendor):
    added = customer_add(vendor=vendor, actor=ACTOR, details=NewCustomer(name="C"))

    edited = customer_edit(customer=added.customer, actor=ACTOR, changes={}, new_secret=True)

    assert edited.secret and edited.secret != added.secret
    stored = Customer.objects.get(pk=added.customer.pk).secret_hash
    assert stored == hashlib.sha256(edited.secret.encode()).hexdigest()
    assert edited.portal_token is None


def test_customer_edit_with_an_invitation_makes_a_portal_link(vendor):
    customer = CustomerFactory(vendor=vendor, allow_activation_management=True)
    edited = customer_edit(customer=customer, actor=ACTOR, changes={},
                           portal_invitation=True)
    link = PortalLink.objects.get(customer=customer)
    assert link.token_hash == hashlib.sha256(edited.portal_token.encode()).hexdigest()
    assert edited.secret is None


def test_a_refused_edit_changes_nothing(vendor):
    customer = CustomerFactory(vendor=vendor, name="Kept")
    with pytest.raises(DomainError):
        customer_edit(customer=customer, actor=ACTOR,
                      changes={"name": "Gone", "max_no_of_devices": 10**9}, new_secret=True)
    customer.refresh_from_db()
    assert (customer.name, customer.secret_hash) == ("Kept", "")


def test_customer_add_can_allow_multiple_user_association(vendor):
    added = customer_add(vendor=vendor, actor=ACTOR,
                         details=NewCustomer(name="M", allow_multiple_user_association=True))
    assert added.customer.allow_multiple_user_association


# --- resellers ----------------------------------------------------------------------------


def test_reseller_add_keeps_a_reseller_without_login_or_invitation(vendor, mailoutbox):
    reseller = reseller_add(vendor=vendor, actor=ACTOR, name="Northwind",
                            email="Sales@Northwind.example", url="https://northwind.example",
                            phone="+46 1", description="Nordics")
    assert (reseller.user, reseller.accepted_at, reseller.invite_token_hash,
            reseller.invite_expires_at) == (None, None, "", None)
    assert reseller.email == "sales@northwind.example"
    assert mailoutbox == []
    entry = ObjectLogEntry.objects.for_object(reseller).get()
    assert (entry.action, entry.changes["name"]) == ("created", [None, "Northwind"])


@pytest.mark.parametrize(("fields", "message"), [
    ({"name": "x" * 101}, "The name cannot be longer than 100 characters."),
    ({"name": "N", "description": "d" * 501},
     "The description cannot be longer than 500 characters."),
    ({"name": "N", "url": "javascript:alert(1)"},
     "The url must be a web address (http:// or https://)."),
    ({"name": "N", "email": "not an address"}, "The email is not a valid e-mail address."),
    ({}, "Give the reseller a name."),
])
def test_reseller_add_refuses_bad_values(vendor, fields, message):
    with pytest.raises(DomainError) as refused:
        reseller_add(vendor=vendor, actor=ACTOR, **fields)
    assert refused.value.message == message


def test_reseller_update_changes_only_the_fields_given(vendor):
    reseller = reseller_add(vendor=vendor, actor=ACTOR, name="A", email="a@example.com",
                            phone="1")
    reseller_update(reseller=reseller, actor=ACTOR, phone="2")
    reseller.refresh_from_db()
    assert (reseller.name, reseller.email, reseller.phone) == ("A", "a@example.com", "2")
    entry = ObjectLogEntry.objects.for_object(reseller).get(action="updated")
    assert entry.changes == {"phone": ["1", "2"]}


def test_an_unused_reseller_is_removed_and_logged(vendor):
    reseller = reseller_add(vendor=vendor, actor=ACTOR, name="Gone")
    reseller_remove(reseller=reseller, actor=ACTOR)
    assert not vendor.resellers.exists()
    assert ObjectLogEntry.objects.filter(object_type="accounts.reseller",
                                         object_id=str(reseller.pk), action="deleted").exists()


def test_a_reseller_in_use_is_not_removed(vendor):
    product = ProductFactory(vendor=vendor)
    reseller = reseller_add(vendor=vendor, actor=ACTOR, name="Busy")
    keys_set_reseller(keys=[make_key(product), make_key(product)], reseller=reseller,
                      actor=ACTOR)
    right_grant(reseller=reseller, template=template_create(product=product, actor=ACTOR,
                                                            name="T"),
                quota=5, actor=ACTOR)
    reseller_customer_create(reseller=reseller, actor=ACTOR, name="Theirs")

    with pytest.raises(DomainError) as refused:
        reseller_remove(reseller=reseller, actor=ACTOR)

    assert refused.value.message == (
        "This reseller is in use (2 license keys, 1 issuance right, 1 customer) and cannot be "
        "removed: resellers that issued keys, hold issuance rights or have customers stay on "
        "record.")
    assert vendor.resellers.filter(pk=reseller.pk).exists()


def test_keys_set_reseller_attaches_detaches_and_logs(vendor):
    key = make_key(ProductFactory(vendor=vendor))
    reseller = reseller_add(vendor=vendor, actor=ACTOR, name="R")

    keys_set_reseller(keys=[key], reseller=reseller, actor=ACTOR)
    assert LicenseKey.objects.get(pk=key.pk).reseller == reseller
    keys_set_reseller(keys=[key], reseller=None, actor=ACTOR)
    assert LicenseKey.objects.get(pk=key.pk).reseller is None

    changes = [e.changes for e in ObjectLogEntry.objects.for_object(key)
               .filter(action="updated").order_by("id")]
    assert changes == [{"reseller": [None, "R"]}, {"reseller": ["R", None]}]


def test_another_vendors_reseller_is_not_found(vendor):
    key = make_key(ProductFactory(vendor=vendor))
    stranger = reseller_add(vendor=make_vendor("Other"), actor=ACTOR, name="Stranger")
    with pytest.raises(DomainError) as refused:
        keys_set_reseller(keys=[key], reseller=stranger, actor=ACTOR)
    assert refused.value.message == RESELLER_NOT_FOUND


def test_keys_issue_attaches_every_key_to_the_reseller(vendor):
    product = ProductFactory(vendor=vendor)
    reseller = reseller_add(vendor=vendor, actor=ACTOR, name="R")
    issued = keys_issue(product=product, actor=ACTOR, spec=services.KeySpec(), count=3,
                        reseller=reseller)
    assert set(LicenseKey.objects.filter(pk__in=[k.pk for k in issued.keys])
               .values_list("reseller_id", flat=True)) == {reseller.pk}


def test_keys_issue_with_another_vendors_reseller_leaves_nothing_behind(vendor):
    product = ProductFactory(vendor=vendor)
    stranger = reseller_add(vendor=make_vendor("Other"), actor=ACTOR, name="Stranger")
    with pytest.raises(DomainError):
        keys_issue(product=product, actor=ACTOR, spec=services.KeySpec(),
                   new_customer=NewCustomer(name="New"), reseller=stranger)
    assert not LicenseKey.objects.filter(product=product).exists()
    assert not Customer.objects.filter(vendor=vendor).exists()


@pytest.mark.django_db(transaction=True)
def test_a_reseller_is_never_removed_while_keys_are_being_attached_to_it():
    """Ten attaches race one removal: either the removal wins (every attach then finds no
    reseller) or it is refused because a key already holds the reseller; never an error."""
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL row locks: set DATABASE_URL=postgres://... to run")
    vendor = make_vendor("Race")
    product = ProductFactory(vendor=vendor)
    keys = [make_key(product) for _ in range(10)]
    reseller = reseller_add(vendor=vendor, actor=ACTOR, name="Racing")
    barrier = threading.Barrier(11)
    outcomes: list[str] = []

    def run(action) -> None:
        try:
            barrier.wait()
            action()
            outcomes.append("ok")
        except DomainError as refusal:
            outcomes.append(refusal.message)
        except Exception as error:  # an integrity error would be the bug
            outcomes.append(f"error: {error!r}")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(lambda k=k: keys_set_reseller(
        keys=[LicenseKey.objects.select_related("product__vendor").get(pk=k.pk)],
        reseller=reseller, actor=ACTOR),)) for k in keys]
    threads.append(threading.Thread(target=run, args=(
        lambda: reseller_remove(reseller=reseller, actor=ACTOR),)))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert not [o for o in outcomes if o.startswith("error")], outcomes
    attached = LicenseKey.objects.filter(reseller=reseller).count()
    removed = not vendor.resellers.exists()
    assert removed == (attached == 0)
    assert outcomes.count("ok") == attached + removed
