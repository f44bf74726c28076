"""Deleting keys, customers and products: what goes, what stays, what is refused, all or
nothing (apps/licensing/services/deletion.py)."""

from __future__ import annotations

import datetime as dt
from unittest import mock

import pytest
from django.db import IntegrityError
from django.utils import timezone

from apps.accounts.models import Reseller
from apps.audit.log import Actor
from apps.audit.models import ObjectLogEntry
from apps.core.errors import DomainError
from apps.license_server.models import LicenseServerConfiguration
from apps.licensing import services
from apps.licensing.models import (
    AccessToken,
    Activation,
    ActivationForm,
    Customer,
    CustomerMembership,
    DataObject,
    Issuance,
    IssuanceRight,
    LicenseKey,
    LicenseTemplate,
    PortalLink,
    Product,
)
from apps.licensing.services import deletion
from apps.licensing.services.portal import portal_link_create
from apps.usage.models import Event, WebApiLog
from tests.factories import CustomerFactory, ProductFactory, UserFactory, make_activation, make_key

ACTOR = Actor.for_system("test")


def _log_row(tenant, key: LicenseKey) -> WebApiLog:
    return WebApiLog.objects.create(vendor=tenant.vendor, product_id=key.product_id, key=key.key,
                                    state=1011, method="key.Activate", machine_code="machine-1")


def _issued(tenant, key: LicenseKey) -> Issuance:
    template = LicenseTemplate.objects.create(product=key.product, name="Reseller template")
    reseller = Reseller.objects.create(vendor=tenant.vendor, name="Partner",
                                       email="partner@example.com")
    right = IssuanceRight.objects.create(reseller=reseller, template=template, quota=5,
                                         issued=1)
    return Issuance.objects.create(right=right, reseller=reseller, template=template, key=key)


def _server(tenant, *keys: LicenseKey, customer: Customer | None = None
            ) -> LicenseServerConfiguration:
    server = LicenseServerConfiguration.objects.create(
        vendor=tenant.vendor, name="Plant 1", customer=customer, public_key_pem="-",
        upload_secret_hash="0" * 64, valid_until=timezone.now() + dt.timedelta(days=30))
    server.keys.set(keys)
    return server


def _deleted_entries(obj) -> list[ObjectLogEntry]:
    return list(ObjectLogEntry.objects.for_object(obj).filter(action="deleted"))


# --- Keys ---


def test_deleting_a_key_removes_its_devices_data_objects_and_the_tokens_locked_to_it(tenant):
    key = tenant.key
    make_activation(key, "machine-2")
    locked, _ = services.token_create(vendor=tenant.vendor, actor=ACTOR, name="Locked",
                                      permissions=["key.GetKey"], locked_key=key)
    free, _ = services.token_create(vendor=tenant.vendor, actor=ACTOR, name="Free",
                                    permissions=["key.GetKey"])
    other_key = make_key(tenant.product)
    make_activation(other_key, "machine-9")

    plan = deletion.key_delete(key=key, actor=ACTOR)

    assert plan.removed_count("licensing.activation") == 2
    assert plan.removed_count("licensing.dataobject") == 1
    assert plan.removed_count("licensing.accesstoken") == 1
    assert not LicenseKey.objects.filter(pk=key.pk).exists()
    assert not Activation.objects.filter(key_id=key.pk).exists()
    assert not DataObject.objects.filter(key_id=key.pk).exists()
    assert not AccessToken.objects.filter(pk=locked.pk).exists()
    assert AccessToken.objects.filter(pk=free.pk).exists()
    assert other_key.activations.count() == 1
    assert Customer.objects.filter(pk=tenant.customer.pk).exists()


def test_the_logs_of_a_deleted_key_stay_and_its_last_entry_says_what_it_was(tenant):
    key = tenant.key
    row = _log_row(tenant, key)
    Event.objects.create(vendor=tenant.vendor, product_id=key.product_id, key=key.key,
                         event_name="start")
    before = ObjectLogEntry.objects.for_object(key).count()

    plan = deletion.key_delete(key=key, actor=ACTOR)

    assert plan.kept_count("usage.webapilog") == 1
    assert plan.kept_count("usage.event") == 1
    assert plan.kept_count("audit.objectlogentry") == before
    assert WebApiLog.objects.filter(pk=row.pk).exists()
    assert Event.objects.filter(key=key.key).count() == 1
    [entry] = _deleted_entries(key)
    assert entry.changes["key"] == [key.key, None]
    assert entry.changes["devices"] == [["machine-1"], None]
    assert ObjectLogEntry.objects.for_object(key).count() == before + 1


def test_the_plan_counts_what_the_deletion_removes_without_removing_anything(tenant):
    server = _server(tenant, tenant.key)

    plan = deletion.key_deletion_plan(key=tenant.key)

    assert [str(c) for c in plan.removed] == [
        "1 device (activation)", "1 data object", "1 link from a license server configuration"]
    assert plan.allowed
    assert LicenseKey.objects.filter(pk=tenant.key.pk).exists()
    deletion.key_delete(key=tenant.key, actor=ACTOR)
    assert LicenseServerConfiguration.objects.filter(pk=server.pk).exists()
    assert server.keys.count() == 0


def test_a_key_a_reseller_issued_cannot_be_deleted(tenant):
    _issued(tenant, tenant.key)

    plan = deletion.key_deletion_plan(key=tenant.key)
    assert not plan.allowed
    assert "billing report" in plan.refusals[0]
    with pytest.raises(DomainError, match="Partner"):
        deletion.key_delete(key=tenant.key, actor=ACTOR)
    assert LicenseKey.objects.filter(pk=tenant.key.pk).exists()
    assert not _deleted_entries(tenant.key)


def test_a_key_deletion_that_fails_halfway_changes_nothing(tenant):
    with mock.patch.object(LicenseKey, "delete", side_effect=IntegrityError("boom")), \
            pytest.raises(IntegrityError):
        deletion.key_delete(key=tenant.key, actor=ACTOR)

    assert LicenseKey.objects.filter(pk=tenant.key.pk).exists()
    assert tenant.key.activations.count() == 1
    assert not _deleted_entries(tenant.key)


# --- Customers ---


def test_deleting_a_customer_keeps_its_keys_without_a_customer(tenant):
    key, second = tenant.key, make_key(tenant.product, customer=tenant.customer)
    member = CustomerMembership.objects.create(customer=tenant.customer, user=UserFactory())
    link, _ = portal_link_create(vendor=tenant.vendor, actor=ACTOR, customer=tenant.customer)
    signup_link, _ = portal_link_create(vendor=tenant.vendor, actor=ACTOR)
    server = _server(tenant, key, customer=tenant.customer)

    plan = deletion.customer_delete(customer=tenant.customer, actor=ACTOR)

    assert plan.kept_count("licensing.licensekey.customer") == 2
    assert plan.removed_count("licensing.customermembership") == 1
    assert plan.removed_count("licensing.portallink") == 1
    assert not Customer.objects.filter(pk=tenant.customer.pk).exists()
    for k in (key, second):
        k.refresh_from_db()
        assert k.customer is None
        assert k.activations.exists() or k == second
    assert not CustomerMembership.objects.filter(pk=member.pk).exists()
    assert member.user.__class__.objects.filter(pk=member.user_id).exists()  # the login stays
    assert not PortalLink.objects.filter(pk=link.pk).exists()
    assert PortalLink.objects.filter(pk=signup_link.pk).exists()
    server.refresh_from_db()
    assert server.customer is None


def test_each_detached_key_records_that_it_lost_its_customer(tenant):
    name = str(tenant.customer)
    deletion.customer_delete(customer=tenant.customer, actor=ACTOR)

    entry = ObjectLogEntry.objects.for_object(tenant.key).first()
    assert entry is not None
    assert (entry.action, entry.changes) == ("updated", {"customer": [name, None]})
    assert _deleted_entries(tenant.customer)[0].changes["name"] == [tenant.customer.name, None]


def test_a_customer_deletion_that_fails_halfway_keeps_the_keys_attached(tenant):
    with mock.patch.object(Customer, "delete", side_effect=IntegrityError("boom")), \
            pytest.raises(IntegrityError):
        deletion.customer_delete(customer=tenant.customer, actor=ACTOR)

    tenant.key.refresh_from_db()
    assert tenant.key.customer_id == tenant.customer.pk
    assert not _deleted_entries(tenant.customer)


# --- Products ---


def test_deleting_a_product_deletes_its_keys_templates_forms_and_locked_tokens(tenant):
    product = tenant.product
    second = make_key(product)
    template = LicenseTemplate.objects.create(product=product, name="Standard")
    form = ActivationForm.objects.create(product=product, title="Offline")
    token, _ = services.token_create(vendor=tenant.vendor, actor=ACTOR, name="Product lock",
                                     permissions=["key.GetKey"], product=product)
    other = ProductFactory(vendor=tenant.vendor)
    kept_key = make_key(other)
    row = _log_row(tenant, tenant.key)

    plan = deletion.product_delete(product=product, actor=ACTOR, confirmed_keys=2)

    assert plan.removed_count("licensing.licensekey") == 2
    assert plan.removed_count("licensing.licensetemplate") == 1
    assert plan.removed_count("licensing.activationform") == 1
    assert plan.removed_count("licensing.accesstoken") == 1
    assert not Product.objects.filter(pk=product.pk).exists()
    assert not LicenseKey.objects.filter(pk__in=[tenant.key.pk, second.pk]).exists()
    assert not LicenseTemplate.objects.filter(pk=template.pk).exists()
    assert not ActivationForm.objects.filter(pk=form.pk).exists()
    assert not AccessToken.objects.filter(pk=token.pk).exists()
    assert LicenseKey.objects.filter(pk=kept_key.pk).exists()
    assert Customer.objects.filter(pk=tenant.customer.pk).exists()
    assert WebApiLog.objects.filter(pk=row.pk).exists()
    assert _deleted_entries(product)[0].changes["keys"] == [2, None]
    assert _deleted_entries(second)[0].changes["reason"] == [
        f"product “{product.name}” deleted", None]


def test_a_product_is_not_deleted_when_its_key_count_changed_since_the_confirmation(tenant):
    with pytest.raises(DomainError, match="now has 1 keys, not 0"):
        deletion.product_delete(product=tenant.product, actor=ACTOR, confirmed_keys=0)
    assert Product.objects.filter(pk=tenant.product.pk).exists()
    assert not _deleted_entries(tenant.key)


def test_a_product_with_reseller_issued_keys_cannot_be_deleted(tenant):
    _issued(tenant, tenant.key)

    plan = deletion.product_deletion_plan(product=tenant.product)
    assert not plan.allowed
    assert len(plan.refusals) == 2  # the issued key, and its template granted to a reseller
    with pytest.raises(DomainError, match="billing report"):
        deletion.product_delete(product=tenant.product, actor=ACTOR, confirmed_keys=1)
    assert LicenseKey.objects.filter(pk=tenant.key.pk).exists()


def test_a_product_whose_template_is_granted_to_a_reseller_cannot_be_deleted(tenant):
    template = LicenseTemplate.objects.create(product=tenant.product, name="Resold")
    reseller = Reseller.objects.create(vendor=tenant.vendor, name="Partner",
                                       email="partner@example.com")
    IssuanceRight.objects.create(reseller=reseller, template=template, quota=5)

    plan = deletion.product_deletion_plan(product=tenant.product)
    assert plan.refusals == ["1 of this product's license templates is granted to resellers; "
                             "issuance rights are never removed, so the product cannot be "
                             "deleted."]


def test_a_product_deletion_that_fails_halfway_changes_nothing(tenant):
    with mock.patch.object(Product, "delete", side_effect=IntegrityError("boom")), \
            pytest.raises(IntegrityError):
        deletion.product_delete(product=tenant.product, actor=ACTOR, confirmed_keys=1)

    assert LicenseKey.objects.filter(pk=tenant.key.pk).exists()
    assert not ObjectLogEntry.objects.filter(action="deleted").exists()


def test_an_empty_product_goes_alone(db):
    product = ProductFactory()
    customer = CustomerFactory(vendor=product.vendor)

    plan = deletion.product_delete(product=product, actor=ACTOR, confirmed_keys=0)

    assert plan.removed == []
    assert not Product.objects.filter(pk=product.pk).exists()
    assert Customer.objects.filter(pk=customer.pk).exists()
