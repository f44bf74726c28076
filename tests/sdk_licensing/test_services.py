"""apps.sdk_licensing.services: signing takes a developer-machine seat with Activate's rule;
revocation refuses new signatures and frees the seat."""

from __future__ import annotations

import base64
import datetime as dt
import json

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from django.utils import timezone

from apps.audit.log import Actor
from apps.audit.models import ObjectLogEntry
from apps.core.errors import DomainError
from apps.licensing.license_payload import HIDE_CUSTOMER, HIDE_NOTES
from apps.licensing.models import Activation, Customer
from apps.licensing.services.seats import Device
from apps.licensing.signing import load_public_key
from apps.sdk_licensing import services
from apps.sdk_licensing.certificates import CONTEXT, Application
from apps.sdk_licensing.models import DeveloperMachine, SdkCertificate
from tests.factories import ProductFactory, make_key, make_vendor

pytestmark = pytest.mark.django_db
ACTOR = Actor.for_system("test")
APP = Application("app.py", "ab" * 32)


def sign(key, machine="dev-1", application=APP, **options):
    signed = services.sdk_application_sign(key=key, device=Device(machine, "Laptop", "10.0.0.1"),
                                           application=application, actor=ACTOR, **options)
    public = load_public_key(key.product.vendor.signing_key.public_key_pem)
    public.verify(signed.signature, CONTEXT + signed.payload, padding.PKCS1v15(),
                  hashes.SHA256())  # raises if the signature does not match
    return signed, json.loads(signed.payload)


def refusal(key, machine="dev-1", application=APP) -> str:
    with pytest.raises(DomainError) as caught:
        sign(key, machine, application)
    return caught.value.message


@pytest.fixture
def key():
    product = ProductFactory(vendor=make_vendor())
    return make_key(product, max_no_of_machines=2, period=30, notes="internal deal 42")


def test_signing_activates_the_developer_machine_and_records_the_signature(key):
    signed, payload = sign(key)
    assert list(Activation.objects.filter(key=key).values_list("machine_code", flat=True)) == [
        "dev-1"]
    record = SdkCertificate.objects.get(pk=signed.certificate_id)
    assert (record.fingerprint, record.application_name, record.key_string, record.ip) == (
        "ab" * 32, "app.py", key.key, "10.0.0.1")
    assert record.license_expires == key.expires
    assert payload["Id"] == record.pk and payload["ProductId"] == key.product_id
    assert payload["Application"] == {"Name": "app.py", "Fingerprint": "ab" * 32,
                                      "Algorithm": "sha256-files-v1"}
    assert payload["License"]["ID"] == key.serial and payload["TimeLimited"] is True
    # The key string never ships (with the shared signing token it would let anyone sign as
    # this developer), nor the developer machine's address or host name.
    assert payload["License"]["Key"] is None
    (listed,) = payload["License"]["ActivatedMachines"]
    assert (listed["Mid"], listed["IP"], listed["FriendlyName"]) == ("dev-1", "0.0.0.0", "")
    assert "10.0.0.1" not in signed.payload.decode() and "Laptop" not in signed.payload.decode()
    assert signed.activation_state == 2011


def test_the_keys_seats_are_the_developer_machines(key):
    sign(key, "dev-1")
    sign(key, "dev-2")
    assert refusal(key, "dev-3") == ("Cannot activate the new device as the limit has been "
                                     "reached.")
    again, _ = sign(key, "dev-1")  # a machine that holds its seat signs again
    assert again.activation_state == 2010
    assert Activation.objects.filter(key=key).count() == 2
    assert SdkCertificate.objects.count() == 3


def test_the_certificate_lists_only_the_signing_machine(key):
    sign(key, "dev-1")
    _, payload = sign(key, "dev-2")
    assert [m["Mid"] for m in payload["License"]["ActivatedMachines"]] == ["dev-2"]


def test_hidden_fields_stay_out_of_the_certificate(key):
    key.customer = Customer.objects.create(vendor=key.product.vendor, name="Acme",
                                           email="dev@acme.test")
    key.save()
    _, shown = sign(key, "dev-1")
    assert shown["License"]["Customer"]["Name"] == "Acme"
    assert shown["License"]["Notes"] == "internal deal 42"
    _, hidden = sign(key, "dev-1", fields_hidden=HIDE_CUSTOMER | HIDE_NOTES)
    assert hidden["License"]["Customer"] is None and hidden["License"]["Notes"] is None


def test_a_revoked_machine_cannot_sign_and_keeps_its_seat(key):
    sign(key, "dev-1")
    machine = DeveloperMachine.objects.get(machine_code="dev-1")
    assert services.developer_machine_revoke(machine=machine, actor=ACTOR) == 1
    assert machine.revoked
    assert refusal(key, "dev-1") == services.REVOKED
    assert ObjectLogEntry.objects.filter(action="SDK developer machine revoked").count() == 1
    # The seat stays taken: on a one-seat key, no other machine code takes its place.
    key.max_no_of_machines = 1
    key.save()
    assert refusal(key, "DEV-1") == ("Cannot activate the new device as the limit has been "
                                     "reached.")
    # Twice is once.
    assert services.developer_machine_revoke(machine=machine, actor=ACTOR) == 1
    assert ObjectLogEntry.objects.filter(action="SDK developer machine revoked").count() == 1


def test_freeing_a_revoked_machines_seat_lets_another_machine_sign(key):
    key.max_no_of_machines = 1
    key.save()
    sign(key, "dev-1")
    machine = DeveloperMachine.objects.get(machine_code="dev-1")
    services.developer_machine_revoke(machine=machine, actor=ACTOR)
    Activation.objects.get(key=key, machine_code="dev-1").delete()  # the key page's Deactivate
    assert refusal(key, "dev-1") == services.REVOKED
    sign(key, "dev-2")


def test_revocation_is_per_product(key):
    other_product_key = make_key(ProductFactory(vendor=key.product.vendor),
                                 max_no_of_machines=1)
    sign(key, "dev-1")
    sign(other_product_key, "dev-1")
    machine = DeveloperMachine.objects.get(product=key.product, machine_code="dev-1")
    services.developer_machine_revoke(machine=machine, actor=ACTOR)
    assert refusal(key, "dev-1") == services.REVOKED
    sign(other_product_key, "dev-1")  # the other product's SDK still accepts it


def test_control_characters_leave_the_application_name(key):
    _, payload = sign(key, application=Application("\u202egnp.exe\x00\n", "ab" * 32))
    assert payload["Application"]["Name"] == "gnp.exe"
    assert SdkCertificate.objects.get().application_name == "gnp.exe"


def test_a_restored_machine_signs_again(key):
    sign(key, "dev-1")
    machine = DeveloperMachine.objects.get(machine_code="dev-1")
    services.developer_machine_revoke(machine=machine, actor=ACTOR)
    services.developer_machine_restore(machine=machine, actor=ACTOR)
    assert not machine.revoked
    sign(key, "dev-1")
    assert Activation.objects.filter(key=key, machine_code="dev-1").exists()


def test_an_expired_license_is_not_signed(key):
    key.expires = timezone.now() - dt.timedelta(days=1)
    key.save()
    assert refusal(key) == services.EXPIRED
    assert not Activation.objects.exists() and not DeveloperMachine.objects.filter(
        certificates__isnull=False).exists()


def test_an_expired_key_without_time_limit_is_signed(key):
    key.period = 0
    key.expires = timezone.now() - dt.timedelta(days=100)
    key.save()
    signed, payload = sign(key)
    assert payload["TimeLimited"] is False
    assert SdkCertificate.objects.get(pk=signed.certificate_id).license_expires is None


def test_a_blocked_key_gets_activates_refusal(key):
    key.block = True
    key.expires = timezone.now() - dt.timedelta(days=1)
    key.save()
    assert refusal(key) == "The key is blocked and cannot be accessed."


def test_a_key_that_is_not_node_locked_signs_on_any_machine(key):
    key.max_no_of_machines = 0
    key.save()
    for n in range(5):
        sign(key, f"dev-{n}")
    assert not Activation.objects.filter(key=key).exists()
    assert DeveloperMachine.objects.count() == 5 and SdkCertificate.objects.count() == 5


def test_trial_activation_starts_with_the_first_developer_machine(key):
    key.trial_activation = True
    key.period = 10
    key.expires = key.created  # as issued: the countdown has not started
    key.save()
    before = timezone.now()
    _, payload = sign(key)
    expires = dt.datetime.fromtimestamp(payload["License"]["Expires"], dt.UTC)
    assert expires >= before + dt.timedelta(days=10) - dt.timedelta(seconds=1)


@pytest.mark.parametrize(("application", "machine", "message"), [
    (Application("a", "xyz"), "dev-1", services.BAD_FINGERPRINT),
    (Application("a", "ab" * 31 + "a"), "dev-1", services.BAD_FINGERPRINT),
    (Application("a", "ab" * 32, "sha1-v0"), "dev-1", services.BAD_ALGORITHM),
    (Application("a" * 256, "ab" * 32), "dev-1", services.NAME_TOO_LONG),
    (APP, "", services.NO_MACHINE_CODE),
    (APP, "m" * 129, "The machine code cannot exceed 128 chars in length."),
])
def test_bad_input_is_refused_with_a_clear_message(key, application, machine, message):
    assert refusal(key, machine, application) == message
    assert not Activation.objects.exists() and not SdkCertificate.objects.exists()


def test_an_upper_case_fingerprint_is_stored_in_lower_case(key):
    signed, payload = sign(key, application=Application("a", "AB" * 32))
    assert payload["Application"]["Fingerprint"] == "ab" * 32
    assert base64.b64encode(signed.payload)  # and it was signed
