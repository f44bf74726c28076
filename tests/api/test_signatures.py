"""Signed payloads, checked with `cryptography` against the vendor's public key the way each
Cryptolens client checks them: StringSign (SHA-256 over the base64-decoded licenseKey),
the metadata envelope (SHA-512 over Data) and LinqSign (.NET's UTF-16LE comma-joined string)."""

from __future__ import annotations

import base64
import datetime as dt
import json

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from django.test import Client
from django.utils import timezone

from apps.audit.log import Actor
from apps.licensing.api_methods import API_METHODS
from apps.licensing.license_payload import linq_signed_string
from apps.licensing.models import Activation, DataObject, LicenseKey, Product
from apps.licensing.services import token_create
from apps.licensing.signing import load_public_key
from tests.factories import CustomerFactory, ProductFactory, make_key, make_vendor
from tests.licensing.keypool import pooled_signing_keys  # noqa: F401  (autouse: fast RSA keys)


def verify(public_key: RSAPublicKey, signature_b64: str, data: bytes,
           algorithm: hashes.HashAlgorithm | None = None) -> bool:
    try:
        public_key.verify(base64.b64decode(signature_b64), data, padding.PKCS1v15(),
                          algorithm or hashes.SHA256())
    except InvalidSignature:
        return False
    return True


class Api:
    def __init__(self) -> None:
        self.vendor = make_vendor("Signing vendor")
        self.product: Product = ProductFactory(vendor=self.vendor)
        self.token = token_create(vendor=self.vendor, actor=Actor.for_system("test"),
                                  name="all", permissions=API_METHODS)[1]
        self.public_key = load_public_key(self.vendor.signing_key.public_key_pem)
        self.client = Client()

    def call(self, method: str, key: LicenseKey, **params) -> dict:
        response = self.client.post(f"/api/key/{method}", {
            "token": self.token, "ProductId": self.product.pk, "Key": key.key, **params})
        assert response.status_code == 200
        body = response.json()
        assert body["result"] == 0, body
        return body


@pytest.fixture
def api(db) -> Api:
    return Api()


@pytest.fixture
def key(api) -> LicenseKey:
    customer = CustomerFactory(vendor=api.vendor, name="Zoë Ünicode", email="z@example.org")
    key = make_key(api.product, max_no_of_machines=3, customer=customer, notes="Ünïcode ✓",
                   allowed_machines="vip")
    Activation.objects.create(key=key, machine_code="old", ip="192.0.2.5",
                              friendly_name="Büro")
    DataObject.objects.create(key=key, name="usage", string_value="a,b", int_value=7)
    return key


# --- StringSign ----------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["Activate", "GetKey"])
@pytest.mark.parametrize("model_version", [1, 3])
@pytest.mark.parametrize("sign_method", ["1", "StringSign"])
def test_string_sign_verifies_over_the_decoded_license_bytes(api, key, method, model_version,
                                                            sign_method):
    body = api.call(method, key, Sign="True", SignMethod=sign_method, MachineCode="pc",
                    ModelVersion=model_version)

    payload = base64.b64decode(body["licenseKey"])
    assert verify(api.public_key, body["signature"], payload)
    assert json.loads(payload.decode("utf-8"))["Key"] == key.key


def test_string_sign_signature_is_2048_bits(api, key):
    body = api.call("GetKey", key, Sign="True", SignMethod=1)
    assert len(base64.b64decode(body["signature"])) == 256
    assert api.public_key.key_size == 2048


def test_string_sign_does_not_verify_with_another_vendors_key(api, key):
    other = load_public_key(make_vendor("Other").signing_key.public_key_pem)
    body = api.call("GetKey", key, Sign="True", SignMethod=1)
    assert not verify(other, body["signature"], base64.b64decode(body["licenseKey"]))


def test_string_sign_breaks_when_one_byte_changes(api, key):
    body = api.call("GetKey", key, Sign="True", SignMethod=1)
    payload = base64.b64decode(body["licenseKey"])
    tampered = payload.replace(b'"MaxNoOfMachines":3', b'"MaxNoOfMachines":9')
    assert tampered != payload
    assert not verify(api.public_key, body["signature"], tampered)


def test_hidden_fields_are_signed_as_hidden(api, key):
    body = api.call("Activate", key, Sign="True", SignMethod=1, MachineCode="pc",
                    FieldsToReturn=8 | 64)
    payload = base64.b64decode(body["licenseKey"])
    assert verify(api.public_key, body["signature"], payload)
    decoded = json.loads(payload)
    assert decoded["Notes"] is None
    assert [m["Mid"] for m in decoded["ActivatedMachines"]] == ["pc"]


# --- Metadata ------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["Activate", "GetKey"])
def test_metadata_signature_verifies_with_sha512(api, key, method):
    body = api.call(method, key, Sign="True", SignMethod=1, MachineCode="pc", Metadata="true")

    metadata = body["metadata"]
    envelope = json.loads(base64.b64decode(metadata["signature"]))
    assert set(envelope) == {"Data", "Signature", "Date", "Version"}
    assert isinstance(envelope["Date"], int) and isinstance(envelope["Version"], int)
    data = base64.b64decode(envelope["Data"])
    assert verify(api.public_key, envelope["Signature"], data, hashes.SHA512())
    assert not verify(api.public_key, envelope["Signature"], data)  # not SHA-256

    signed = json.loads(data)
    assert signed["ActivatedMachines"] == metadata["activatedMachines"]
    assert signed["LicenseStatus"]["IsValid"] == metadata["licenseStatus"]["isValid"]
    assert signed["UsedFloatingMachines"] == metadata["usedFloatingMachines"]


def test_metadata_counts_devices_and_floating_seats(api, key):
    for code in ("f-1", "f-2"):
        api.call("Activate", key, MachineCode=code, FloatingTimeInterval=60)

    body = api.call("GetKey", key, Metadata="true", FloatingTimeInterval=60)

    assert body["metadata"]["activatedMachines"] == 1  # the node-locked "old"
    assert body["metadata"]["usedFloatingMachines"] == 2


def test_metadata_of_a_blocked_key_says_blocked(api, key):
    LicenseKey.objects.filter(pk=key.pk).update(block=True)
    status = api.call("GetKey", key, Metadata="true")["metadata"]["licenseStatus"]
    assert (status["isValid"], status["reasonForInvalidity"]) == (False, 2)


@pytest.mark.parametrize(("period", "days_ago", "status"), [
    (0, 400, (True, 0)),  # period 0: no time limit, whatever the date says
    (30, 40, (False, 1)),  # expired ten days ago
    (30, 10, (True, 0)),
])
def test_metadata_says_expired_only_for_a_key_with_a_time_limit(api, key, period, days_ago,
                                                                  status):
    created = timezone.now() - dt.timedelta(days=days_ago)
    LicenseKey.objects.filter(pk=key.pk).update(
        period=period, created=created, expires=created + dt.timedelta(days=period))

    metadata = api.call("GetKey", key, Metadata="true")["metadata"]["licenseStatus"]

    assert (metadata["isValid"], metadata["reasonForInvalidity"]) == status
    key.refresh_from_db()
    assert key.is_expired == (not status[0])  # what the portals show


# --- LinqSign ------------------------------------------------------------------------------


@pytest.mark.parametrize("sign_method", ["0", "LinqSign", "linqsign"])
@pytest.mark.parametrize("method", ["Activate", "GetKey"])
def test_linq_sign_verifies_over_the_utf16_string(api, key, sign_method, method):
    body = api.call(method, key, Sign="true", SignMethod=sign_method, MachineCode="pc",
                    ModelVersion=3)

    obj = body["licenseKey"]
    assert isinstance(obj, dict)
    text = linq_signed_string(obj)
    assert verify(api.public_key, obj["signature"], text.encode("utf-16-le"))
    assert not verify(api.public_key, obj["signature"], text.encode("utf-8"))


def test_linq_sign_object_is_camel_case_with_net_dates(api, key):
    obj = api.call("Activate", key, Sign="true", SignMethod=0, MachineCode="pc")["licenseKey"]

    assert (obj["productId"], obj["id"], obj["key"], obj["globalId"]) == (
        api.product.pk, key.serial, key.key, key.pk)
    assert obj["created"] == key.created.strftime("%Y-%m-%dT%H:%M:%S")
    assert obj["expires"] == key.expires.strftime("%Y-%m-%dT%H:%M:%S")
    assert [m["mid"] for m in obj["activatedMachines"]] == ["old", "pc"]
    assert obj["signature"]


def test_linq_signed_string_covers_every_signed_value(api, key):
    obj = api.call("Activate", key, Sign="true", SignMethod=0, MachineCode="pc")["licenseKey"]
    created = key.customer.created.strftime("%Y-%m-%dT%H:%M:%S")
    machines = "".join(f"{m['mid']},{m['ip']},{m['time']}," for m in obj["activatedMachines"])
    data_object = key.data_objects.get()

    assert linq_signed_string(obj) == ",".join([
        str(api.product.pk), str(key.serial), key.key, obj["created"], obj["expires"], "30",
        "False", "False", "False", "False", "False", "False", "False", "False",
        "Ünïcode ✓", "False", str(key.pk),
        f"Zoë Ünicode,z@example.org,ACME,{created}",
        f"[{machines}]",
        "False", "3", "vip",
        f"[{data_object.pk},usage,a,b,7,]",
        obj["signDate"], "",
    ])


def test_unsigned_linq_object_has_no_signature(api, key):
    obj = api.call("GetKey", key, SignMethod=0)["licenseKey"]
    assert obj["key"] == key.key
    assert obj["signature"] is None


DOC_MID = "DE7F0000000000000000000000000000000000000000000000000000000000004080"
DOC_EXAMPLE = {  # Examples/air-gapped/c#/.../ActivationFile20180606.skm, cryptolens-wire.md §1.6
    "productId": 3843, "id": 1, "key": "JJWTE-MVKLR-YQMKD-IFXUV",
    "created": "2018-02-19T00:00:00", "expires": "2018-05-16T00:00:00", "period": 10,
    "f1": True, "f2": True, "f3": False, "f4": False, "f5": False, "f6": False, "f7": False,
    "f8": False, "notes": "POST", "block": False, "globalId": 36760, "customer": None,
    "activatedMachines": [
        {"mid": DOC_MID, "ip": "84.217.198.13", "time": "2018-06-06T09:43:28"},
    ],
    "trialActivation": False, "maxNoOfMachines": 5, "allowedMachines": None,
    "dataObjects": [], "signDate": "2018-06-06T09:43:28", "signature": "ignored",
}
DOC_STRING = ("3843,1,JJWTE-MVKLR-YQMKD-IFXUV,2018-02-19T00:00:00,2018-05-16T00:00:00,10,"
              "True,True,False,False,False,False,False,False,POST,False,36760,,"
              f"[{DOC_MID},84.217.198.13,2018-06-06T09:43:28,],False,5,,[],"
              "2018-06-06T09:43:28,")


def test_linq_signed_string_reproduces_the_documented_example():
    assert linq_signed_string(DOC_EXAMPLE) == DOC_STRING


def test_linq_signed_string_drops_fractional_seconds_as_net_does():
    # The file itself had "time":"2018-06-06T09:43:28.177"; .NET parses it into a DateTime
    # and formats it back without the fraction before hashing.
    machine = {**DOC_EXAMPLE["activatedMachines"][0], "time": "2018-06-06T09:43:28.177"}
    assert linq_signed_string({**DOC_EXAMPLE, "activatedMachines": [machine]}) == DOC_STRING
