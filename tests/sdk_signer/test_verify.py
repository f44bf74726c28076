"""The offline verifier (sdk_signer.verify_certificate) against certificates the portal's
signing code makes (apps.sdk_licensing.certificates): every reason to refuse, and the license
it returns."""

from __future__ import annotations

import base64
import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest
from django.utils import timezone
from sdk_signer import (
    CertificateError,
    KeyFormatError,
    application_fingerprint,
    certificate_path,
    verify_certificate,
)
from sdk_signer.certificate import certificate_file

from apps.licensing.models import Activation
from apps.licensing.signing import fingerprint, public_key_xml
from apps.sdk_licensing.certificates import Application, certificate_payload, sign_payload
from tests.factories import ProductFactory, make_key, make_vendor

pytestmark = pytest.mark.django_db


@pytest.fixture
def setup(tmp_path):
    vendor = make_vendor("SDK vendor")
    product = ProductFactory(vendor=vendor)
    key = make_key(product, period=30, max_no_of_machines=3,
                   features=[False, True, False, False, False, False, False, True])
    key.data_objects.create(name="edition", string_value="pro", int_value=7)
    app = tmp_path / "tool.py"
    app.write_text("print('hi')\n")
    return vendor, product, key, app


def write_certificate(key, app: Path, *, now=None, fingerprint=None, payload_edit=None,
                      signing_vendor=None) -> Path:
    now = now or timezone.now()
    vendor = signing_vendor or key.product.vendor
    machine = Activation(key=key, machine_code="dev-1", friendly_name="Laptop", time=now)
    application = Application(app.name, fingerprint or application_fingerprint(app).value)
    payload = certificate_payload(certificate_id=41, key=key, machine=machine,
                                  application=application, signing_key=vendor.signing_key,
                                  fields_hidden=0, now=now)
    if payload_edit:
        payload_edit(payload)
    data, signature = sign_payload(payload, vendor.signing_key)
    path = certificate_path(app)
    path.write_text(certificate_file(payload=data, signature=signature))
    return path


def public(vendor) -> str:
    return public_key_xml(vendor.signing_key.public_key_pem)


def reason(vendor, app, product_id, **options) -> str:
    with pytest.raises(CertificateError) as caught:
        verify_certificate(public(vendor), app, product_id=product_id, **options)
    return caught.value.reason


def test_a_valid_certificate_returns_the_license(setup):
    vendor, product, key, app = setup
    write_certificate(key, app)
    lic = verify_certificate(public(vendor), app, product_id=product.pk)
    assert (lic.product_id, lic.key, lic.serial) == (product.pk, None, key.serial)
    assert lic.features == (False, True, False, False, False, False, False, True)
    assert lic.has_feature(2) and lic.has_feature(8) and not lic.has_feature(1)
    assert lic.data_object("edition").string_value == "pro"
    assert lic.data_object("edition").int_value == 7
    assert lic.data_object("absent") is None
    assert lic.expires == key.expires.replace(microsecond=0)
    assert lic.time_limited is True
    assert (lic.machine_code, lic.application_name, lic.certificate_id) == ("dev-1", "tool.py",
                                                                            41)
    assert [m["Mid"] for m in lic.raw["ActivatedMachines"]] == ["dev-1"]


def test_the_public_key_may_be_pem(setup):
    vendor, product, key, app = setup
    write_certificate(key, app)
    pem = vendor.signing_key.public_key_pem
    assert verify_certificate(pem, app, product_id=product.pk).serial == key.serial
    with pytest.raises(KeyFormatError):
        verify_certificate("not a key", app, product_id=product.pk)


def test_no_certificate_is_refused(setup):
    vendor, product, _key, app = setup
    assert reason(vendor, app, product.pk) == "missing"


def test_an_edited_license_is_refused(setup):
    vendor, product, key, app = setup
    path = write_certificate(key, app)
    outer = json.loads(path.read_text())
    text = base64.b64decode(outer["Certificate"]).replace(b'"F1":false', b'"F1":true')
    outer["Certificate"] = base64.b64encode(text).decode()
    path.write_text(json.dumps(outer))
    assert reason(vendor, app, product.pk) == "edited"


def test_an_edited_signature_is_refused(setup):
    vendor, product, key, app = setup
    path = write_certificate(key, app)
    outer = json.loads(path.read_text())
    raw = bytearray(base64.b64decode(outer["Signature"]))
    raw[10] ^= 0xFF
    outer["Signature"] = base64.b64encode(bytes(raw)).decode()
    path.write_text(json.dumps(outer))
    assert reason(vendor, app, product.pk) == "edited"


def test_another_vendors_certificate_is_refused_even_when_it_claims_to_be_ours(setup):
    vendor, product, key, app = setup
    other = make_vendor("Other vendor")
    write_certificate(key, app, signing_vendor=other)
    assert reason(vendor, app, product.pk) == "other_vendor"
    # Claiming our fingerprint does not help: the signature is not ours.
    ours = fingerprint(vendor.signing_key.public_key_pem)
    write_certificate(key, app, signing_vendor=other,
                      payload_edit=lambda p: p.update(Vendor=ours))
    assert reason(vendor, app, product.pk) == "edited"


def test_a_certificate_for_another_product_is_refused(setup):
    vendor, product, key, app = setup
    write_certificate(key, app)
    assert reason(vendor, app, product.pk + 1000) == "other_product"


def test_a_changed_application_is_refused(setup):
    vendor, product, key, app = setup
    write_certificate(key, app)
    app.write_text("print('patched')\n")
    assert reason(vendor, app, product.pk) == "application_changed"


def test_another_fingerprint_algorithm_is_refused(setup):
    vendor, product, key, app = setup
    write_certificate(key, app, payload_edit=lambda p: p["Application"].update(
        Algorithm="md5-v0"))
    assert reason(vendor, app, product.pk) == "application_changed"


def test_a_license_that_had_expired_when_signed_is_refused(setup):
    vendor, product, key, app = setup
    write_certificate(key, app, now=key.expires + dt.timedelta(days=1))
    assert reason(vendor, app, product.pk) == "expired_when_signed"


def test_a_certificate_stays_valid_until_its_license_expires(setup):
    vendor, product, key, app = setup
    write_certificate(key, app)
    before_end = key.expires - dt.timedelta(minutes=1)
    assert verify_certificate(public(vendor), app, product_id=product.pk, now=before_end)
    assert reason(vendor, app, product.pk,
                  now=key.expires + dt.timedelta(days=1)) == "license_expired"


def test_a_license_without_time_limit_never_expires(setup):
    vendor, product, key, app = setup
    key.period = 0
    key.save()
    write_certificate(key, app)
    far = timezone.now() + dt.timedelta(days=3650)
    assert verify_certificate(public(vendor), app, product_id=product.pk, now=far).period == 0


def test_the_products_time_limited_feature_decides_whether_expiry_applies(setup):
    vendor, product, key, app = setup
    product.time_limited_feature = 3  # the key does not have F3: not time-limited
    product.save()
    key.refresh_from_db()
    write_certificate(key, app)
    far = key.expires + dt.timedelta(days=400)
    assert verify_certificate(public(vendor), app, product_id=product.pk, now=far)


def test_an_old_certificate_is_refused_when_the_sdk_asks_for_a_recent_one(setup):
    vendor, product, key, app = setup
    write_certificate(key, app, now=timezone.now() - dt.timedelta(days=10))
    assert verify_certificate(public(vendor), app, product_id=product.pk, max_age_days=11)
    assert reason(vendor, app, product.pk, max_age_days=9) == "too_old"


@pytest.mark.parametrize("text", ["", "{not json", '{"Format": "something else"}',
                                  '{"Format": "licensing-portal/sdk-certificate/1", '
                                  '"Certificate": "%%%", "Signature": "AA=="}', "[1, 2]"])
def test_a_file_that_is_no_certificate_is_refused(setup, text):
    vendor, product, _key, app = setup
    certificate_path(app).write_text(text)
    assert reason(vendor, app, product.pk) == "malformed"


def test_a_signed_payload_missing_fields_is_malformed_not_a_crash(setup):
    vendor, product, key, app = setup
    write_certificate(key, app, payload_edit=lambda p: p.pop("License"))
    assert reason(vendor, app, product.pk) == "malformed"


def test_the_certificate_may_lie_elsewhere(setup, tmp_path):
    vendor, product, key, app = setup
    path = write_certificate(key, app)
    moved = tmp_path / "certs" / "tool.cert"
    moved.parent.mkdir()
    path.rename(moved)
    assert reason(vendor, app, product.pk) == "missing"
    assert verify_certificate(public(vendor), app, product_id=product.pk, certificate=moved)


def test_entry_application_names_the_script_or_the_package_run(tmp_path):
    package = tmp_path / "myapp"
    package.mkdir()
    (package / "__init__.py").write_text("")
    probe = "from sdk_signer import entry_application\nprint(entry_application())\n"
    (package / "__main__.py").write_text(probe)
    (tmp_path / "script.py").write_text(probe)
    as_module = subprocess.run([sys.executable, "-m", "myapp"], cwd=tmp_path,
                               capture_output=True, text=True, check=True).stdout.strip()
    as_script = subprocess.run([sys.executable, "script.py"], cwd=tmp_path,
                               capture_output=True, text=True, check=True).stdout.strip()
    assert Path(as_module) == package.resolve()
    assert Path(as_script) == (tmp_path / "script.py").resolve()
    interactive = subprocess.run(
        [sys.executable, "-c", "from sdk_signer import entry_application as e\n"
         "try:\n    e()\nexcept LookupError:\n    print('no application')"],
        capture_output=True, text=True, check=True).stdout.strip()
    assert interactive == "no application"


def test_an_sdk_may_list_the_keys_before_and_after_a_rotation(setup):
    vendor, product, key, app = setup
    write_certificate(key, app)  # signed with the key of the time
    old_public = vendor.signing_key.public_key_pem
    other = make_vendor("Stands for the new key")
    both = [public(other), old_public]
    assert verify_certificate(both, app, product_id=product.pk).serial == key.serial
    with pytest.raises(CertificateError) as caught:
        verify_certificate([public(other)], app, product_id=product.pk)
    assert caught.value.reason == "other_vendor"


@pytest.mark.parametrize("nested", ["outer", "signed part"])
def test_brackets_nested_beyond_reason_are_a_certificate_error(setup, nested):
    vendor, product, _key, app = setup
    deep = ("[" * 100_000).encode()
    text = deep if nested == "outer" else json.dumps(
        {"Format": "licensing-portal/sdk-certificate/1",
         "Certificate": base64.b64encode(deep).decode(), "Signature": "AA=="}).encode()
    certificate_path(app).write_bytes(text)
    assert reason(vendor, app, product.pk) == "malformed"
