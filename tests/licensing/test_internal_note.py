"""A key's internal note is the vendor's alone: it never leaves in a Web API answer, a signed
license, a license file, a reseller's or a customer's page, and never travels to a template or
another key. (The notes field is the one that goes out with the license.)"""

from __future__ import annotations

import base64
import json

import pytest
from django.test import Client
from django.urls import reverse

from apps.audit.log import Actor
from apps.licensing import services
from apps.licensing.api_methods import API_METHODS
from apps.licensing.license_files import LINQ_SIGN, STRING_SIGN, license_file
from apps.licensing.models import LicenseTemplate
from apps.licensing.services.issuing import keys_issue
from apps.licensing.services.resellers import key_create_from_template, template_create
from apps.licensing.services.trials import key_create_trial
from apps.licensing.signing import load_public_key
from tests.api.test_signatures import verify
from tests.customer_portal.personas import portal  # noqa: F401  (fixture)
from tests.factories import make_key
from tests.reseller_portal.personas import client_for, resellers  # noqa: F401  (fixture)

SECRET = "PO 4471 - Northwind design team - call Alice"
SYSTEM = Actor.for_system("test")


def _noted(key) -> None:
    services.key_update(key=key, actor=SYSTEM, notes="Pro edition", internal_note=SECRET)


def _api(tenant, method: str, key, **params) -> bytes:
    token = services.token_create(vendor=tenant.vendor, actor=SYSTEM, name="all",
                                  permissions=API_METHODS)[1]
    response = Client().post(f"/api/{method}", {"token": token, "ProductId": tenant.product.pk,
                                                "Key": key.key, **params})
    assert response.status_code == 200
    assert response.json()["result"] == 0, response.json()
    return response.content


def _everything_said(raw: bytes) -> str:
    """The answer and, decoded, every base64 license inside it."""
    body = json.loads(raw)
    said = [raw.decode()]
    for value in (body.get("licenseKey"), (body.get("metadata") or {}).get("data")):
        if isinstance(value, str):
            said.append(base64.b64decode(value).decode("utf-8", "replace"))
    return "\n".join(said)


@pytest.mark.parametrize(("method", "params"), [
    ("key/Activate", {"MachineCode": "pc-9", "Sign": "True", "SignMethod": 1}),
    ("key/Activate", {"MachineCode": "pc-9", "Sign": "True", "ModelVersion": 3,
                      "Metadata": "True"}),
    ("key/Activate", {"MachineCode": "pc-9", "Sign": "True"}),  # LinqSign
    ("key/GetKey", {"Sign": "True", "SignMethod": 1}),
    ("key/GetKey", {"Sign": "True"}),
    ("key/GetKey", {}),
    ("product/GetKeys", {}),
])
def test_the_internal_note_is_in_no_web_api_answer(tenant, method, params):
    _noted(tenant.key)
    said = _everything_said(_api(tenant, method, tenant.key, **params))
    assert SECRET not in said and "4471" not in said
    assert "Pro edition" in said  # the license's notes do go out


def test_the_signed_license_verifies_and_carries_only_the_notes(tenant):
    _noted(tenant.key)
    body = json.loads(_api(tenant, "key/Activate", tenant.key, MachineCode="pc-9",
                           Sign="True", SignMethod=1))
    payload = base64.b64decode(body["licenseKey"])
    public_key = load_public_key(tenant.vendor.signing_key.public_key_pem)
    assert verify(public_key, body["signature"], payload)
    signed = json.loads(payload)
    assert signed["Notes"] == "Pro edition"
    assert not any("internal" in name.lower() for name in signed)


@pytest.mark.parametrize("file_format", [STRING_SIGN, LINQ_SIGN])
def test_the_internal_note_is_in_no_license_file(tenant, file_format):
    _noted(tenant.key)
    text = license_file(key=tenant.key, file_format=file_format).content.decode()
    said = _everything_said(text.encode()) if file_format == STRING_SIGN else text
    assert SECRET not in said
    assert "Pro edition" in said


def test_resellers_never_see_the_internal_note_of_a_key_they_issued(resellers):  # noqa: F811
    key = resellers.me.key
    _noted(key)
    client = client_for(resellers.me.user)
    for url in (reverse("reseller_portal:key_list"),
                reverse("reseller_portal:key_detail", args=[key.pk]),
                reverse("reseller_portal:dashboard")):
        response = client.get(url)
        assert response.status_code == 200, url
        assert SECRET not in response.content.decode(), url


def test_customers_never_see_the_internal_note_of_their_license(portal):  # noqa: F811
    _noted(portal.key)
    client = client_for(portal.admin)
    for url in (reverse("customer_portal:license_list"),
                reverse("customer_portal:license_detail", args=[portal.key.pk]),
                reverse("customer_portal:device_list")):
        response = client.get(url)
        assert response.status_code == 200, url
        assert SECRET not in response.content.decode(), url


# --- Nothing copies it ---


def test_save_as_template_copies_neither_notes_nor_the_internal_note(tenant):
    spec = services.KeySpec(period=30, notes="Northwind, PO 4471", internal_note=SECRET,
                            allowed_machines="ALICE-PC", customer=tenant.customer)
    issued = keys_issue(product=tenant.product, actor=SYSTEM, spec=spec,
                        template_name="Design seats")
    assert (issued.keys[0].notes, issued.keys[0].internal_note) == ("Northwind, PO 4471",
                                                                    SECRET)
    template = LicenseTemplate.objects.get(product=tenant.product, name="Design seats")
    assert (template.notes, template.allowed_machines) == ("", "")


def test_save_as_template_takes_only_the_template_notes_given(tenant):
    keys_issue(product=tenant.product, actor=SYSTEM,
               spec=services.KeySpec(period=30, notes="Northwind, PO 4471"),
               template_name="Design seats", template_notes="Design edition")
    assert LicenseTemplate.objects.get(name="Design seats").notes == "Design edition"


def test_keys_from_a_template_start_without_an_internal_note(tenant):
    template = template_create(product=tenant.product, actor=SYSTEM, name="T", period=30,
                               notes="Standard edition")
    key = key_create_from_template(template=template, actor=SYSTEM, customer=tenant.customer)
    assert (key.notes, key.internal_note) == ("Standard edition", "")


def test_a_template_has_no_internal_note_to_be_given(tenant):
    with pytest.raises(TypeError):
        template_create(product=tenant.product, actor=SYSTEM, name="T", internal_note=SECRET)


def test_trial_keys_start_without_an_internal_note(tenant):
    _noted(tenant.key)
    trial, created = key_create_trial(product=tenant.product, machine_code="trial-pc",
                                      actor=SYSTEM)
    assert created and trial.internal_note == ""


def test_the_internal_note_is_checked_for_length(tenant):
    from apps.core.errors import DomainError

    with pytest.raises(DomainError, match="internal note"):
        make_key(tenant.product, internal_note="x" * 2001)
    with pytest.raises(DomainError, match="internal note"):
        services.key_update(key=tenant.key, actor=SYSTEM, internal_note="x" * 2001)
