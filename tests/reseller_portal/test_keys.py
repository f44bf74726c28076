"""The keys a reseller issued: list with search, detail with devices, the license file."""

from __future__ import annotations

from django.urls import reverse
from licensing.methods import Helpers
from licensing.models import LicenseKey as ClientLicenseKey
from pytest_django.asserts import assertContains, assertNotContains

from apps.licensing.services.resellers import reseller_issue_key, right_grant
from apps.licensing.signing import public_key_xml

from .personas import SYSTEM

LIST = reverse("reseller_portal:key_list")


def _detail(key) -> str:
    return reverse("reseller_portal:key_detail", args=[key.pk])


def _file(key) -> str:
    return reverse("reseller_portal:license_file", args=[key.pk])


def _listed(response) -> list[str]:
    return [key.key for key in response.context["page"]]


def test_key_list_shows_only_the_keys_this_reseller_issued(resellers, reseller_client):
    response = reseller_client.get(LIST)
    assert _listed(response) == [resellers.me.key.key]
    for hidden in (resellers.rival.key, resellers.tenant.key, resellers.vendor_key_other_product,
                   resellers.foreign.key):
        assertNotContains(response, hidden.key)


def test_key_list_searches_by_key_and_by_customer(resellers, reseller_client):
    me = resellers.me
    standalone = reseller_issue_key(right=me.right, actor=SYSTEM)
    assert _listed(reseller_client.get(LIST, {"q": standalone.key[6:17].lower()})) == [
        standalone.key]
    assert _listed(reseller_client.get(LIST, {"q": "acme customer"})) == [me.key.key]
    assert _listed(reseller_client.get(LIST, {"q": "acme@c.example"})) == [me.key.key]
    assert _listed(reseller_client.get(LIST, {"q": "Rival customer"})) == []
    assertContains(reseller_client.get(LIST, {"q": "nothing-like-this"}), "No keys match.")


def test_key_list_is_paginated(resellers, reseller_client):
    right = right_grant(reseller=resellers.me.reseller, template=resellers.template, quota=30,
                        actor=SYSTEM)
    for _ in range(25):
        reseller_issue_key(right=right, actor=SYSTEM)
    first, second = reseller_client.get(LIST), reseller_client.get(LIST, {"page": 2})
    assert (len(_listed(first)), len(_listed(second))) == (25, 1)
    assertContains(first, "Page 1 of 2 · 26 in all")


def test_key_list_exports_csv_of_the_resellers_keys_only(resellers, reseller_client):
    response = reseller_client.get(LIST, {"format": "csv"})
    assert response["Content-Type"].startswith("text/csv")
    lines = response.content.decode().splitlines()
    assert lines[0].startswith("Key,Product,Customer")
    assert [line.split(",")[0] for line in lines[1:]] == [resellers.me.key.key]


def test_key_detail_shows_the_devices_of_the_key(resellers, reseller_client):
    me = resellers.me
    response = reseller_client.get(_detail(me.key))
    assert response.status_code == 200
    assert response.context["activations"] == [me.activation]
    for text in ("acme-pc", "ACME-PC", "198.51.100.7", "Pro, 1 year", "Acme customer"):
        assertContains(response, text)


def test_keys_of_others_are_404(resellers, reseller_client):
    for key in (resellers.rival.key, resellers.tenant.key, resellers.vendor_key_other_product,
                resellers.foreign.key):
        assert reseller_client.get(_detail(key)).status_code == 404
        assert reseller_client.post(_file(key)).status_code == 404


def test_license_file_verifies_with_the_official_client_and_names_the_reseller(
        resellers, reseller_client):
    me = resellers.me
    response = reseller_client.post(_file(me.key))

    assert response.status_code == 200
    assert response["Content-Disposition"].startswith('attachment; filename="ActivationFile')
    assert response["Content-Disposition"].endswith('.skm"')
    public_key = public_key_xml(resellers.tenant.vendor.signing_key.public_key_pem)
    loaded = ClientLicenseKey.load_from_string(public_key, response.content.decode())
    assert loaded is not None, "the signature did not verify"
    foreign_vendor_key = public_key_xml(
        resellers.foreign.reseller.vendor.signing_key.public_key_pem)
    assert ClientLicenseKey.load_from_string(foreign_vendor_key,
                                             response.content.decode()) is None
    assert loaded.key == me.key.key
    assert Helpers.IsOnRightMachine(loaded, custom_machine_code="acme-pc")
    assert (loaded.reseller.Name, loaded.reseller.Email, loaded.reseller.Id) == (
        "Acme", me.reseller.email, me.reseller.pk)


def test_license_file_is_post_only(resellers, reseller_client):
    assert reseller_client.get(_file(resellers.me.key)).status_code == 405


def test_license_file_for_a_device_activates_it_first(resellers, reseller_client):
    me = resellers.me
    assertContains(reseller_client.get(_detail(me.key)), 'id="device-license-file"')

    response = reseller_client.post(_file(me.key), {"machine_code": "acme-laptop",
                                                    "friendly_name": "LAPTOP"})

    assert response["Content-Disposition"].startswith('attachment; filename="ActivationFile')
    assert me.key.activations.filter(machine_code="acme-laptop", friendly_name="LAPTOP").exists()


def test_license_file_refusal_is_shown_on_the_key_page(resellers, reseller_client):
    me = resellers.me
    response = reseller_client.post(_file(me.key), {"machine_code": "x" * 129}, follow=True)
    assertContains(response, "Ensure this value has at most 128 characters (it has 129).")
    assert me.key.activations.count() == 1
