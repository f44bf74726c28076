"""The Web API's wire format, through Django's test client: routing, parameters, envelope,
the Web API log, the LicenseKey shapes, seat rules, token locks, GetKeys, data objects and the
log query."""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import json
from dataclasses import dataclass

import pytest
from django.test import Client, override_settings
from django.utils import timezone

from apps.accounts.models import Vendor
from apps.api import errors
from apps.api.registry import METHODS
from apps.audit.log import Actor
from apps.commerce.models import Subscription
from apps.commerce.services import OptionSpec, payment_form_create, stripe_account_save
from apps.licensing import services
from apps.licensing.api_methods import API_METHODS
from apps.licensing.models import (
    AccessToken,
    Activation,
    DataObject,
    LicenseKey,
    LicenseTemplate,
    Product,
)
from apps.licensing.services import token_create
from apps.licensing.services.catalog import customer_secret_reset
from apps.licensing.services.resellers import reseller_add
from apps.usage import states
from apps.usage.models import WebApiLog
from tests.factories import CustomerFactory, ProductFactory, make_key, make_vendor
from tests.licensing.keypool import pooled_signing_keys  # noqa: F401  (autouse: fast RSA keys)

from .user_account_flow import plausible_params

LIMIT_REACHED = "Cannot activate the new device as the limit has been reached."
LICENSE_FIELDS = {
    "ProductId", "ID", "Key", "Created", "Expires", "Period", "F1", "F2", "F3", "F4", "F5",
    "F6", "F7", "F8", "Notes", "Block", "GlobalId", "Customer", "ActivatedMachines",
    "TrialActivation", "MaxNoOfMachines", "AllowedMachines", "DataObjects", "SignDate",
}


@dataclass
class Api:
    client: Client
    vendor: Vendor
    product: Product
    token: str

    def call(self, path: str, *, method: str = "post", token: str | None = None,
             **params) -> dict:
        data = {"token": self.token if token is None else token, **params}
        response = getattr(self.client, method)(path, data)
        assert response.status_code == 200, (path, response.status_code)
        assert response["Content-Type"].startswith("application/json")
        return response.json()

    def ok(self, path: str, **params) -> dict:
        body = self.call(path, **params)
        assert body["result"] == 0, body
        return body

    def error(self, path: str, **params) -> str:
        body = self.call(path, **params)
        assert body["result"] == 1, body
        return body["message"]

    def token_for(self, permissions: list[str], **locks) -> str:
        return token_create(vendor=self.vendor, actor=Actor.for_system("test"), name="scoped",
                            permissions=permissions, **locks)[1]

    def license(self, path: str = "/api/key/Activate", **params) -> dict:
        """Decoded StringSign licenseKey of a successful Activate/GetKey."""
        body = self.ok(path, ProductId=self.product.pk, Sign="true", SignMethod=1, **params)
        return json.loads(base64.b64decode(body["licenseKey"]))


@pytest.fixture
def api(db) -> Api:
    vendor = make_vendor("Wire vendor")
    product = ProductFactory(vendor=vendor)
    token = token_create(vendor=vendor, actor=Actor.for_system("test"), name="all",
                         permissions=API_METHODS)[1]
    return Api(Client(), vendor, product, token)


@pytest.fixture
def key(api) -> LicenseKey:
    return make_key(api.product, max_no_of_machines=2)


# --- Routing and parameters ----------------------------------------------------------------


@pytest.mark.parametrize("path", [
    "/api/key/GetKey", "/api//key/getkey/", "/api/Key/GetKey/", "/API/Key/GetKey",
    "/api//key/activate/", "/api/KEY/ACTIVATE",
])
@pytest.mark.parametrize("method", ["post", "get"])
def test_routing_tolerates_case_and_slashes_and_never_redirects(api, key, path, method):
    response = getattr(api.client, method)(path, {
        "token": api.token, "ProductId": api.product.pk, "Key": key.key, "MachineCode": "pc"})

    assert response.status_code == 200
    assert response.json()["result"] == 0, response.json()


def test_parameter_names_are_case_insensitive(api, key):
    body = api.call("/api/key/GetKey", token="", TOKEN=api.token, productid=api.product.pk,
                    KEY=key.key, sign="TRUE", signmethod="1")
    assert body["result"] == 0, body
    assert body["signature"]


@pytest.mark.parametrize("value, signed", [
    ("True", True), ("true", True), ("1", True),
    ("False", False), ("false", False), ("0", False),
])
def test_booleans_accept_every_spelling(api, key, value, signed):
    body = api.ok("/api/key/GetKey", ProductId=api.product.pk, Key=key.key, Sign=value,
                  SignMethod=1)
    assert bool(body["signature"]) is signed


def test_the_string_none_counts_as_missing(api, key):
    body = api.ok("/api/key/Activate", ProductId=api.product.pk, Key=key.key, MachineCode="pc",
                  FriendlyName="None", FieldsToReturn="None", Metadata="None",
                  FloatingTimeInterval="None", MaxOverdraft="None", Sign="True", SignMethod=1)
    assert "metadata" not in body
    activation = key.activations.get()
    assert (activation.machine_code, activation.friendly_name, activation.floating) == (
        "pc", "", False)


def test_success_envelope(api, key):
    body = api.ok("/api/key/GetKey", ProductId=api.product.pk, Key=key.key)
    assert type(body["result"]) is int
    assert body["message"] == ""


def test_error_envelope(api):
    body = api.call("/api/key/GetKey", ProductId=api.product.pk, Key="AAAAA-AAAAA-AAAAA-AAAAA")
    assert body == {"result": 1, "message": "Could not find the key."}


def test_unknown_method_is_an_error(api):
    body = api.call("/api/key/DoesNotExist", ProductId=api.product.pk)
    assert body["result"] == 1
    assert isinstance(body["message"], str) and body["message"]


@pytest.mark.parametrize("token", [
    "", "None", "%%%not-base64%%%", "WyIxIl0=", base64.b64encode(b'["1","wrong"]').decode(),
    base64.b64encode('["\u00b2","x"]'.encode()).decode(),  # a digit to isdigit(), not to int()
    base64.b64encode(b"\xff\xfe").decode(), base64.b64encode(b"[" * 300).decode(),
])
def test_missing_or_malformed_token_is_unable_to_authenticate(api, key, token):
    assert api.error("/api/key/GetKey", token=token, ProductId=api.product.pk,
                     Key=key.key) == errors.UNABLE_TO_AUTHENTICATE


def test_oversized_token_gets_the_error_envelope(api, key):
    token = base64.b64encode(b"[" * 20_000).decode()
    assert api.error("/api/key/GetKey", token=token, ProductId=api.product.pk,
                     Key=key.key) in (errors.UNABLE_TO_AUTHENTICATE, errors.INCORRECT_INPUT)


def test_revoked_token_is_unable_to_authenticate(api, key):
    token = api.token_for(["key.GetKey"])
    services.token_revoke(token=AccessToken.objects.latest("id"), actor=Actor.for_system("t"))
    assert api.error("/api/key/GetKey", token=token, ProductId=api.product.pk,
                     Key=key.key) == errors.UNABLE_TO_AUTHENTICATE


def test_request_without_token_parameter(api):
    response = api.client.post("/api/key/GetKey", {"ProductId": api.product.pk})
    assert response.status_code == 200
    assert response.json() == {"result": 1, "message": errors.UNABLE_TO_AUTHENTICATE}


def test_non_utf8_body_gives_the_error_envelope(api, key):
    response = api.client.post(
        "/api/key/GetKey",
        b"token=" + api.token.encode() + b"&ProductId=\xff\xfe&Key=\xc3\x28",
        content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200
    assert response.json()["result"] == 1

    response = api.client.post("/api/key/GetKey", b"token=\xff\xfe\xfd",
                               content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200
    assert response.json() == {"result": 1, "message": errors.UNABLE_TO_AUTHENTICATE}


# --- The Web API log -----------------------------------------------------------------------


def test_each_call_writes_one_log_row(api, key):
    api.client.post("/api/key/Activate", {
        "token": api.token, "ProductId": api.product.pk, "Key": key.key, "MachineCode": "pc-9",
        "FriendlyName": "Laptop"}, HTTP_USER_AGENT="Cryptolens.Licensing/4.0")

    log = WebApiLog.objects.get()
    assert (log.vendor, log.method, log.state, log.product_id, log.key) == (
        api.vendor, "key.Activate", states.ACTIVATION_NEW, api.product.pk, key.key)
    assert (log.ip, log.machine_code, log.friendly_name, log.user_agent) == (
        "127.0.0.1", "pc-9", "Laptop", "Cryptolens.Licensing/4.0")


def test_failed_activation_is_logged_with_its_machine_code(api, key):
    api.error("/api/key/Activate", ProductId=api.product.pk, Key="AAAAA-AAAAA-AAAAA-AAAAA",
              MachineCode="pc")
    api.ok("/api/key/GetKey", ProductId=api.product.pk, Key=key.key)

    failed, read = WebApiLog.objects.order_by("id")
    assert (failed.method, failed.machine_code) == ("key.Activate", "pc")
    assert not states.succeeded(failed.state)
    assert failed.state // 100 == 20
    assert (read.method, read.state) == ("key.GetKey", states.VALIDATION_OK)


@override_settings(API_TRUST_X_FORWARDED_FOR=True)
def test_forwarded_for_garbage_never_becomes_the_recorded_ip(api, key):
    # Proxies append to X-Forwarded-For, so its first entry is whatever the caller sent.
    api.client.post("/api/key/Activate", {
        "token": api.token, "ProductId": api.product.pk, "Key": key.key, "MachineCode": "pc",
    }, HTTP_X_FORWARDED_FOR="<script>, 203.0.113.9")

    activation = key.activations.get()
    log = WebApiLog.objects.get()
    for recorded in (activation.ip, log.ip):
        assert recorded is None or ipaddress.ip_address(recorded)


@override_settings(API_TRUST_X_FORWARDED_FOR=True)
def test_forwarded_for_client_address_is_recorded_when_trusted(api, key):
    api.client.post("/api/key/Activate", {
        "token": api.token, "ProductId": api.product.pk, "Key": key.key, "MachineCode": "pc",
    }, HTTP_X_FORWARDED_FOR="203.0.113.9")
    assert WebApiLog.objects.get().ip == "203.0.113.9"


@override_settings(API_TRUST_X_FORWARDED_FOR=True)
def test_forged_forwarded_for_entries_are_ignored(api, key):
    # The trusted proxy appends the address it saw; what the client put before it is forgeable.
    api.client.post("/api/key/Activate", {
        "token": api.token, "ProductId": api.product.pk, "Key": key.key, "MachineCode": "pc",
    }, HTTP_X_FORWARDED_FOR="198.51.100.1, 203.0.113.9")
    assert WebApiLog.objects.get().ip == "203.0.113.9"


# --- LicenseKey shapes ---------------------------------------------------------------------


@pytest.mark.parametrize("model_version, machine_keys", [
    (1, {"Mid", "IP", "Time"}),
    (2, {"Mid", "IP", "Time", "FriendlyName"}),
    (3, {"Mid", "IP", "Time", "FriendlyName", "FloatingExpires"}),
])
def test_model_version_shapes(api, key, model_version, machine_keys):
    Activation.objects.create(key=key, machine_code="old", ip="192.0.2.1")

    license_key = api.license(Key=key.key, MachineCode="pc", ModelVersion=model_version)

    assert [set(m) for m in license_key["ActivatedMachines"]] == [machine_keys] * 2
    assert set(license_key) == LICENSE_FIELDS | ({"Reseller"} if model_version == 3 else set())
    if model_version == 3:
        assert license_key["Reseller"] is None


def test_model_version_defaults_to_1(api, key):
    license_key = api.license(Key=key.key, MachineCode="pc")
    assert set(license_key) == LICENSE_FIELDS
    assert set(license_key["ActivatedMachines"][0]) == {"Mid", "IP", "Time"}


def test_license_key_fields_and_values(api):
    customer = CustomerFactory(vendor=api.vendor)
    key = make_key(api.product, max_no_of_machines=3, customer=customer, notes="n",
                   allowed_machines="vip", features=[False, True] + [False] * 6)
    DataObject.objects.create(key=key, name="usage", string_value="s", int_value=4)

    lk = api.license(Key=key.key, MachineCode="pc", ModelVersion=3)

    assert set(lk) == LICENSE_FIELDS | {"Reseller"}
    assert (lk["ProductId"], lk["ID"], lk["Key"], lk["GlobalId"]) == (
        api.product.pk, key.serial, key.key, key.pk)
    assert (lk["Created"], lk["Expires"], lk["Period"]) == (
        int(key.created.timestamp()), int(key.expires.timestamp()), 30)
    assert [lk[f"F{n}"] for n in range(1, 9)] == [False, True] + [False] * 6
    assert (lk["Notes"], lk["Block"], lk["TrialActivation"]) == ("n", False, False)
    assert (lk["MaxNoOfMachines"], lk["AllowedMachines"]) == (3, "vip")
    assert lk["Customer"] == {"Id": customer.pk, "Name": customer.name,
                              "Email": customer.email, "CompanyName": customer.company_name,
                              "Created": int(customer.created.timestamp())}
    assert lk["DataObjects"] == [{"Id": key.data_objects.get().pk, "Name": "usage",
                                  "StringValue": "s", "IntValue": 4}]
    assert abs(lk["SignDate"] - timezone.now().timestamp()) < 60
    (machine,) = lk["ActivatedMachines"]
    assert (machine["Mid"], machine["IP"], machine["FriendlyName"],
            machine["FloatingExpires"]) == ("pc", "127.0.0.1", "", 0)


def test_activated_machines_is_a_list_holding_the_caller(api, key):
    Activation.objects.create(key=key, machine_code="old")
    license_key = api.license(Key=key.key, MachineCode="pc")
    assert [m["Mid"] for m in license_key["ActivatedMachines"]] == ["old", "pc"]

    read = api.license("/api/key/GetKey", Key=key.key)
    assert [m["Mid"] for m in read["ActivatedMachines"]] == ["old", "pc"]

    empty = make_key(api.product, max_no_of_machines=2)
    assert api.license("/api/key/GetKey", Key=empty.key)["ActivatedMachines"] == []


HIDDEN = {2: "ID", 4: "Key", 8: "Notes", 16: "GlobalId", 32: "Customer",
          128: "AllowedMachines", 256: "MaxNoOfMachines", 512: "DataObjects"}


@pytest.mark.parametrize("bit, field", HIDDEN.items())
def test_fields_to_return_hides_a_field_but_keeps_its_key(api, bit, field):
    key = make_key(api.product, max_no_of_machines=2, customer=CustomerFactory(vendor=api.vendor),
                   notes="secret", allowed_machines="vip")
    DataObject.objects.create(key=key, name="d")

    shown = api.license(Key=key.key, MachineCode="pc")
    hidden = api.license(Key=key.key, MachineCode="pc", FieldsToReturn=bit)

    assert shown[field] is not None
    assert set(hidden) == set(shown)
    assert hidden[field] is None
    assert {k: v for k, v in hidden.items() if k not in (field, "SignDate")} == {
        k: v for k, v in shown.items() if k not in (field, "SignDate")}


def test_hiding_activated_machines_lists_only_the_calling_device(api, key):
    Activation.objects.create(key=key, machine_code="old")
    Activation.objects.create(key=key, machine_code="pc")

    license_key = api.license(Key=key.key, MachineCode="pc", FieldsToReturn=64)

    assert [m["Mid"] for m in license_key["ActivatedMachines"]] == ["pc"]
    all_hidden = api.license(Key=key.key, MachineCode="pc", FieldsToReturn=2**10 - 1)
    assert [m["Mid"] for m in all_hidden["ActivatedMachines"]] == ["pc"]
    assert set(all_hidden) == LICENSE_FIELDS


# --- Seat rules ----------------------------------------------------------------------------


def test_unlocked_key_records_no_activation(api):
    key = make_key(api.product, max_no_of_machines=0)

    for code in ("a", "b", "c"):
        license_key = api.license(Key=key.key, MachineCode=code)
        assert code in [m["Mid"] for m in license_key["ActivatedMachines"]]

    assert not Activation.objects.exists()
    assert WebApiLog.objects.filter(state=states.ACTIVATION_NOT_NODE_LOCKED).count() == 3


def test_automatic_activation_off_lets_only_known_devices_in(api):
    key = make_key(api.product, max_no_of_machines=5, automatic_activation=False)
    Activation.objects.create(key=key, machine_code="known")

    api.license(Key=key.key, MachineCode="known")
    assert api.error("/api/key/Activate", ProductId=api.product.pk, Key=key.key,
                     MachineCode="new") == LIMIT_REACHED
    assert list(key.activations.values_list("machine_code", flat=True)) == ["known"]


def test_allowed_machines_get_in_beyond_the_limit(api):
    key = make_key(api.product, max_no_of_machines=1, allowed_machines="vip-1\nvip-2")
    api.license(Key=key.key, MachineCode="first")

    assert api.error("/api/key/Activate", ProductId=api.product.pk, Key=key.key,
                     MachineCode="stranger") == LIMIT_REACHED
    license_key = api.license(Key=key.key, MachineCode="vip-2")

    assert [m["Mid"] for m in license_key["ActivatedMachines"]] == ["first", "vip-2"]
    assert WebApiLog.objects.filter(state=states.ACTIVATION_ALLOWED_MACHINE).count() == 1


def test_trial_activation_starts_the_countdown_at_each_new_device(api):
    key = make_key(api.product, max_no_of_machines=2, period=10, trial_activation=True)
    LicenseKey.objects.filter(pk=key.pk).update(
        expires=timezone.now() - dt.timedelta(days=100))

    license_key = api.license(Key=key.key, MachineCode="pc")

    key.refresh_from_db()
    expected = timezone.now() + dt.timedelta(days=10)
    assert abs(key.expires - expected) < dt.timedelta(minutes=1)
    assert license_key["Expires"] == int(key.expires.timestamp())

    first_expiry = key.expires
    api.license(Key=key.key, MachineCode="pc")  # a known device restarts nothing
    key.refresh_from_db()
    assert key.expires == first_expiry


# --- Token locks ---------------------------------------------------------------------------


def test_product_locked_token(api, key):
    other = ProductFactory(vendor=api.vendor)
    other_key = make_key(other)
    token = api.token_for(["key.GetKey"], product=other)

    assert api.error("/api/key/GetKey", token=token, ProductId=api.product.pk,
                     Key=key.key) == errors.KEY_LOCKED
    assert api.call("/api/key/GetKey", token=token, ProductId=other.pk,
                    Key=other_key.key)["result"] == 0


def test_key_locked_token(api, key):
    other_key = make_key(api.product)
    token = api.token_for(["key.GetKey", "data.ListDataObjectsToKey"], locked_key=key)

    for method in ("/api/key/GetKey", "/api/data/ListDataObjectsToKey"):
        assert api.error(method, token=token, ProductId=api.product.pk,
                         Key=other_key.key) == errors.KEY_LOCKED
        assert api.call(method, token=token, ProductId=api.product.pk,
                        Key=key.key)["result"] == 0


def test_another_vendors_product_is_not_found(api):
    other_product = ProductFactory(vendor=make_vendor("Other"))
    other_key = make_key(other_product)
    assert api.error("/api/key/GetKey", ProductId=other_product.pk,
                     Key=other_key.key) == errors.PRODUCT_NOT_FOUND


# --- GetKeys -------------------------------------------------------------------------------


@pytest.fixture
def catalogue(api) -> dict[str, LicenseKey]:
    keys = {
        "blocked": make_key(api.product, block=True),
        "f1": make_key(api.product, features=[True] + [False] * 7),
        "used": make_key(api.product, max_no_of_machines=1),
        "noted": make_key(api.product, notes="has an x inside"),
    }
    Activation.objects.create(key=keys["used"], machine_code="pc")
    return keys


@pytest.mark.parametrize("query, expected", [
    ("Block = true", ["blocked"]),
    ("F1 = true", ["f1"]),
    ("ActivatedMachines.Count() > 0", ["used"]),
    ('Notes.Contains("x")', ["noted"]),
    ("block = false and f1 = false", ["used", "noted"]),
    ("", ["blocked", "f1", "used", "noted"]),
])
def test_get_keys_search_query(api, catalogue, query, expected):
    body = api.ok("/api/product/GetKeys", ProductId=api.product.pk, SearchQuery=query)
    assert [k["key"] for k in body["licenseKeys"]] == [catalogue[n].key for n in expected]
    assert (body["returned"], body["total"], body["pageCount"]) == (
        len(expected), len(expected), 1)


def test_get_keys_order_by(api, catalogue):
    body = api.ok("/api/product/GetKeys", ProductId=api.product.pk, OrderBy="ID descending")
    assert [k["id"] for k in body["licenseKeys"]] == [4, 3, 2, 1]
    body = api.ok("/api/product/GetKeys", ProductId=api.product.pk, OrderBy="F1 descending")
    assert body["licenseKeys"][0]["key"] == catalogue["f1"].key


@pytest.mark.parametrize("params", [
    {"SearchQuery": "Foo = 1"}, {"SearchQuery": "Block ~ true"},
    {"SearchQuery": "Notes.Contains(x)"}, {"SearchQuery": "Block = true and"},
    {"OrderBy": "Nothing ascending"}, {"OrderBy": "ID sideways"},
])
def test_get_keys_bad_query_is_incorrect_input(api, catalogue, params):
    assert api.error("/api/product/GetKeys", ProductId=api.product.pk,
                     **params) == errors.INCORRECT_INPUT


# --- Data objects --------------------------------------------------------------------------


def test_data_objects_lifecycle(api, key):
    base = {"ProductId": api.product.pk, "Key": key.key}
    created = api.ok("/api/data/AddDataObjectToKey", **base, Name="credits", IntValue=5,
                     StringValue="s")
    obj = DataObject.objects.get(pk=created["id"])
    assert (obj.key, obj.name, obj.int_value, obj.string_value) == (key, "credits", 5, "s")

    listed = api.ok("/api/data/ListDataObjectsToKey", **base)["dataObjects"]
    assert listed == [{"id": obj.pk, "name": "credits", "stringValue": "s", "intValue": 5}]

    api.ok("/api/data/IncrementIntValueToKey", **base, Id=obj.pk, IntValue=3)
    obj.refresh_from_db()
    assert obj.int_value == 8
    assert api.error("/api/data/IncrementIntValueToKey", **base, Id=obj.pk, IntValue=3,
                     EnableBound="true", Bound=10) == "The bound was reached."
    obj.refresh_from_db()
    assert obj.int_value == 8
    api.ok("/api/data/IncrementIntValueToKey", **base, Id=obj.pk, IntValue=2,
           EnableBound="true", Bound=10)

    api.ok("/api/data/DecrementIntValueToKey", **base, Name="credits", IntValue=4)
    obj.refresh_from_db()
    assert obj.int_value == 6

    api.ok("/api/data/RemoveDataObjectToKey", **base, Id=obj.pk)
    assert not DataObject.objects.filter(pk=obj.pk).exists()
    assert api.ok("/api/data/ListDataObjectsToKey", **base)["dataObjects"] == []

    logged = WebApiLog.objects.filter(method__startswith="data.").order_by("id")
    assert [log.state for log in logged] == [
        states.DATA_OBJECT_CHANGED, states.OTHER_OK, states.DATA_OBJECT_CHANGED,
        states.DATA_OBJECT_FAILED, states.DATA_OBJECT_CHANGED, states.DATA_OBJECT_CHANGED,
        states.DATA_OBJECT_CHANGED, states.OTHER_OK]


# --- GetWebAPILog --------------------------------------------------------------------------


@pytest.fixture
def log_rows(api, key) -> list[WebApiLog]:
    """Five log rows: activations of pc-1 (new, known), pc-2 (friendly "Office PC"), pc-3
    (refused) and a GetKey, in that order."""
    activate = {"ProductId": api.product.pk, "Key": key.key}
    api.ok("/api/key/Activate", **activate, MachineCode="pc-1")
    api.ok("/api/key/Activate", **activate, MachineCode="pc-1")
    api.ok("/api/key/Activate", **activate, MachineCode="pc-2", FriendlyName="Office PC")
    api.error("/api/key/Activate", **activate, MachineCode="pc-3")
    api.ok("/api/key/GetKey", **activate)
    return list(WebApiLog.objects.order_by("id"))


def _log(api: Api, **params) -> list[dict]:
    return api.ok("/api/ai/GetWebAPILog", **params)["logs"]


def test_web_api_log_lists_in_id_order(api, log_rows):
    logs = _log(api)
    assert [entry["id"] for entry in logs] == [row.pk for row in log_rows]
    assert [entry["state"] for entry in logs] == [
        states.ACTIVATION_NEW, states.ACTIVATION_EXISTING, states.ACTIVATION_NEW,
        states.ACTIVATION_LIMIT, states.VALIDATION_OK]


def test_web_api_log_filters(api, key, log_rows):
    ids = [row.pk for row in log_rows]
    # Each GetWebAPILog call is logged too: bound the queries to the rows made above. With
    # EndingBefore the order is "Id descending" unless OrderBy says otherwise (Cryptolens'
    # GetWebAPILog page), so the cases below that expect ascending ids ask for it.
    upto = {"EndingBefore": ids[-1] + 1, "OrderBy": "Id ascending"}

    assert [e["id"] for e in _log(api, States="[2010, 1010]", **upto)] == [ids[1], ids[4]]
    assert [e["id"] for e in _log(api, MachineCode="pc-1", **upto)] == ids[:2]
    assert [e["id"] for e in _log(api, FriendlyName="office", **upto)] == [ids[2]]
    assert [e["id"] for e in _log(api, Limit=2, **upto)] == ids[:2]
    assert [e["id"] for e in _log(api, StartingAfter=ids[2], **upto)] == ids[3:]
    assert [e["id"] for e in _log(api, EndingBefore=ids[2])] == [ids[1], ids[0]]
    assert [e["id"] for e in _log(api, EndingBefore=ids[-1] + 1, Limit=2)] == [ids[4], ids[3]]
    assert [e["id"] for e in _log(api, EndingBefore=ids[-1] + 1)] == ids[::-1]
    assert [e["id"] for e in _log(api, ProductId=api.product.pk, Key=key.key, **upto)] == ids
    assert api.error("/api/ai/GetWebAPILog", States="not json") == errors.INCORRECT_INPUT


def test_web_api_log_of_a_key_locked_token_shows_only_that_key(api, key, log_rows):
    other = make_key(api.product)
    api.ok("/api/key/GetKey", ProductId=api.product.pk, Key=other.key)
    token = api.token_for(["ai.GetWebAPILog"], locked_key=other)

    logs = api.ok("/api/ai/GetWebAPILog", token=token)["logs"]

    assert [e["key"] for e in logs] == [other.key]


def test_web_api_log_is_per_vendor(api, log_rows):
    stranger = make_vendor("Stranger")
    token = token_create(vendor=stranger, actor=Actor.for_system("test"), name="t",
                         permissions=["ai.GetWebAPILog"])[1]
    assert api.ok("/api/ai/GetWebAPILog", token=token)["logs"] == []


# --- API reference page --------------------------------------------------------------------


def test_reference_page_lists_every_method_and_error(client, db):
    response = client.get("/docs/api/")

    assert response.status_code == 200
    page = response.content.decode()
    for method in METHODS.values():
        assert method.path in page, method.name
        for param in method.params:
            assert param.name in page
    for message in (errors.UNABLE_TO_AUTHENTICATE, errors.ACCESS_DENIED,
                    errors.INCORRECT_INPUT, errors.PRODUCT_NOT_FOUND, errors.KEY_NOT_FOUND,
                    errors.KEY_LOCKED, LIMIT_REACHED,
                    "The key is blocked and cannot be accessed."):
        assert message in page


def test_every_token_permission_allows_a_registered_method():
    allowed = {permission for m in METHODS.values() for permission in m.permissions}
    assert allowed == set(API_METHODS)


def test_every_method_but_userauth_is_its_own_permission():
    """Cryptolens gives each method a checkbox, except user authentication (two levels) and
    UploadValuesToKey, which the increment or decrement permission allows too (.NET docs)."""
    for method in METHODS.values():
        if method.name == "data.UploadValuesToKey":
            assert method.permissions[0] == method.name
        elif method.controller != "userauth":
            assert method.permissions == (method.name,), method.name
        else:
            assert set(method.permissions) <= {"userauth.UserAuthNormal",
                                               "userauth.UserAuthAdmin"}, method.name
            assert "userauth.UserAuthAdmin" in method.permissions, method.name


def test_create_key_with_no_of_keys_returns_every_key(api):
    body = api.ok("/api/key/CreateKey", ProductId=api.product.pk, NoOfKeys=3)
    assert len(body["keys"]) == 3 and body["key"] == body["keys"][0]
    assert set(LicenseKey.objects.filter(product=api.product).values_list("key", flat=True)) \
        == set(body["keys"])


# --- Key management details ----------------------------------------------------------------


def test_extend_license_of_an_expired_key_counts_from_today(api, key):
    LicenseKey.objects.filter(pk=key.pk).update(expires=timezone.now() - dt.timedelta(days=50))

    api.ok("/api/key/ExtendLicense", ProductId=api.product.pk, Key=key.key, NoOfDays=5)

    key.refresh_from_db()
    assert abs(key.expires - (timezone.now() + dt.timedelta(days=5))) < dt.timedelta(minutes=1)


def test_create_key_for_another_vendors_customer_is_refused(api):
    stranger = CustomerFactory(vendor=make_vendor("Stranger"))
    assert api.error("/api/key/CreateKey", ProductId=api.product.pk,
                     CustomerId=stranger.pk) == "Could not find the customer."
    assert not LicenseKey.objects.exists()


def test_create_key_add_or_use_existing_customer_reuses_by_email(api):
    existing = CustomerFactory(vendor=api.vendor, email="same@example.org")

    body = api.ok("/api/key/CreateKey", ProductId=api.product.pk,
                  AddOrUseExistingCustomer="True", Email="SAME@example.org", Name="Dup")

    assert body["customerId"] == existing.pk
    assert LicenseKey.objects.get(key=body["key"]).customer == existing


def test_create_key_with_new_customer_needs_the_add_customer_permission(api):
    token = api.token_for(["key.CreateKey"])
    assert api.error("/api/key/CreateKey", token=token, ProductId=api.product.pk,
                     NewCustomer="True", Name="X") == errors.ACCESS_DENIED
    assert not LicenseKey.objects.exists()


def test_change_customer_to_an_unknown_customer_detaches(api):
    key = make_key(api.product, customer=CustomerFactory(vendor=api.vendor))
    body = api.ok("/api/key/ChangeCustomer", ProductId=api.product.pk, Key=key.key,
                  CustomerId=999999)
    assert body["message"] == errors.CUSTOMER_DETACHED
    key.refresh_from_db()
    assert key.customer is None


def _payment_params(api: Api, key: LicenseKey, name: str) -> dict:
    """A vendor selling through Stripe: a payment form, and the key's metered subscription."""
    system = Actor.for_system("test")
    stripe_account_save(vendor=api.vendor, actor=system, secret_key="sk_test_wire1234",
                        webhook_secret="whsec_wire12345")
    template = LicenseTemplate.objects.create(product=api.product, name="Sold")
    if name == "paymentform.CreateSession":
        form = payment_form_create(vendor=api.vendor, actor=system, template=template,
                                   title="Buy", currency="usd",
                                   options=[OptionSpec("1 seat", 4900)])
        return {"PaymentFormId": form.pk, "Currency": "USD", "Expires": 3600, "Price": "12.5"}
    Subscription.objects.create(vendor=api.vendor, subscription_id="sub_wire", key=key,
                                stripe_customer_id="cus_wire", meter_event_name="api_calls",
                                item_id="si_wire")
    return {"ProductId": api.product.pk, "Key": key.key, "Amount": 3}


def _call_params(api: Api, key: LicenseKey, name: str) -> dict:
    """Plausible input for every registered method: each must answer result 0 with it."""
    base = {"ProductId": api.product.pk, "Key": key.key}
    machine = {**base, "MachineCode": "machine-1"}
    obj = DataObject.objects.get_or_create(key=key, name="counter")[0]
    system = Actor.for_system("test")
    if name in ("auth.GetChallenge", "auth.GetToken", "user.GetLicenseKeys"):
        # User account authorization: a person of the key's customer approved an application.
        return plausible_params(name, token=api.token, customer=key.customer)
    if name in ("paymentform.CreateSession", "subscription.RecordUsage"):
        return _payment_params(api, key, name)
    if name == "key.CreateKeyFromTemplate":
        template = LicenseTemplate.objects.create(product=api.product, name="Wire template")
        return {"LicenseTemplateId": template.pk}
    if name == "customer.GetCustomerLicensesBySecret":
        return {"Secret": customer_secret_reset(customer=key.customer, actor=system)}
    if name in ("reseller.EditReseller", "reseller.RemoveReseller"):
        reseller = reseller_add(vendor=api.vendor, actor=system, name="R")
        return {"ResellerId": reseller.pk, "Name": "R2"}
    if name.startswith("data.") and name.endswith("ToMachineCode"):
        machine_obj = DataObject.objects.create(
            vendor=api.vendor, referencer_type=DataObject.MACHINE_CODE, machine_key=key,
            machine_code="machine-1", name="m")
        return {**machine, "Id": machine_obj.pk, "Name": "m2", "IntValue": 1,
                "StringValue": "s"}
    if name.startswith("userauth."):
        services.app_user_register(vendor=api.vendor, actor=system, username="ann",
                                   password="pw-123456", customer=key.customer)
    if name in ("message.RemoveMessage",):
        message = services.message_create(vendor=api.vendor, actor=system, content="Hi")
        return {"Id": message.pk}
    return {
        "key.Activate": {**base, "MachineCode": "pc", "Sign": "True", "SignMethod": 1},
        "sdk.SignApplication": {**base, "MachineCode": "dev-pc", "Fingerprint": "ab" * 32,
                                "ApplicationName": "app.py"},
        "key.Deactivate": {**base, "MachineCode": "machine-1"},
        "key.GetKey": {**base, "Sign": "True", "SignMethod": 1, "Metadata": "True"},
        "key.CreateKey": {"ProductId": api.product.pk, "NewCustomer": "True", "Name": "N"},
        "key.CreateTrialKey": {"ProductId": api.product.pk, "MachineCode": "trial"},
        "key.BlockKey": base, "key.UnblockKey": base,
        "key.ExtendLicense": {**base, "NoOfDays": 3},
        "key.MachineLockLimit": {**base, "NumberOfMachines": 4},
        "key.ChangeNotes": {**base, "Notes": "changed"},
        "key.ChangeCustomer": {**base, "CustomerId": 0},
        "key.ChangeReseller": {**base, "ResellerId": 0},
        "key.AddFeature": {**base, "Feature": 2}, "key.RemoveFeature": {**base, "Feature": 2},
        "key.TrialActivation": {**base, "Enabled": "true"},
        "auth.KeyLock": base,
        "customer.AddCustomer": {"Name": "C", "Email": "c@example.org"},
        "customer.EditCustomer": {"CustomerId": key.customer_id, "Name": "E"},
        "customer.RemoveCustomer": {"CustomerId": key.customer_id},
        "customer.GetCustomers": {},
        "customer.GetCustomerLicenses": {"CustomerId": key.customer_id},
        "reseller.AddReseller": {"Name": "R"}, "reseller.GetResellers": {},
        "product.GetProducts": {}, "product.GetKeys": {"ProductId": api.product.pk},
        "data.AddDataObjectToKey": {**base, "Name": "x", "IntValue": 1},
        "data.ListDataObjectsToKey": base,
        "data.RemoveDataObjectToKey": {**base, "Name": "x"},
        "data.SetIntValueToKey": {**base, "Id": obj.pk, "IntValue": 5},
        "data.SetStringValueToKey": {**base, "Id": obj.pk, "StringValue": "s"},
        "data.IncrementIntValueToKey": {**base, "Id": obj.pk, "IntValue": 1},
        "data.DecrementIntValueToKey": {**base, "Id": obj.pk, "IntValue": 1},
        "data.UploadValuesToKey": {**base, "Data": json.dumps([{"Id": obj.pk,
                                                                "Increment": 2}])},
        "data.AddDataObject": {"ReferencerType": 1, "ReferencerId": api.product.pk,
                               "Name": "p"},
        "data.ListDataObjects": {"ReferencerType": 2, "ReferencerId": key.pk},
        "data.RemoveDataObject": {"Id": obj.pk},
        "data.SetIntValue": {"Id": obj.pk, "IntValue": 5},
        "data.SetStringValue": {"Id": obj.pk, "StringValue": "s"},
        "data.IncrementIntValue": {"Id": obj.pk, "IntValue": 1},
        "data.DecrementIntValue": {"Id": obj.pk, "IntValue": 1},
        "message.CreateMessage": {"Content": "Version 2.0 is out", "Channel": "news"},
        "message.GetMessages": {"Channel": "news", "Time": 0},
        "userauth.Login": {"username": "ann", "password": "pw-123456"},
        "userauth.Register": {"username": "bob", "password": "pw-123456"},
        "userauth.Associate": {"username": "ann", "customerid": key.customer_id},
        "userauth.Dissociate": {"username": "ann"},
        "userauth.GetUsers": {},
        "userauth.ChangePassword": {"username": "ann", "OldPassword": "pw-123456",
                                    "NewPassword": "pw-654321"},
        "userauth.ResetPasswordToken": {"username": "ann"},
        "userauth.RemoveUser": {"username": "ann"},
        "ai.RegisterEvent": {**base, "EventName": "start"},
        "ai.RegisterEvents": {**base, "Events": '[{"EventName": "start"}]'},
        "ai.GetEvents": {"ProductId": api.product.pk},
        "ai.GetWebAPILog": {"ProductId": api.product.pk},
        "ai.GetObjectLog": {"ProductId": api.product.pk},
        "ai.GetKeyDevices": {"ProductId": api.product.pk},
        "ai.GetKeyUsageSummaries": {"ProductId": api.product.pk},
        "ai.GetDailyAggregates": {"ProductId": api.product.pk},
        "ai.GetDailyCountryAggregates": {"ProductId": api.product.pk},
        "ai.GetLicenseActivityBuckets": {"ProductId": api.product.pk},
    }[name]


@pytest.mark.parametrize("name", sorted(m.name for m in METHODS.values()))
def test_every_method_succeeds_with_plausible_input(api, name):
    key = make_key(api.product, max_no_of_machines=2, customer=CustomerFactory(vendor=api.vendor))
    Activation.objects.create(key=key, machine_code="machine-1")
    params = _call_params(api, key, name)
    if name == "data.RemoveDataObjectToKey":
        DataObject.objects.create(key=key, name="x")
    controller, method = name.split(".")

    body = api.call(f"/api/{controller}/{method}", **params)

    assert body["result"] == 0, body
    assert WebApiLog.objects.filter(method=name).count() == 1


def test_a_call_refused_for_a_missing_permission_is_logged_as_a_failure(api, key):
    _, narrow = token_create(vendor=api.vendor, actor=Actor.for_system("test"), name="narrow",
                             permissions=["key.GetKey"])
    body = api.call("/api/key/Activate", token=narrow, ProductId=api.product.pk, Key=key.key,
                    MachineCode="pc")

    assert body == {"result": 1, "message": errors.ACCESS_DENIED}
    log = WebApiLog.objects.get()
    assert (log.method, log.state) == ("key.Activate", 2020)
    assert not key.activations.exists()


def test_a_nul_byte_in_a_parameter_is_incorrect_input(api, key):
    body = api.call("/api/key/Activate", ProductId=api.product.pk, Key=key.key,
                    MachineCode="pc\x00evil")
    assert body == {"result": 1, "message": errors.INCORRECT_INPUT}
    assert not key.activations.exists()


def test_too_many_fields_get_the_error_envelope_not_a_400_page(api, key):
    data = {f"p{n}": "x" for n in range(1200)}
    response = api.client.post("/api/key/GetKey", {"token": api.token, **data})
    assert response.status_code == 200
    assert response.json() == {"result": 1, "message": errors.INCORRECT_INPUT}


def test_extending_past_the_year_9999_is_refused_cleanly(api, key):
    for _ in range(80):
        body = api.call("/api/key/ExtendLicense", ProductId=api.product.pk, Key=key.key,
                        NoOfDays=36500)
        if body["result"]:
            break
    assert body["message"] == "The expiry date would be past the year 9999."
