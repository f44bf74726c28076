"""sdk/SignApplication (issue #20) through raw HTTP on a live server: the certificate and its
signature, the refusals with their exact messages, the seat rule it shares with key/Activate,
its Web API log rows and the token's feature lock."""

from __future__ import annotations

import base64
import hashlib
import json
import urllib.parse
import urllib.request

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from apps.api import errors
from apps.audit.log import Actor
from apps.licensing import signing
from apps.licensing.license_payload import HIDE_CUSTOMER, HIDE_NOTES, NO_IP
from apps.licensing.models import Activation, DataObject, LicenseKey
from apps.licensing.services.seats import BLOCKED, LIMIT_REACHED
from apps.sdk_licensing.models import DeveloperMachine, SdkCertificate
from apps.sdk_licensing.services import (
    BAD_ALGORITHM,
    BAD_FINGERPRINT,
    EXPIRED,
    NAME_TOO_LONG,
    NO_MACHINE_CODE,
    REVOKED,
    developer_machine_revoke,
)
from apps.usage import states
from apps.usage.models import WebApiLog
from tests.factories import CustomerFactory, ProductFactory, make_activation, make_key, make_vendor

from .live import Server

METHOD = "sdk/SignApplication"
CONTEXT = b"licensing-portal sdk-certificate v1\n"
FORMAT = "licensing-portal/sdk-certificate/1"
FINGERPRINT = hashlib.sha256(b"the developer's application").hexdigest()


def _sign(server: Server, key: LicenseKey, machine: str = "dev-pc", **extra) -> dict:
    params = {"ProductId": key.product_id, "Key": key.key, "MachineCode": machine,
              "Fingerprint": FINGERPRINT, "ApplicationName": "consumer-app", **extra}
    return server.post(METHOD, **{k: v for k, v in params.items() if v is not None})


def _certificate(server: Server, body: dict) -> dict:
    """The signed payload, its signature checked with the vendor's public key: RSA PKCS#1
    v1.5, SHA-256, over the context line + the base64-decoded certificate."""
    assert body["result"] == 0, body
    payload = base64.b64decode(body["certificate"], validate=True)
    signing.load_public_key(server.vendor.signing_key.public_key_pem).verify(
        base64.b64decode(body["signature"], validate=True), CONTEXT + payload,
        padding.PKCS1v15(), hashes.SHA256())
    return json.loads(payload)


def _refused(body: dict) -> str:
    assert body["result"] == 1, body
    return body["message"]


def _log(key: LicenseKey) -> list[tuple[int, str]]:
    return list(WebApiLog.objects.filter(method="sdk.SignApplication", key=key.key)
                .order_by("id").values_list("state", "machine_code"))


# --- Success --------------------------------------------------------------------------------


def test_the_certificate_is_signed_and_binds_license_application_and_machine(server):
    customer = CustomerFactory(vendor=server.vendor, name="Dev Shop")
    key = make_key(server.product, max_no_of_machines=3, customer=customer,
                   features=[True, False, True, False, False, False, False, True])
    make_activation(key, "colleague-pc")
    DataObject.objects.create(key=key, name="tier", string_value="pro")

    body = _sign(server, key, "dev-pc", FriendlyName="ada@laptop")
    cert = _certificate(server, body)

    assert set(body) == {"certificate", "signature", "certificateId", "result", "message"}
    assert body["message"] == ""
    assert cert["Format"] == FORMAT
    assert cert["Id"] == body["certificateId"]
    assert cert["Vendor"] == signing.fingerprint(server.vendor.signing_key.public_key_pem)
    assert cert["ProductId"] == server.product.pk
    assert cert["Application"] == {"Name": "consumer-app", "Fingerprint": FINGERPRINT,
                                   "Algorithm": "sha256-files-v1"}
    assert cert["MachineCode"] == "dev-pc"
    license_ = cert["License"]
    assert (license_["GlobalId"], license_["ProductId"], license_["MaxNoOfMachines"]) == (
        key.pk, server.product.pk, 3)
    assert [license_[f"F{n}"] for n in range(1, 9)] == [True, False, True, False, False,
                                                        False, False, True]
    assert license_["Customer"]["Name"] == "Dev Shop"
    assert [(d["Name"], d["StringValue"]) for d in license_["DataObjects"]] == [("tier", "pro")]
    # The certificate ships to every user of the application: only the signing machine, by
    # its code (not the developer's address nor host name), and never the key string (with
    # it and the shared signing token anyone could sign as this developer).
    assert [m["Mid"] for m in license_["ActivatedMachines"]] == ["dev-pc"]
    assert (license_["ActivatedMachines"][0]["IP"], license_["ActivatedMachines"][0][
        "FriendlyName"]) == (NO_IP, "")
    assert license_["Key"] is None
    text = base64.b64decode(body["certificate"]).decode()
    for secret in (key.key, "ada@laptop", "colleague-pc", "127.0.0.1"):
        assert secret not in text
    # The seat was taken, the machine and the certificate recorded.
    assert set(Activation.objects.filter(key=key).values_list("machine_code", flat=True)) == {
        "colleague-pc", "dev-pc"}
    record = SdkCertificate.objects.get(pk=body["certificateId"])
    assert (record.key, record.key_string, record.fingerprint, record.application_name) == (
        key, key.key, FINGERPRINT, "consumer-app")
    assert (record.machine.machine_code, record.machine.product) == ("dev-pc", server.product)


def test_an_upper_case_fingerprint_is_signed_in_lower_case(server):
    key = make_key(server.product, max_no_of_machines=1)

    cert = _certificate(server, _sign(server, key, Fingerprint=FINGERPRINT.upper()))

    assert cert["Application"]["Fingerprint"] == FINGERPRINT


def test_the_signature_does_not_verify_another_payload_or_as_a_license(server):
    key = make_key(server.product, max_no_of_machines=1)
    body = _sign(server, key)
    public_key = signing.load_public_key(server.vendor.signing_key.public_key_pem)
    payload = base64.b64decode(body["certificate"])
    signature = base64.b64decode(body["signature"])
    altered = payload.replace(FINGERPRINT.encode(), ("0" * 64).encode())

    for signed in (CONTEXT + altered, payload):  # changed, or read as a license key's bytes
        with pytest.raises(InvalidSignature):
            public_key.verify(signature, signed, padding.PKCS1v15(), hashes.SHA256())


def test_a_key_without_a_machine_limit_signs_for_any_machine_without_a_seat(server):
    key = make_key(server.product, max_no_of_machines=0)

    certs = [_certificate(server, _sign(server, key, f"pc-{n}")) for n in range(3)]

    assert [[m["Mid"] for m in c["License"]["ActivatedMachines"]] for c in certs] == [
        ["pc-0"], ["pc-1"], ["pc-2"]]
    assert not Activation.objects.filter(key=key).exists()
    assert _log(key) == [(states.ACTIVATION_NOT_NODE_LOCKED, f"pc-{n}") for n in range(3)]


def test_the_method_answers_on_every_spelling_the_clients_use(server):
    """Routing as for Cryptolens' methods: any case, a double slash after /api, a trailing
    slash, GET with the parameters in the query string."""
    key = make_key(server.product, max_no_of_machines=1)
    params = {"token": server.token, "ProductId": key.product_id, "Key": key.key,
              "MachineCode": "dev-pc", "Fingerprint": FINGERPRINT}

    posted = server.post("/sdk/signapplication/", **params)
    with urllib.request.urlopen(
            f"{server.base}SDK/SignApplication?{urllib.parse.urlencode(params)}",
            timeout=10) as response:
        got = json.loads(response.read())

    assert _certificate(server, posted)["MachineCode"] == "dev-pc"
    assert _certificate(server, got)["MachineCode"] == "dev-pc"


# --- Refusals -------------------------------------------------------------------------------


def test_a_token_without_the_permission_is_denied(server):
    key = make_key(server.product, max_no_of_machines=1)
    token = server.token_for(["key.Activate"])

    assert _sign(server, key, token=token) == {"result": 1, "message": errors.ACCESS_DENIED}
    assert errors.ACCESS_DENIED == "Access denied."
    assert not Activation.objects.filter(key=key).exists()
    assert not SdkCertificate.objects.exists()


def test_a_token_locked_to_another_key_is_refused(server):
    mine, other = (make_key(server.product, max_no_of_machines=1) for _ in range(2))
    token = server.token_for(["sdk.SignApplication"], locked_key=mine)

    assert _sign(server, other, token=token) == {"result": 1, "message": errors.KEY_LOCKED}
    assert _certificate(server, _sign(server, mine, token=token))["License"]["GlobalId"] \
        == mine.pk
    assert not Activation.objects.filter(key=other).exists()


def test_a_minus_one_token_signs_with_the_key_it_names(server):
    key = make_key(server.product, max_no_of_machines=1)
    token = server.token_for(["sdk.SignApplication"], key_lock_required=True)

    assert _certificate(server, _sign(server, key, token=token))["License"]["GlobalId"] \
        == key.pk


def test_another_vendors_key_is_not_found(server):
    foreign_product = ProductFactory(vendor=make_vendor("Another vendor"))
    foreign = make_key(foreign_product, max_no_of_machines=1)

    by_their_product = _sign(server, foreign)
    by_my_product = server.post(METHOD, ProductId=server.product.pk, Key=foreign.key,
                                MachineCode="dev-pc", Fingerprint=FINGERPRINT)

    assert by_their_product == {"result": 1, "message": errors.PRODUCT_NOT_FOUND}
    assert by_my_product == {"result": 1, "message": errors.KEY_NOT_FOUND}
    assert not Activation.objects.filter(key=foreign).exists()
    assert not DeveloperMachine.objects.exists()


@pytest.mark.parametrize("fingerprint", ["xyz", "a" * 63, "a" * 65, "g" * 64, "",
                                         FINGERPRINT[:-1] + " "])
def test_a_fingerprint_that_is_not_64_hex_characters_is_refused(server, fingerprint):
    key = make_key(server.product, max_no_of_machines=1)

    body = _sign(server, key, Fingerprint=fingerprint)

    assert _refused(body) == BAD_FINGERPRINT
    assert BAD_FINGERPRINT == ("The application fingerprint must be 64 hexadecimal characters "
                               "(SHA-256).")
    assert not Activation.objects.filter(key=key).exists()
    assert _log(key) == [(states.ACTIVATION_FAILED, "dev-pc")]


def test_an_unknown_algorithm_or_a_long_name_is_refused(server):
    key = make_key(server.product, max_no_of_machines=1)

    assert _refused(_sign(server, key, Algorithm="md5-files")) == BAD_ALGORITHM
    assert _refused(_sign(server, key, ApplicationName="a" * 256)) == NAME_TOO_LONG
    assert not Activation.objects.filter(key=key).exists()


@pytest.mark.parametrize("machine", [None, ""])
def test_a_missing_machine_code_is_refused(server, machine):
    key = make_key(server.product, max_no_of_machines=1)

    assert _refused(_sign(server, key, machine)) == NO_MACHINE_CODE
    assert NO_MACHINE_CODE == "The machine code cannot be null."
    assert not Activation.objects.filter(key=key).exists()


def test_the_seat_limit_refuses_a_second_machine_and_lets_the_first_sign_again(server):
    key = make_key(server.product, max_no_of_machines=1)

    first = _sign(server, key, "machine-a")
    second = _sign(server, key, "machine-b")
    again = _sign(server, key, "machine-a")

    assert _certificate(server, first)["MachineCode"] == "machine-a"
    assert second == {"result": 1, "message": LIMIT_REACHED}
    assert LIMIT_REACHED == "Cannot activate the new device as the limit has been reached."
    assert _certificate(server, again)["MachineCode"] == "machine-a"
    assert list(Activation.objects.filter(key=key).values_list("machine_code", flat=True)) == [
        "machine-a"]
    assert sorted(SdkCertificate.objects.filter(key=key)
                  .values_list("machine__machine_code", flat=True)) == ["machine-a"] * 2
    assert _log(key) == [(states.ACTIVATION_NEW, "machine-a"),
                         (states.ACTIVATION_LIMIT, "machine-b"),
                         (states.ACTIVATION_EXISTING, "machine-a")]


def test_a_blocked_key_is_refused(server):
    key = make_key(server.product, max_no_of_machines=1, block=True)

    assert _sign(server, key) == {"result": 1, "message": BLOCKED}
    assert BLOCKED == "The key is blocked and cannot be accessed."
    assert not SdkCertificate.objects.exists()
    assert _log(key) == [(states.ACTIVATION_BLOCKED, "dev-pc")]


def test_an_expired_key_is_refused(server):
    key = make_key(server.product, max_no_of_machines=1, period=-1)

    assert _sign(server, key) == {"result": 1, "message": EXPIRED}
    assert not Activation.objects.filter(key=key).exists()


def test_a_revoked_machine_is_refused_and_keeps_its_seat(server):
    """The seat stays taken: a developer told to stop cannot take it back under another
    machine code (developer_machine_revoke)."""
    key = make_key(server.product, max_no_of_machines=1)
    _certificate(server, _sign(server, key, "dev-pc"))
    developer_machine_revoke(machine=DeveloperMachine.objects.get(machine_code="dev-pc"),
                             actor=Actor.for_system("test"))

    assert _sign(server, key, "dev-pc") == {"result": 1, "message": REVOKED}
    assert _sign(server, key, "new-pc") == {"result": 1, "message": LIMIT_REACHED}
    assert list(Activation.objects.filter(key=key).values_list("machine_code", flat=True)) == [
        "dev-pc"]
    assert _log(key)[1:] == [(states.ACTIVATION_LIMIT, "dev-pc"),
                             (states.ACTIVATION_LIMIT, "new-pc")]


# --- Web API log ----------------------------------------------------------------------------


def test_each_call_writes_one_log_row(server):
    key = make_key(server.product, max_no_of_machines=1)
    denied = server.token_for(["key.Activate"])

    _sign(server, key, "dev-pc", FriendlyName="ada")
    _sign(server, key, "dev-pc")
    _sign(server, key, "dev-pc", Fingerprint="xyz")
    _sign(server, key, "other-pc")
    _sign(server, key, "dev-pc", token=denied)

    rows = list(WebApiLog.objects.filter(method="sdk.SignApplication").order_by("id")
                .values_list("state", "machine_code", "product_id", "key"))
    assert [r[0] for r in rows] == [states.ACTIVATION_NEW, states.ACTIVATION_EXISTING,
                                    states.ACTIVATION_FAILED, states.ACTIVATION_LIMIT,
                                    states.ACTIVATION_FAILED]
    assert [r[1:] for r in rows[:4]] == [("dev-pc", server.product.pk, key.key)] * 3 + [
        ("other-pc", server.product.pk, key.key)]
    assert all(states.succeeded(r[0]) for r in rows[:2])
    assert not any(states.succeeded(r[0]) for r in rows[2:])
    assert WebApiLog.objects.get(state=states.ACTIVATION_NEW).friendly_name == "ada"


# --- The token's feature lock ---------------------------------------------------------------


def test_the_tokens_feature_lock_hides_fields_in_the_certificate(server):
    key = make_key(server.product, max_no_of_machines=2, notes="paid by invoice 17",
                   customer=CustomerFactory(vendor=server.vendor, name="Jane Buyer"))
    hiding = server.token_for(["sdk.SignApplication"], fields_hidden=HIDE_NOTES | HIDE_CUSTOMER)

    hidden = _certificate(server, _sign(server, key, "pc-1", token=hiding, FieldsToReturn=0))
    shown = _certificate(server, _sign(server, key, "pc-2"))
    more = _certificate(server, _sign(server, key, "pc-1", FieldsToReturn=HIDE_NOTES))

    assert (hidden["License"]["Notes"], hidden["License"]["Customer"]) == (None, None)
    assert "invoice 17" not in json.dumps(hidden) and "Jane Buyer" not in json.dumps(hidden)
    assert hidden["License"]["GlobalId"] == key.pk
    assert shown["License"]["Notes"] == "paid by invoice 17"
    assert shown["License"]["Customer"]["Name"] == "Jane Buyer"
    assert more["License"]["Notes"] is None and more["License"]["Customer"] is not None
