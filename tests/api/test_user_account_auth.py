"""Cryptolens' user account authorization, end to end, doing what the .NET client does
(Cryptolens.Licensing: UserAccountAuth/AuthMethods.cs CreateAuthRequest and GetToken,
UserAccountAuth/UserLoginAuth.cs UserAccount.GetLicenseKeys, Core/HelperMethods.cs
SendRequestToWebAPI3): the browser link, approval in the customer portal, GetChallenge,
the SHA-512 signed challenge, GetToken, then GetLicenseKeys verified with the vendor's public
key as UserLoginAuth.cs verifies it. Plus every refusal."""

from __future__ import annotations

import base64
import datetime as dt
import json
import struct
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from apps.api import errors
from apps.audit.log import Actor
from apps.licensing import signing
from apps.licensing.license_payload import linq_signed_string
from apps.licensing.models import AppAuthorization, CustomerMembership
from apps.licensing.services import token_create, token_revoke
from apps.licensing.services.app_authorizations import (
    ALREADY_CLAIMED,
    BAD_SIGNATURE,
    NO_CHALLENGE,
    NOT_APPROVED,
    STALE_DATE,
)
from apps.licensing.services.credentials import token_cache_clear
from tests.factories import CustomerFactory, UserFactory, make_key
from tests.licensing.keypool import pooled_signing_keys  # noqa: F401

from .user_account_flow import DotNetApp


def verify_like_user_login_auth(answer: dict, public_key_xml: str) -> bool:
    """UserLoginAuth.cs: VerifyData(results || activatedMachineCodes || int64 signDate, SHA256,
    Pkcs1) with the RSA public key XML."""
    root = ET.fromstring(public_key_xml)
    modulus = int.from_bytes(base64.b64decode(root.findtext("Modulus") or ""), "big")
    exponent = int.from_bytes(base64.b64decode(root.findtext("Exponent") or ""), "big")
    key = rsa.RSAPublicNumbers(exponent, modulus).public_key()
    to_sign = (base64.b64decode(answer["results"]) + base64.b64decode(
        answer["activatedMachineCodes"]) + struct.pack("<q", answer["signDate"]))
    try:
        key.verify(base64.b64decode(answer["signature"]), to_sign, padding.PKCS1v15(),
                   hashes.SHA256())
    except InvalidSignature:
        return False
    return True


@dataclass
class World:
    tenant: object
    person: object  # a portal user of tenant.customer
    portal: Client
    app: DotNetApp
    vendor_token: str


@pytest.fixture
def world(tenant, other_tenant) -> World:
    person = UserFactory()
    CustomerMembership.objects.create(customer=tenant.customer, user=person,
                                      can_manage_activations=False)
    token, token_string = token_create(vendor=tenant.vendor, actor=Actor.for_system("test"),
                                       name="shipped", permissions=["auth.GetChallenge",
                                                                    "auth.GetToken"])
    portal = Client()
    portal.force_login(person)
    token_cache_clear()
    return World(tenant, person, portal, DotNetApp(token_string, token.pk), token_string)


def approve(world: World, app: DotNetApp | None = None):
    app = app or world.app
    landing = world.portal.get(app.authorize_url())
    assert landing.status_code == 302
    page = world.portal.get(landing["Location"])
    assert page.status_code == 200, page.content
    return world.portal.post(landing["Location"], {"decision": "approve"})


def test_the_dotnet_flow_lists_the_customers_licenses_signed_by_the_vendor(world):
    other_customer_key = make_key(world.tenant.product, customer=CustomerFactory(
        vendor=world.tenant.vendor))
    page = world.portal.get(world.portal.get(world.app.authorize_url())["Location"])
    assert "Northwind Desktop" in page.content.decode()
    assert "MC-4F2A-LAPTOP" in page.content.decode()
    assert approve(world).status_code == 302

    token = world.app.obtain_token()
    answer = world.app.get_license_keys(token)

    assert answer["result"] == 0 and answer["message"] == ""
    assert set(answer) == {"results", "activatedMachineCodes", "signature", "signDate",
                           "result", "message"}
    xml = signing.public_key_xml(world.tenant.vendor.signing_key.public_key_pem)
    assert verify_like_user_login_auth(answer, xml)
    machines = json.loads(base64.b64decode(answer["activatedMachineCodes"]).decode())
    assert machines == ["MC-4F2A-LAPTOP"]
    licenses = json.loads(base64.b64decode(answer["results"]).decode("utf-8"))
    keys = [item["licenseKey"]["key"] for item in licenses]
    assert keys == [world.tenant.key.key]
    assert other_customer_key.key not in keys
    license_key = licenses[0]["licenseKey"]
    assert license_key["customer"]["id"] == world.tenant.customer.pk
    # Each LicenseKey carries its LinqSign signature, as key/GetKey answers it.
    signing.load_public_key(world.tenant.vendor.signing_key.public_key_pem).verify(
        base64.b64decode(license_key["signature"]),
        linq_signed_string(license_key).encode("utf-16-le"), padding.PKCS1v15(),
        hashes.SHA256())
    row = AppAuthorization.objects.get()
    assert (row.customer, row.user, row.expires_days) == (world.tenant.customer, world.person, 5)
    assert row.token_expires - row.token_issued_at == dt.timedelta(days=5)
    assert row.authorization_digest != world.app.auth_b64  # only a digest is kept


def test_a_tampered_answer_fails_the_clients_check(world):
    approve(world)
    answer = world.app.get_license_keys(world.app.obtain_token())
    answer["activatedMachineCodes"] = base64.b64encode(b'["OTHER"]').decode()
    xml = signing.public_key_xml(world.tenant.vendor.signing_key.public_key_pem)
    assert not verify_like_user_login_auth(answer, xml)


def test_anonymous_visitors_sign_in_and_come_back(world):
    anonymous = Client()
    landing = anonymous.get(world.app.authorize_url())
    to_login = anonymous.get(landing["Location"])
    assert to_login.status_code == 302
    assert "/accounts/login/" in to_login["Location"]
    back = parse_qs(urlsplit(to_login["Location"]).query)["next"][0]
    assert back == landing["Location"]
    assert AppAuthorization.objects.count() == 0
    anonymous.force_login(world.person)  # signing in sends the person back to the request
    assert "Northwind Desktop" in anonymous.get(back).content.decode()


def test_before_approval_get_challenge_answers_an_error(world):
    assert world.app.get_challenge() == {"result": 1, "message": NOT_APPROVED}


def test_refusing_stores_nothing_and_the_app_gets_nothing(world):
    url = world.portal.get(world.app.authorize_url())["Location"]
    assert world.portal.post(url, {"decision": "refuse"}).status_code == 302
    assert AppAuthorization.objects.count() == 0
    assert world.app.get_challenge()["message"] == NOT_APPROVED


def test_a_wrong_signature_is_refused_and_uses_the_challenge_up(world):
    approve(world)
    challenge = world.app.get_challenge()["challenge"]
    impostor = DotNetApp(world.vendor_token, world.app.token_id)
    date = int(time.time())
    wrong = world.app.get_token(challenge, date=date, signature=impostor.sign(challenge, date))
    assert wrong == {"result": 1, "message": BAD_SIGNATURE}
    assert world.app.get_token(challenge)["message"] == NO_CHALLENGE
    # A new challenge, rightly signed, still works.
    assert world.app.obtain_token()


def test_a_stale_date_is_refused(world):
    approve(world)
    challenge = world.app.get_challenge()["challenge"]
    stale = world.app.get_token(challenge, date=int(time.time()) - 3600)
    assert stale == {"result": 1, "message": STALE_DATE}


def test_the_token_is_issued_once(world):
    approve(world)
    challenge = world.app.get_challenge()["challenge"]
    assert world.app.get_token(challenge)["result"] == 0
    assert world.app.get_token(challenge)["message"] == ALREADY_CLAIMED
    assert world.app.get_challenge()["message"] == ALREADY_CLAIMED


def test_an_approval_not_claimed_in_time_lapses(world):
    approve(world)
    AppAuthorization.objects.update(claim_by=timezone.now() - dt.timedelta(seconds=1))
    assert world.app.get_challenge()["message"] == NOT_APPROVED


def test_the_same_authorization_token_cannot_be_approved_twice(world):
    approve(world)
    second = approve(world)
    assert second.status_code == 200
    assert "already answered" in second.content.decode()
    assert AppAuthorization.objects.count() == 1


def test_revoking_in_the_portal_ends_the_token(world):
    approve(world)
    token = world.app.obtain_token()
    row = AppAuthorization.objects.get()
    listing = world.portal.get("/portal/applications/")
    assert "Northwind Desktop" in listing.content.decode()
    assert world.portal.post(f"/portal/applications/{row.pk}/revoke/").status_code == 302
    assert world.app.get_license_keys(token) == {"result": 1,
                                                 "message": errors.UNABLE_TO_AUTHENTICATE}


def test_an_expired_token_no_longer_works(world):
    approve(world)
    token = world.app.obtain_token()
    AppAuthorization.objects.update(token_expires=timezone.now() - dt.timedelta(seconds=1))
    assert world.app.get_license_keys(token)["message"] == errors.UNABLE_TO_AUTHENTICATE


def test_revoking_the_vendors_token_ends_the_application_token(world):
    approve(world)
    token = world.app.obtain_token()
    token_revoke(token=world.tenant.vendor.access_tokens.get(name="shipped"),
                 actor=Actor.for_system("test"))
    assert world.app.get_license_keys(token)["message"] == errors.UNABLE_TO_AUTHENTICATE


def test_the_application_token_may_call_nothing_else(world):
    approve(world)
    token = world.app.obtain_token()
    get_key = world.app.call("/key/GetKey", token, ProductId=world.tenant.product.pk,
                             Key=world.tenant.key.key)
    assert get_key == {"result": 1, "message": errors.ACCESS_DENIED}
    again = world.app.call("/auth/GetChallenge", token, AuthorizationToken=world.app.auth_b64)
    assert again["message"] == errors.ACCESS_DENIED


def test_a_vendor_token_cannot_list_license_keys_itself(world):
    _, ticked = token_create(vendor=world.tenant.vendor, actor=Actor.for_system("test"),
                             name="ticked", permissions=["user.GetLicenseKeys"])
    assert world.app.get_license_keys(ticked) == {"result": 1,
                                                  "message": errors.ACCESS_DENIED}


def test_a_forged_application_token_is_refused(world):
    approve(world)
    world.app.obtain_token()
    row = AppAuthorization.objects.get()
    forged = base64.b64encode(json.dumps(
        [str(world.app.token_id), f"app:{row.pk}:{'x' * 40}"]).encode()).decode()
    assert world.app.get_license_keys(forged)["message"] == errors.UNABLE_TO_AUTHENTICATE


def test_another_vendors_token_id_is_refused(world, other_tenant):
    foreign, foreign_string = token_create(vendor=other_tenant.vendor,
                                           actor=Actor.for_system("test"), name="theirs",
                                           permissions=["auth.GetChallenge", "auth.GetToken"])
    app = DotNetApp(foreign_string, foreign.pk)
    landing = world.portal.get(app.authorize_url())
    page = world.portal.get(landing["Location"])
    assert page.status_code == 404
    assert world.portal.post(landing["Location"], {"decision": "approve"}).status_code == 404
    assert AppAuthorization.objects.count() == 0


def test_another_vendors_token_cannot_claim_this_vendors_approval(world, other_tenant):
    approve(world)
    _, foreign_string = token_create(vendor=other_tenant.vendor, actor=Actor.for_system("test"),
                                     name="theirs",
                                     permissions=["auth.GetChallenge", "auth.GetToken"])
    answer = world.app.call("/auth/GetChallenge", foreign_string,
                            AuthorizationToken=world.app.auth_b64)
    assert answer == {"result": 1, "message": NOT_APPROVED}


def test_a_customer_of_two_vendors_authorizes_for_the_tokens_vendor(world, other_tenant):
    CustomerMembership.objects.create(customer=other_tenant.customer, user=world.person)
    foreign, foreign_string = token_create(vendor=other_tenant.vendor,
                                           actor=Actor.for_system("test"), name="theirs",
                                           permissions=["auth.GetChallenge", "auth.GetToken"])
    app = DotNetApp(foreign_string, foreign.pk)
    approve(world, app)
    answer = app.get_license_keys(app.obtain_token())
    licenses = json.loads(base64.b64decode(answer["results"]))
    assert [item["licenseKey"]["key"] for item in licenses] == [other_tenant.key.key]
    assert AppAuthorization.objects.get().customer == other_tenant.customer


def test_a_revoked_vendor_token_id_is_refused(world):
    token_revoke(token=world.tenant.vendor.access_tokens.get(name="shipped"),
                 actor=Actor.for_system("test"))
    landing = world.portal.get(world.app.authorize_url())
    assert world.portal.get(landing["Location"]).status_code == 404


@pytest.mark.parametrize("broken", [
    {"AuthorizationToken": ""}, {"PublicKey": "{}"}, {"PublicKey": "not json"},
    {"Expires": "0"}, {"TokenId": "x"}, {"VendorAppName": ""}, {"Algorithm": "7"},
])
def test_a_malformed_link_shows_why(world, broken):
    url = world.portal.get(world.app.authorize_url())["Location"]
    path, _, query = url.partition("?")
    fields = dict(part.split("=", 1) for part in query.split("&"))
    fields.update({k: quote(v, safe="") for k, v in broken.items()})
    response = world.portal.get(path + "?" + "&".join(f"{k}={v}" for k, v in fields.items()))
    assert response.status_code == 400


def test_the_product_lock_of_the_vendor_token_narrows_the_list(world):
    from tests.factories import ProductFactory

    other_product = ProductFactory(vendor=world.tenant.vendor)
    other = make_key(other_product, customer=world.tenant.customer)
    locked, locked_string = token_create(
        vendor=world.tenant.vendor, actor=Actor.for_system("test"), name="locked",
        permissions=["auth.GetChallenge", "auth.GetToken"], product=other_product)
    app = DotNetApp(locked_string, locked.pk)
    approve(world, app)
    licenses = json.loads(base64.b64decode(app.get_license_keys(app.obtain_token())["results"]))
    assert [item["licenseKey"]["key"] for item in licenses] == [other.key]


def test_the_vendor_sees_the_authorized_application_on_the_customer_page(world, other_tenant):
    approve(world)
    world.app.obtain_token()
    url = reverse("vendor_portal:customer_detail", args=[world.tenant.customer.pk])
    owner = Client()
    owner.force_login(world.tenant.owner)
    page = owner.get(url).content.decode()
    assert "Northwind Desktop" in page and "MC-4F2A-LAPTOP" in page and "Active" in page
    stranger = Client()
    stranger.force_login(other_tenant.owner)
    assert stranger.get(url).status_code == 404


def test_the_reference_page_documents_the_three_methods(client):
    page = client.get("/docs/api/").content.decode()
    for method in ("auth.GetChallenge", "auth.GetToken", "user.GetLicenseKeys"):
        assert method in page
    assert "SHA-512" in page and "activatedMachineCodes" in page


def test_the_token_ends_when_the_approving_person_leaves_the_customer(world):
    approve(world)
    token = world.app.obtain_token()
    CustomerMembership.objects.filter(user=world.person).delete()
    assert world.app.get_license_keys(token)["message"] == errors.UNABLE_TO_AUTHENTICATE


def test_a_scope_without_get_license_keys_cannot_be_approved(world):
    app = DotNetApp(world.vendor_token, world.app.token_id, scope_names=("Deactivate",))
    url = world.portal.get(app.authorize_url())["Location"]
    page = world.portal.get(url).content.decode()
    assert 'id="approve"' not in page and "Deactivate" in page
    answer = world.portal.post(url, {"decision": "approve"})
    assert "asks for nothing this portal can grant" in answer.content.decode()
    assert AppAuthorization.objects.count() == 0
