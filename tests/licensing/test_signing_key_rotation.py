"""Signing keys are rotatable: a new key signs from the moment it is added, old public keys stay
listed (and keep verifying what they signed) until the owner retires them, and retired keys
are never used."""

from __future__ import annotations

import base64
import datetime as dt

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from django.db import IntegrityError, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from license_server.configuration import ConfigurationError, parse
from licensing.models import LicenseKey as ClientLicenseKey

from apps.accounts.models import Vendor
from apps.audit.log import Actor
from apps.audit.models import ObjectLogEntry
from apps.core.errors import DomainError
from apps.license_server.services import license_server_configuration_create
from apps.licensing.api_methods import API_METHODS
from apps.licensing.license_files import license_file
from apps.licensing.models import SigningKey
from apps.licensing.services import (
    signing_key_create,
    signing_key_retire,
    signing_key_rotate,
    token_create,
)
from apps.licensing.signing import fingerprint, load_public_key, public_key_xml

OWNER = Actor.for_system("test")


def _fresh(vendor: Vendor) -> Vendor:
    return Vendor.objects.select_related("signing_key").get(pk=vendor.pk)


def _signed_by(pem: str, body: dict) -> bool:
    try:
        load_public_key(pem).verify(base64.b64decode(body["signature"]),
                                    base64.b64decode(body["licenseKey"]), padding.PKCS1v15(),
                                    hashes.SHA256())
    except Exception:
        return False
    return True


def test_the_new_key_becomes_the_active_one_and_the_old_one_stays_listed(tenant):
    old = _fresh(tenant.vendor).signing_key

    new = signing_key_rotate(vendor=tenant.vendor, actor=OWNER)

    assert _fresh(tenant.vendor).signing_key == new
    assert tenant.vendor.signing_key == new  # the caller's instance too
    old.refresh_from_db()
    assert (old.is_active, old.retired_at) == (False, None)
    assert set(SigningKey.objects.for_vendor(tenant.vendor).listed()) == {old, new}
    assert new.public_key_pem != old.public_key_pem
    assert signing_key_create(vendor=tenant.vendor) == new  # "the vendor's key" is the new one
    log = {(e.object_id, e.action) for e in ObjectLogEntry.objects.filter(
        vendor=tenant.vendor, object_type="licensing.signingkey")}
    assert {(str(old.pk), "superseded"), (str(new.pk), "created")} <= log


def test_api_answers_are_signed_by_the_new_key_right_after_rotation(
        tenant, django_capture_on_commit_callbacks):
    token = token_create(vendor=tenant.vendor, actor=OWNER, name="t", permissions=API_METHODS)[1]
    old_pem = tenant.vendor.signing_key.public_key_pem

    def get_key() -> dict:
        return Client().post("/api/key/GetKey", {
            "token": token, "ProductId": tenant.product.pk, "Key": tenant.key.key,
            "Sign": "True", "SignMethod": "1"}).json()

    before = get_key()  # also puts the token (and its vendor's key) in the token cache
    with django_capture_on_commit_callbacks(execute=True):
        new_pem = signing_key_rotate(vendor=tenant.vendor, actor=OWNER).public_key_pem
    after = get_key()

    assert _signed_by(old_pem, before) and not _signed_by(new_pem, before)
    assert _signed_by(new_pem, after) and not _signed_by(old_pem, after)


def test_a_license_file_signed_by_the_old_key_still_verifies_with_the_old_public_key(tenant):
    old_xml = public_key_xml(tenant.vendor.signing_key.public_key_pem)
    old_file = license_file(key=tenant.key).content.decode()

    new_xml = public_key_xml(signing_key_rotate(vendor=tenant.vendor,
                                                actor=OWNER).public_key_pem)
    new_file = license_file(key=tenant.key).content.decode()

    # The official Python client's own check of a saved license file.
    assert ClientLicenseKey.load_from_string(old_xml, old_file) is not None
    assert ClientLicenseKey.load_from_string(new_xml, new_file) is not None
    assert ClientLicenseKey.load_from_string(new_xml, old_file) is None
    assert ClientLicenseKey.load_from_string(old_xml, new_file) is None


def test_the_active_key_cannot_be_retired(tenant):
    with pytest.raises(DomainError, match="Add a new key before retiring it"):
        signing_key_retire(key=tenant.vendor.signing_key, actor=OWNER)
    assert _fresh(tenant.vendor).signing_key.retired_at is None


def test_a_retired_key_leaves_the_list_and_is_never_used_again(tenant):
    old = tenant.vendor.signing_key
    new = signing_key_rotate(vendor=tenant.vendor, actor=OWNER)

    signing_key_retire(key=old, actor=OWNER)

    old.refresh_from_db()
    assert old.retired_at is not None
    assert list(SigningKey.objects.for_vendor(tenant.vendor).listed()) == [new]
    assert _fresh(tenant.vendor).signing_key == new
    with pytest.raises(DomainError):
        signing_key_retire(key=old, actor=OWNER)
    assert ObjectLogEntry.objects.filter(object_id=str(old.pk), action="retired").exists()


def test_the_database_refuses_a_retired_active_key_or_two_active_keys(tenant):
    key = tenant.vendor.signing_key
    with pytest.raises(IntegrityError), transaction.atomic():
        SigningKey.objects.filter(pk=key.pk).update(retired_at=key.created)
    with pytest.raises(IntegrityError), transaction.atomic():
        SigningKey.objects.create(vendor=tenant.vendor, active_for=tenant.vendor,
                                  public_key_pem="x", private_key_encrypted="y")


# --- The Security page --------------------------------------------------------------------


def test_the_owner_adds_a_key_and_retires_the_old_one_from_the_security_page(tenant,
                                                                             owner_client):
    old = tenant.vendor.signing_key
    response = owner_client.post(reverse("vendor_portal:signing_key_rotate"))
    assert response.status_code == 302
    new = _fresh(tenant.vendor).signing_key
    assert new != old

    page = owner_client.get(reverse("vendor_portal:security")).content.decode()
    assert fingerprint(new.public_key_pem) in page
    assert fingerprint(old.public_key_pem) in page  # listed under "Previous keys"
    assert new.public_key_pem.strip() in page
    assert "PRIVATE" not in page and old.private_key_encrypted not in page
    assert new.private_key_encrypted not in page

    owner_client.post(reverse("vendor_portal:signing_key_retire", args=[old.pk]))
    page = owner_client.get(reverse("vendor_portal:security")).content.decode()
    assert fingerprint(old.public_key_pem) not in page
    assert owner_client.post(reverse("vendor_portal:signing_key_retire", args=[old.pk])
                             ).status_code == 404


def test_retiring_the_active_key_from_the_page_says_why_not(tenant, owner_client):
    key = tenant.vendor.signing_key
    response = owner_client.post(reverse("vendor_portal:signing_key_retire", args=[key.pk]),
                                 follow=True)
    assert "Add a new key before retiring it" in response.content.decode()
    assert _fresh(tenant.vendor).signing_key == key


def test_members_who_are_not_owners_cannot_rotate_and_see_no_button(tenant, admin_client_,
                                                                    read_only_client):
    key = tenant.vendor.signing_key
    for client in (admin_client_, read_only_client):
        assert client.post(reverse("vendor_portal:signing_key_rotate")).status_code == 403
        assert "rotate-signing-key" not in client.get(
            reverse("vendor_portal:security")).content.decode()
    assert _fresh(tenant.vendor).signing_key == key


def test_private_keys_are_stored_encrypted(tenant):
    signing_key_rotate(vendor=tenant.vendor, actor=OWNER)
    for key in SigningKey.objects.for_vendor(tenant.vendor):
        assert "PRIVATE KEY" not in key.private_key_encrypted
        assert key.private_key_encrypted.startswith("gAAAAA")  # a Fernet token


def test_license_server_configurations_are_signed_by_the_new_key(tenant):
    old_xml = public_key_xml(tenant.vendor.signing_key.public_key_pem)
    new_xml = public_key_xml(signing_key_rotate(vendor=tenant.vendor,
                                                actor=OWNER).public_key_pem)

    _, text = license_server_configuration_create(
        vendor=tenant.vendor, actor=OWNER, name="After rotation",
        valid_until=timezone.now() + dt.timedelta(days=30), portal_url="https://portal.example")

    assert parse(text, vendor_public_key_xml=new_xml).name == "After rotation"
    with pytest.raises(ConfigurationError):
        parse(text, vendor_public_key_xml=old_xml)
