"""sdk/SignApplication under real concurrency, on PostgreSQL: a developer machine is a seat on
the key (apps.sdk_licensing.services.sdk_application_sign calls key/Activate's rule), so
developers signing at once never get more machines than the key's limit, and one machine
signing many times at once holds one seat and one DeveloperMachine row.

As in test_seat_limits.py: gunicorn runs 4 worker processes x 8 threads against the test
database, each thread with its own persistent connection, warmed up first; the client threads
wait at a barrier and are released together. What keeps the fourth machine off a three-seat
key is the `SELECT ... FOR UPDATE` on the key row in apps/licensing/services/seats.py
(_add_node_locked); what keeps one machine to one DeveloperMachine row is the unique
constraint (product, machine_code) with get_or_create. The machine's row lock
(sdk_application_sign's `_machine_locked`) orders one machine's calls: machine row, then key
row. Without it, one call holds the key row (FOR UPDATE) and waits for the machine row while
another, which updated the machine row, waits at COMMIT for the key row (the deferred foreign
key check of its SdkCertificate takes FOR KEY SHARE on it): PostgreSQL reports a deadlock.
Checked by breaking each, locally: with the key row lock removed (a plain read, then the
write), the 40-machine race gave out 11, 26 and 21 seats in three runs; with the machine row
lock removed, one of the two one-machine tests failed in each of three runs with "The service
is temporarily unavailable" (deadlock detected); with the key's row lock in data_object_create
(`owner._lock()`) removed, 20 parallel AddDataObjectToKey calls with CheckForDuplicates left
2, 3 and 13 objects of one name.

SQLite serialises writers anyway, so these tests skip there."""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from django.db import connection

from apps.audit.log import Actor
from apps.licensing import signing
from apps.licensing.models import Activation, DataObject, LicenseKey, Product
from apps.licensing.services import token_create
from apps.licensing.services.data_objects import DUPLICATE_NAME
from apps.licensing.services.seats import LIMIT_REACHED
from apps.sdk_licensing.models import DeveloperMachine, SdkCertificate
from apps.usage import states
from apps.usage.models import WebApiLog
from tests import servers
from tests.factories import ProductFactory, make_key, make_vendor

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs PostgreSQL row locks: set DATABASE_URL=postgres://... to run",
    ),
]

GUNICORN_WORKERS = 4
GUNICORN_THREADS = 8
CONTEXT = b"licensing-portal sdk-certificate v1\n"
FINGERPRINT = hashlib.sha256(b"the developer's application").hexdigest()


@pytest.fixture(scope="module")
def base_url(django_db_setup, tmp_path_factory) -> Iterator[str]:
    log = tmp_path_factory.mktemp("gunicorn") / "gunicorn.log"
    process, base = servers.start(log, workers=GUNICORN_WORKERS, threads=GUNICORN_THREADS,
                                  timeout=60)
    try:
        servers.wait_until_up(process, base, log)
        yield base
    finally:
        servers.stop(process)


@dataclass
class Setup:
    base_url: str
    token: str
    product: Product
    public_key_pem: str


@pytest.fixture
def setup(base_url, transactional_db) -> Setup:
    vendor = make_vendor("SDK vendor")
    product = ProductFactory(vendor=vendor)
    _, token = token_create(vendor=vendor, actor=Actor.for_system("test"), name="sdk",
                            permissions=["sdk.SignApplication", "key.GetKey"])
    return Setup(base_url, token, product, vendor.signing_key.public_key_pem)


def _post(base_url: str, method: str, data: dict[str, str]) -> dict:
    request = urllib.request.Request(f"{base_url}/api/{method}",
                                     data=urllib.parse.urlencode(data).encode())
    with urllib.request.urlopen(request, timeout=60) as response:
        assert response.status == 200
        return json.loads(response.read())


def _sign_params(setup: Setup, key: LicenseKey, machine_code: str) -> dict[str, str]:
    return {"token": setup.token, "ProductId": str(setup.product.pk), "Key": key.key,
            "MachineCode": machine_code, "Fingerprint": FINGERPRINT,
            "ApplicationName": "app"}


def _together(setup: Setup, method: str, requests: list[dict[str, str]]) -> list[dict]:
    """One thread per request; all wait at a barrier and post at once."""
    barrier = threading.Barrier(len(requests))

    def run(data: dict[str, str]) -> dict:
        barrier.wait(timeout=60)
        return _post(setup.base_url, method, data)

    with ThreadPoolExecutor(max_workers=len(requests)) as pool:
        return list(pool.map(run, requests))


def _warm_up(setup: Setup, key: LicenseKey) -> None:
    """Every gunicorn thread loaded the URLconf and the signing key, and holds a database
    connection, before the race: signed GetKey calls, and signatures on a key without a
    machine limit (no seat, so nothing to clean)."""
    unlimited = make_key(setup.product, max_no_of_machines=0)
    get_key = {"token": setup.token, "ProductId": str(setup.product.pk), "Key": key.key,
               "Sign": "True", "SignMethod": "1"}
    bodies = _together(setup, "key/GetKey", [get_key] * 64)
    bodies += _together(setup, "sdk/SignApplication",
                        [_sign_params(setup, unlimited, "warm-up")] * 32)
    assert all(b["result"] == 0 for b in bodies), bodies[0]


def _certificate(setup: Setup, body: dict) -> dict:
    payload = base64.b64decode(body["certificate"])
    signing.load_public_key(setup.public_key_pem).verify(
        base64.b64decode(body["signature"]), CONTEXT + payload, padding.PKCS1v15(),
        hashes.SHA256())
    return json.loads(payload)


def _logged(key: LicenseKey) -> Counter:
    return Counter(WebApiLog.objects.filter(method="sdk.SignApplication", key=key.key)
                   .values_list("state", flat=True))


def test_40_developers_signing_at_once_get_exactly_the_keys_3_machines(setup):
    key = make_key(setup.product, max_no_of_machines=3)
    codes = [f"developer-{n:02d}" for n in range(40)]
    _warm_up(setup, key)

    bodies = _together(setup, "sdk/SignApplication",
                       [_sign_params(setup, key, code) for code in codes])

    answers = dict(zip(codes, bodies, strict=True))
    winners = {code for code, body in answers.items() if body["result"] == 0}
    refused = [body for body in answers.values() if body["result"] != 0]
    assert len(winners) == 3
    assert refused == [{"result": 1, "message": LIMIT_REACHED}] * 37
    assert set(Activation.objects.filter(key=key).values_list("machine_code", flat=True)) \
        == winners
    certificates = SdkCertificate.objects.filter(key=key)
    assert sorted(certificates.values_list("machine__machine_code", flat=True)) \
        == sorted(winners)
    assert DeveloperMachine.objects.filter(product=setup.product, certificates__key=key) \
        .distinct().count() == 3
    for code in winners:
        cert = _certificate(setup, answers[code])
        assert cert["MachineCode"] == code
        assert [m["Mid"] for m in cert["License"]["ActivatedMachines"]] == [code]
    assert _logged(key) == {states.ACTIVATION_NEW: 3, states.ACTIVATION_LIMIT: 37}


def test_20_signatures_at_once_from_one_machine_hold_one_seat_and_one_machine_row(setup):
    key = make_key(setup.product, max_no_of_machines=3)
    _warm_up(setup, key)

    bodies = _together(setup, "sdk/SignApplication",
                       [_sign_params(setup, key, "the-build-server")] * 20)

    assert [b["result"] for b in bodies] == [0] * 20, [b for b in bodies if b["result"]]
    assert list(Activation.objects.filter(key=key).values_list("machine_code", flat=True)) \
        == ["the-build-server"]
    machines = DeveloperMachine.objects.filter(product=setup.product,
                                               machine_code="the-build-server")
    assert machines.count() == 1
    assert SdkCertificate.objects.filter(key=key, machine=machines.get()).count() == 20
    ids = [b["certificateId"] for b in bodies]
    assert len(set(ids)) == 20
    assert all(_certificate(setup, b)["MachineCode"] == "the-build-server" for b in bodies)
    assert _logged(key) == {states.ACTIVATION_NEW: 1, states.ACTIVATION_EXISTING: 19}


def test_a_machine_known_from_another_key_signs_20_times_at_once_with_one_seat(setup):
    """The machine's row exists already (it signed with another of the product's keys), so
    creating it no longer makes the calls wait for each other: the row locks must."""
    key, earlier = (make_key(setup.product, max_no_of_machines=3) for _ in range(2))
    _warm_up(setup, key)
    assert _post(setup.base_url, "sdk/SignApplication",
                 _sign_params(setup, earlier, "the-build-server"))["result"] == 0

    bodies = _together(setup, "sdk/SignApplication",
                       [_sign_params(setup, key, "the-build-server")] * 20)

    assert [b["result"] for b in bodies] == [0] * 20, [b for b in bodies if b["result"]]
    assert list(Activation.objects.filter(key=key).values_list("machine_code", flat=True)) \
        == ["the-build-server"]
    assert DeveloperMachine.objects.filter(product=setup.product,
                                           machine_code="the-build-server").count() == 1
    assert SdkCertificate.objects.filter(key=key).count() == 20
    assert _logged(key) == {states.ACTIVATION_NEW: 1, states.ACTIVATION_EXISTING: 19}


def test_signers_adding_the_hash_object_at_once_add_one(setup):
    """Cryptolens' AssemblySigner (tests/api/test_cryptolens_sdk_signer_flow.py) adds
    `cryptolens_assemblyhash` with CheckForDuplicates when its Activate answer has none: two
    developers running it at once for the first time must still leave one object on the key
    (the key's row is locked before the duplicate check)."""
    key = make_key(setup.product, max_no_of_machines=0)
    _, token = token_create(vendor=key.product.vendor, actor=Actor.for_system("test"),
                            name="data", permissions=["data.AddDataObjectToKey"],
                            key_lock_required=True)
    _warm_up(setup, key)
    add = {"token": token, "ProductId": str(setup.product.pk), "Key": key.key,
           "Name": "cryptolens_assemblyhash", "StringValue": "", "CheckForDuplicates": "True"}

    bodies = _together(setup, "data/AddDataObjectToKey", [add] * 20)

    added = [b for b in bodies if b["result"] == 0]
    assert len(added) == 1
    assert [b for b in bodies if b["result"] != 0] == [
        {"result": 1, "message": DUPLICATE_NAME}] * 19
    assert list(DataObject.objects.filter(key=key).values_list("pk", flat=True)) == [
        added[0]["id"]]
