"""Issue #20's acceptance, with real processes: the developer's `sdk-sign` (a subprocess)
signs a sample application against a live portal; the SDK's verifier runs in another
process with no network; tampering, another vendor's certificate and a revoked machine are
refused."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from apps.audit.log import Actor
from apps.licensing.models import Activation
from apps.licensing.services import token_create
from apps.licensing.signing import public_key_xml
from apps.sdk_licensing.models import DeveloperMachine, SdkCertificate
from apps.sdk_licensing.services import developer_machine_revoke
from tests.factories import ProductFactory, make_key, make_vendor

pytestmark = pytest.mark.django_db(transaction=True)

# The SDK's side, run in a process of its own: the verifier, and proof that the process
# has no network (a connection to the portal fails).
VERIFIER = textwrap.dedent("""
    import json, socket, sys
    from sdk_signer import CertificateError, verify_certificate
    public_key, application, product_id, portal_port = sys.argv[1:5]
    try:
        socket.create_connection(("127.0.0.1", int(portal_port)), timeout=2).close()
        network = True
    except OSError:
        network = False
    try:
        lic = verify_certificate(public_key, application, product_id=int(product_id))
    except CertificateError as exc:
        print(json.dumps({"network": network, "refused": exc.reason, "message": str(exc)}))
    else:
        print(json.dumps({"network": network, "features": list(lic.features),
                          "id": lic.serial, "expires": lic.expires.isoformat(),
                          "machine": lic.machine_code,
                          "data": {d.name: d.string_value for d in lic.data_objects}}))
""")
# Without network: a network namespace of its own where the system allows it (CI runs as
# root), else sockets are switched off inside the process.
NO_SOCKETS = ("import socket\n"
              "def _off(*a, **k): raise OSError('network is off')\n"
              "socket.create_connection = _off\nsocket.socket.connect = _off\n")


def _isolated() -> list[str]:
    try:
        ok = subprocess.run(["unshare", "-rn", "true"], capture_output=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return []
    return ["unshare", "-rn"] if ok.returncode == 0 else []


def verify_offline(public_key: str, application: Path, product_id: int, port: int) -> dict:
    prefix = _isolated()
    script = VERIFIER if prefix else NO_SOCKETS + VERIFIER
    done = subprocess.run(
        [*prefix, sys.executable, "-c", script, public_key, str(application), str(product_id),
         str(port)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer.pop("network") is False
    return answer


def sign(portal: str, product_id: int, token: str, key: str, application: Path,
         machine: str = "dev-machine-1") -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sdk_signer", "--server", portal, "--product", str(product_id),
         "--token", token, "--key", key, "--machine-code", machine, "--friendly-name",
         "Build laptop", str(application)],
        capture_output=True, text=True, timeout=60, cwd=application.parent)


@pytest.fixture
def vendor_setup(live_server, tmp_path):
    vendor = make_vendor("SDK vendor")
    product = ProductFactory(vendor=vendor, name="Imaging SDK")
    key = make_key(product, max_no_of_machines=2, period=365,
                   features=[True, False, True, False, False, False, False, False])
    key.data_objects.create(name="tier", string_value="gold")
    token = token_create(vendor=vendor, actor=Actor.for_system("test"), name="signer",
                         permissions=["sdk.SignApplication"])[1]
    app = tmp_path / "photo_app"
    (app / "photo_app" / "filters").mkdir(parents=True)
    (app / "photo_app" / "__init__.py").write_text("VERSION = '1.0'\n")
    (app / "photo_app" / "__main__.py").write_text("print('photos')\n")
    (app / "photo_app" / "filters" / "blur.py").write_text("def blur(x):\n    return x\n")
    (app / "logo.png").write_bytes(bytes(range(256)) * 4)
    port = int(live_server.url.rsplit(":", 1)[1])
    return vendor, product, key, token, app, live_server.url, port


def test_signed_application_verifies_offline_with_its_license(vendor_setup):
    vendor, product, key, token, app, portal, port = vendor_setup
    signed = sign(portal, product.pk, token, key.key, app)
    assert signed.returncode == 0, signed.stderr
    certificate = app.with_name("photo_app.license-certificate")
    assert certificate.is_file() and str(certificate) in signed.stdout
    answer = verify_offline(public_key_xml(vendor.signing_key.public_key_pem), app,
                            product.pk, port)
    assert answer["features"] == [True, False, True, False, False, False, False, False]
    assert answer["id"] == key.serial
    assert answer["machine"] == "dev-machine-1"
    assert answer["data"] == {"tier": "gold"}
    assert answer["expires"].startswith(key.expires.date().isoformat())
    # The developer machine holds a seat on the key; the vendor's record has the signature.
    assert list(Activation.objects.filter(key=key).values_list("machine_code", flat=True)) == [
        "dev-machine-1"]
    record = SdkCertificate.objects.get()
    assert (record.key_string, record.application_name, record.machine.friendly_name) == (
        key.key, "photo_app", "Build laptop")


def test_changing_one_byte_of_the_application_is_refused(vendor_setup):
    vendor, product, key, token, app, portal, port = vendor_setup
    assert sign(portal, product.pk, token, key.key, app).returncode == 0
    blur = app / "photo_app" / "filters" / "blur.py"
    blur.write_bytes(blur.read_bytes().replace(b"return x", b"return y"))
    answer = verify_offline(public_key_xml(vendor.signing_key.public_key_pem), app,
                            product.pk, port)
    assert answer["refused"] == "application_changed"


def test_an_edited_certificate_is_refused(vendor_setup):
    vendor, product, key, token, app, portal, port = vendor_setup
    assert sign(portal, product.pk, token, key.key, app).returncode == 0
    path = app.with_name("photo_app.license-certificate")
    outer = json.loads(path.read_text())
    payload = json.loads(base64.b64decode(outer["Certificate"]))
    payload["License"]["F2"] = True  # unlock a feature the license does not have
    outer["Certificate"] = base64.b64encode(json.dumps(payload).encode()).decode()
    path.write_text(json.dumps(outer))
    answer = verify_offline(public_key_xml(vendor.signing_key.public_key_pem), app,
                            product.pk, port)
    assert answer["refused"] == "edited"


def test_a_certificate_signed_by_another_vendors_key_is_refused(vendor_setup, tmp_path):
    vendor, product, _key, _token, app, portal, port = vendor_setup
    # Another vendor sells an SDK too; a developer signs the same application with it...
    other = make_vendor("Other SDK vendor")
    other_product = ProductFactory(vendor=other)
    other_key = make_key(other_product, max_no_of_machines=1)
    other_token = token_create(vendor=other, actor=Actor.for_system("test"), name="signer",
                               permissions=["sdk.SignApplication"])[1]
    assert sign(portal, other_product.pk, other_token, other_key.key, app).returncode == 0
    # ...and that certificate cannot unlock this vendor's SDK, whatever product id it names.
    for product_id in (product.pk, other_product.pk):
        answer = verify_offline(public_key_xml(vendor.signing_key.public_key_pem), app,
                                product_id, port)
        assert answer["refused"] == "other_vendor"


def test_a_certificate_of_another_product_of_the_vendor_is_refused(vendor_setup):
    vendor, product, key, token, app, portal, port = vendor_setup
    assert sign(portal, product.pk, token, key.key, app).returncode == 0
    second_sdk = ProductFactory(vendor=vendor, name="Audio SDK")
    answer = verify_offline(public_key_xml(vendor.signing_key.public_key_pem), app,
                            second_sdk.pk, port)
    assert answer["refused"] == "other_product"


def test_a_revoked_developer_machine_cannot_sign_again(vendor_setup):
    vendor, product, key, token, app, portal, port = vendor_setup
    assert sign(portal, product.pk, token, key.key, app).returncode == 0
    machine = DeveloperMachine.objects.get(machine_code="dev-machine-1")
    assert developer_machine_revoke(machine=machine, actor=Actor.for_system("test")) == 1
    again = sign(portal, product.pk, token, key.key, app)
    assert again.returncode == 1
    assert "revoked" in again.stderr
    assert SdkCertificate.objects.count() == 1
    # What it signed before stays valid (offline), until the license expires.
    answer = verify_offline(public_key_xml(vendor.signing_key.public_key_pem), app,
                            product.pk, port)
    assert answer["machine"] == "dev-machine-1"
    # Its seat stays taken: with the key's second seat, another machine may sign; beyond
    # it, none (a new machine code is no way around a revocation).
    assert sign(portal, product.pk, token, key.key, app, machine="dev-machine-2"
                ).returncode == 0
    third = sign(portal, product.pk, token, key.key, app, machine="DEV-MACHINE-1")
    assert third.returncode == 1 and "limit has been reached" in third.stderr
    assert set(Activation.objects.filter(key=key).values_list("machine_code", flat=True)) == {
        "dev-machine-1", "dev-machine-2"}


def test_a_wheel_is_signed_and_verified_like_the_folder_it_unpacks_to(vendor_setup, tmp_path):
    vendor, product, key, token, app, portal, port = vendor_setup
    wheel = tmp_path / "photo_app-1.0-py3-none-any.whl"
    shutil.make_archive(str(wheel), "zip", app)
    Path(str(wheel) + ".zip").rename(wheel)
    assert sign(portal, product.pk, token, key.key, wheel).returncode == 0
    assert wheel.with_name(wheel.name + ".license-certificate").is_file()
    answer = verify_offline(public_key_xml(vendor.signing_key.public_key_pem), wheel,
                            product.pk, port)
    assert answer["id"] == key.serial
    # The unpacked folder has the wheel's fingerprint: the wheel's certificate serves it.
    shutil.copy(wheel.with_name(wheel.name + ".license-certificate"),
                app.with_name("photo_app.license-certificate"))
    answer = verify_offline(public_key_xml(vendor.signing_key.public_key_pem), app,
                            product.pk, port)
    assert answer["id"] == key.serial
