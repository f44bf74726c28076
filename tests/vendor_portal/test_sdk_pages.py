"""The vendor's SDK pages of a product: developer machines (search, revoke, allow again) and
the signatures each made (filter, search, CSV)."""

from __future__ import annotations

import csv
import io
import re

import pytest
from django.urls import reverse

from apps.audit.log import Actor
from apps.audit.models import ObjectLogEntry
from apps.core.errors import DomainError
from apps.licensing.models import Activation, LicenseKey
from apps.licensing.services.seats import Device
from apps.sdk_licensing.certificates import Application
from apps.sdk_licensing.models import DeveloperMachine, SdkCertificate
from apps.sdk_licensing.services import REVOKED, sdk_application_sign

from ..factories import ProductFactory, make_key

pytestmark = pytest.mark.django_db

FINGERPRINT = "ab" * 32
OTHER_FINGERPRINT = "c0ffee" * 10 + "beef"
STAYS_VALID = "Certificates it already issued stay valid until their license expires"


def _sign(key, code: str = "dev-laptop-1", name: str = "Alice laptop", *,
          app: str = "app.py", fingerprint: str = FINGERPRINT) -> DeveloperMachine:
    sdk_application_sign(key=key, device=Device(code, name, "127.0.0.1"),
                         application=Application(app, fingerprint),
                         actor=Actor.for_system("test"))
    return DeveloperMachine.objects.get(product=key.product, machine_code=code)


def _machines_url(product) -> str:
    return reverse("vendor_portal:sdk_machine_list", args=[product.pk])


def _signatures_url(product) -> str:
    return reverse("vendor_portal:sdk_certificate_list", args=[product.pk])


def _revoke_url(machine) -> str:
    return reverse("vendor_portal:sdk_machine_revoke", args=[machine.product_id, machine.pk])


def _restore_url(machine) -> str:
    return reverse("vendor_portal:sdk_machine_restore", args=[machine.product_id, machine.pk])


def _listed(response) -> list[str]:
    return [m.machine_code for m in response.context["page"]]


@pytest.fixture
def dev_key(tenant) -> LicenseKey:
    """A developer's key of the tenant's product: 2 seats, 2 developer machines."""
    return make_key(tenant.product, max_no_of_machines=2)


@pytest.fixture
def signed(dev_key) -> DeveloperMachine:
    """Alice's laptop signed two applications with the developer's key; Bob's desktop one."""
    _sign(dev_key, app="app.py")
    _sign(dev_key, "dev-desktop-2", "Bob desktop", app="tool.whl",
          fingerprint=OTHER_FINGERPRINT)
    return _sign(dev_key, app="app-2.py")


# --- The machine list ---


def test_machine_list_shows_machines_with_their_keys_signatures_and_latest_fingerprint(
        tenant, dev_key, signed, read_only_client):
    response = read_only_client.get(_machines_url(tenant.product))

    assert response.status_code == 200
    content = response.content.decode()
    assert "Alice laptop" in content and "Bob desktop" in content
    assert dev_key.key in content
    rows = {m.machine_code: m for m in response.context["page"]}
    alice = rows["dev-laptop-1"]
    assert (alice.certificate_count, alice.key_count, alice.seats_held) == (2, 1, 1)
    assert alice.latest_application == "app-2.py"
    assert alice.latest_fingerprint == FINGERPRINT
    assert alice.keys_used == [(dev_key.key, dev_key.pk)]
    assert rows["dev-desktop-2"].certificate_count == 1


def test_machine_list_states_that_issued_certificates_stay_valid(tenant, signed, owner_client):
    content = owner_client.get(_machines_url(tenant.product)).content.decode()
    assert STAYS_VALID in content
    assert "refuses its new signatures. Its seat on the developer's license key stays taken" \
        in content


def test_machine_list_shows_how_to_set_up_with_this_products_id(tenant, owner_client):
    content = owner_client.get(_machines_url(tenant.product)).content.decode()
    assert "sdk-sign --key &lt;license key&gt; &lt;application&gt;" in content
    assert "sdk.SignApplication" in content
    assert reverse("vendor_portal:token_list") in content
    assert f"entry_application(), product_id={tenant.product.pk})" in content
    assert "docs/sdk-licensing.md" in content


def test_machine_list_without_signatures_says_none_has_signed_yet(tenant, owner_client):
    response = owner_client.get(_machines_url(tenant.product))
    content = response.content.decode()
    assert "No developer machine has signed an application yet" in content
    assert 'id="sdk-machines"' not in content
    assert STAYS_VALID in content


@pytest.mark.parametrize(("query", "expected"), [
    ("laptop-1", ["dev-laptop-1"]),             # machine code
    ("bob", ["dev-desktop-2"]),                 # friendly name
    ("tool.whl", ["dev-desktop-2"]),            # an application it signed
    ("c0ffeec0ffee", ["dev-desktop-2"]),        # a fingerprint it signed
    ("nothing-like-this", []),
])
def test_machine_list_is_searchable(tenant, signed, owner_client, query, expected):
    response = owner_client.get(_machines_url(tenant.product), {"q": query})
    assert _listed(response) == expected
    if not expected:
        assert "No developer machine matches." in response.content.decode()


def test_machine_list_search_by_key_finds_every_machine_that_signed_with_it(
        tenant, dev_key, signed, owner_client):
    other_key = make_key(tenant.product, max_no_of_machines=1)
    _sign(other_key, "dev-carol-3", "Carol laptop")
    response = owner_client.get(_machines_url(tenant.product), {"q": other_key.key.lower()})
    assert _listed(response) == ["dev-carol-3"]
    assert sorted(_listed(owner_client.get(_machines_url(tenant.product),
                                           {"q": dev_key.key}))) == [
        "dev-desktop-2", "dev-laptop-1"]


def test_machine_list_shows_only_this_products_machines(tenant, signed, owner_client):
    second = ProductFactory(vendor=tenant.vendor)
    _sign(make_key(second), "dev-elsewhere", "Elsewhere")
    assert "dev-elsewhere" not in _listed(owner_client.get(_machines_url(tenant.product)))
    assert _listed(owner_client.get(_machines_url(second))) == ["dev-elsewhere"]


def test_machine_list_is_paginated(tenant, owner_client):
    key = make_key(tenant.product, max_no_of_machines=30)
    for n in range(27):
        _sign(key, f"dev-{n:02d}", f"Machine {n}")
    first = owner_client.get(_machines_url(tenant.product))
    second = owner_client.get(_machines_url(tenant.product), {"page": 2})
    assert len(_listed(first)) == 25 and len(_listed(second)) == 2
    assert "Page 1 of 2" in first.content.decode()


def test_product_pages_link_to_the_sdk_page(tenant, read_only_client):
    url = _machines_url(tenant.product)
    assert url in read_only_client.get(reverse("vendor_portal:product_list")).content.decode()
    assert url in read_only_client.get(
        reverse("vendor_portal:key_list", args=[tenant.product.pk])).content.decode()


# --- Tenancy and roles ---


def test_other_vendor_gets_404_for_the_product_and_its_machine(tenant, signed,
                                                                 other_vendor_client):
    assert other_vendor_client.get(_machines_url(tenant.product)).status_code == 404
    assert other_vendor_client.get(_signatures_url(tenant.product)).status_code == 404
    assert other_vendor_client.post(_revoke_url(signed)).status_code == 404
    assert other_vendor_client.post(_restore_url(signed)).status_code == 404
    signed.refresh_from_db()
    assert not signed.revoked


def test_other_vendors_machine_through_own_product_is_404(tenant, other_tenant, owner_client):
    theirs = _sign(other_tenant.key, "their-laptop", "Theirs")
    for url in (reverse("vendor_portal:sdk_machine_revoke", args=[tenant.product.pk, theirs.pk]),
                reverse("vendor_portal:sdk_machine_restore",
                        args=[tenant.product.pk, theirs.pk])):
        assert owner_client.post(url).status_code == 404
    assert owner_client.get(_signatures_url(tenant.product),
                            {"machine": theirs.pk}).status_code == 404
    theirs.refresh_from_db()
    assert not theirs.revoked


def test_machine_of_another_product_of_the_same_vendor_is_404_by_the_wrong_product_url(
        tenant, dev_key, signed, owner_client):
    second = ProductFactory(vendor=tenant.vendor)
    wrong = reverse("vendor_portal:sdk_machine_revoke", args=[second.pk, signed.pk])
    assert owner_client.post(wrong).status_code == 404
    assert owner_client.get(_signatures_url(second), {"machine": signed.pk}).status_code == 404
    signed.refresh_from_db()
    assert not signed.revoked
    assert Activation.objects.filter(key=dev_key, machine_code="dev-laptop-1").exists()


def test_read_only_member_sees_the_pages_but_cannot_revoke_or_restore(
        tenant, signed, read_only_client):
    page = read_only_client.get(_machines_url(tenant.product)).content.decode()
    assert _revoke_url(signed) not in page
    assert read_only_client.post(_revoke_url(signed)).status_code == 403
    signed.refresh_from_db()
    assert not signed.revoked
    signed.revoked_at, signed.revoked_by = signed.created, "owner@example.com"
    signed.save()
    assert read_only_client.post(_restore_url(signed)).status_code == 403
    signed.refresh_from_db()
    assert signed.revoked


def test_revoke_and_restore_refuse_get(tenant, signed, owner_client):
    assert owner_client.get(_revoke_url(signed)).status_code == 405
    assert owner_client.get(_restore_url(signed)).status_code == 405


# --- Revoking and allowing again ---


def test_revoke_keeps_the_seat_and_refuses_new_signatures(tenant, dev_key, signed,
                                                         admin_client_):
    assert Activation.objects.filter(key=dev_key, machine_code="dev-laptop-1").exists()

    response = admin_client_.post(_revoke_url(signed), follow=True)

    assert response.redirect_chain == [(_machines_url(tenant.product), 302)]
    text = [str(m) for m in response.context["messages"]]
    assert text == ["Revoked “Alice laptop”: it can sign no more applications. Certificates it "
                    "already made stay valid until their license expires. Its seat on the key "
                    "stays taken (1): free it on the key's page to let the developer sign on "
                    "another machine."]
    signed.refresh_from_db()
    assert signed.revoked and signed.revoked_by == tenant.admin.email
    assert Activation.objects.filter(key=dev_key, machine_code="dev-laptop-1").exists()
    assert SdkCertificate.objects.filter(machine=signed).count() == 2  # the record stays
    with pytest.raises(DomainError) as refused:
        _sign(dev_key, app="app-3.py")
    assert refused.value.message == REVOKED
    assert SdkCertificate.objects.filter(machine=signed).count() == 2
    assert ObjectLogEntry.objects.filter(action="SDK developer machine revoked").count() == 1


def test_revoked_machine_is_shown_as_revoked_by_whom_with_allow_again(tenant, signed,
                                                                    owner_client):
    owner_client.post(_revoke_url(signed))
    response = owner_client.get(_machines_url(tenant.product))
    content = response.content.decode()
    assert "Revoked</span>" in content and f"by {tenant.owner.email}" in content
    assert _restore_url(signed) in content
    assert {m.machine_code: m.seats_held for m in response.context["page"]}[
        "dev-laptop-1"] == 1


def test_revoking_twice_is_harmless(tenant, signed, owner_client):
    owner_client.post(_revoke_url(signed))
    revoked_at = DeveloperMachine.objects.get(pk=signed.pk).revoked_at

    response = owner_client.post(_revoke_url(signed), follow=True)

    assert response.status_code == 200
    # (The first revocation's message was never shown: it comes first.)
    assert [str(m) for m in response.context["messages"]][-1] == \
        "“Alice laptop” was already revoked."
    assert DeveloperMachine.objects.get(pk=signed.pk).revoked_at == revoked_at
    assert ObjectLogEntry.objects.filter(action="SDK developer machine revoked").count() == 1


def test_restore_lets_the_machine_sign_again(tenant, dev_key, signed, owner_client):
    owner_client.post(_revoke_url(signed))

    response = owner_client.post(_restore_url(signed), follow=True)

    assert [str(m) for m in response.context["messages"]][-1] == \
        "“Alice laptop” may sign again."
    signed.refresh_from_db()
    assert not signed.revoked
    _sign(dev_key, app="app-3.py")
    assert SdkCertificate.objects.filter(machine=signed).count() == 3
    assert Activation.objects.filter(key=dev_key, machine_code="dev-laptop-1").exists()
    # Allowing again twice changes nothing more.
    owner_client.post(_restore_url(signed))
    assert ObjectLogEntry.objects.filter(action="SDK developer machine allowed again").count() == 1


def test_revoke_from_the_machines_signatures_returns_there(tenant, signed, owner_client):
    response = owner_client.post(_revoke_url(signed), {"back": "signatures"})
    assert response["Location"] == f"{_signatures_url(tenant.product)}?machine={signed.pk}"
    response = owner_client.post(_restore_url(signed), {"back": "elsewhere"})
    assert response["Location"] == _machines_url(tenant.product)


# --- The signatures ---


def test_signatures_list_shows_each_fingerprint_in_full_newest_first(tenant, signed,
                                                                     read_only_client):
    response = read_only_client.get(_signatures_url(tenant.product))

    assert response.status_code == 200
    names = [c.application_name for c in response.context["page"]]
    assert names == ["app-2.py", "tool.whl", "app.py"]
    content = response.content.decode()
    text = re.sub(r"<[^>]+>", "", content)  # a fingerprint may wrap between its halves
    assert FINGERPRINT in text and OTHER_FINGERPRINT in text
    assert "No expiry" not in content  # the key has a 30-day period
    assert STAYS_VALID in content


def test_signatures_of_a_key_without_time_limit_say_no_expiry(tenant, owner_client):
    _sign(make_key(tenant.product, period=0), "dev-forever", "Forever")
    content = owner_client.get(_signatures_url(tenant.product)).content.decode()
    assert "No expiry" in content


def test_signatures_filtered_by_machine(tenant, signed, owner_client):
    response = owner_client.get(_signatures_url(tenant.product), {"machine": signed.pk})
    assert [c.machine_id for c in response.context["page"]] == [signed.pk, signed.pk]
    assert response.context["machine"] == signed
    assert "Signatures of Alice laptop" in response.content.decode()
    # Not a number: no filter.
    response = owner_client.get(_signatures_url(tenant.product), {"machine": "²"})
    assert len(response.context["page"]) == 3


@pytest.mark.parametrize(("query", "expected"), [
    ("tool", ["tool.whl"]),
    (OTHER_FINGERPRINT[:20].upper(), ["tool.whl"]),
    ("Alice", ["app-2.py", "app.py"]),
    ("dev-desktop", ["tool.whl"]),
])
def test_signatures_are_searchable(tenant, signed, owner_client, query, expected):
    response = owner_client.get(_signatures_url(tenant.product), {"q": query})
    assert [c.application_name for c in response.context["page"]] == expected


def test_signatures_export_csv(tenant, dev_key, signed, owner_client):
    response = owner_client.get(_signatures_url(tenant.product),
                                {"machine": signed.pk, "format": "csv"})

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert (f'filename="sdk-signatures-product-{tenant.product.pk}-machine-{signed.pk}.csv"'
            in response["Content-Disposition"])
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [r["Application"] for r in rows] == ["app-2.py", "app.py"]
    row = rows[0]
    assert row["Fingerprint"] == FINGERPRINT
    assert row["Key"] == dev_key.key
    assert (row["Machine code"], row["Friendly name"]) == ("dev-laptop-1", "Alice laptop")
    assert row["IP"] == "127.0.0.1"
    assert row["License expires (UTC)"] == dev_key.expires.isoformat()
    assert row["Algorithm"] == "sha256-files-v1"


def test_signatures_csv_cells_cannot_run_as_formulas(tenant, owner_client):
    _sign(tenant.key, "=cmd|'/c calc'!A1", "@SUM(A1)", app="+evil.py")
    rows = list(csv.DictReader(io.StringIO(owner_client.get(
        _signatures_url(tenant.product), {"format": "csv"}).content.decode())))
    assert (rows[0]["Machine code"], rows[0]["Friendly name"], rows[0]["Application"]) == (
        "'=cmd|'/c calc'!A1", "'@SUM(A1)", "'+evil.py")


def test_signatures_csv_follows_the_search(tenant, signed, owner_client):
    rows = list(csv.DictReader(io.StringIO(owner_client.get(
        _signatures_url(tenant.product), {"q": "tool", "format": "csv"}).content.decode())))
    assert [r["Application"] for r in rows] == ["tool.whl"]
