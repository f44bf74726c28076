"""The SDK signer's wheel: built offline by `manage.py build_sdk_signer_wheel`, installable
where nothing of the portal is, and working there (the developer's `sdk-sign`, the SDK's
verifier)."""

from __future__ import annotations

import io
import json
import subprocess
import zipfile
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from sdk_signer import application_fingerprint, certificate_path
from sdk_signer.certificate import certificate_file

from apps.audit.log import Actor
from apps.licensing.services.seats import Device
from apps.licensing.signing import public_key_xml
from apps.sdk_licensing.certificates import Application
from apps.sdk_licensing.services import sdk_application_sign
from apps.sdk_licensing.wheel import SDK_SIGNER
from tests.factories import ProductFactory, make_key, make_vendor
from tests.license_server.processes import standalone_install

NAME = "licensing_portal_sdk_signer-0.1.0-py3-none-any.whl"


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("signer-wheels")
    call_command("build_sdk_signer_wheel", output=folder, stdout=io.StringIO())
    (wheel,) = folder.glob("*.whl")
    return wheel


def test_the_wheel_holds_the_signer_and_requires_cryptography_only(built):
    assert built.name == NAME
    with zipfile.ZipFile(built) as archive:
        names = archive.namelist()
        metadata = next(n for n in names if n.endswith("METADATA"))
        text = archive.read(metadata).decode()
        entry_points = archive.read(next(n for n in names if n.endswith("entry_points.txt")))
    assert {n.split("/")[0] for n in names} == {
        "sdk_signer", "licensing_portal_sdk_signer-0.1.0.dist-info"}
    assert [line for line in text.splitlines() if line.startswith("Requires-Dist")] == [
        "Requires-Dist: cryptography>=43"]
    assert b"sdk-sign = sdk_signer.cli:main" in entry_points


def test_a_folder_that_is_not_the_signers_source_is_refused(tmp_path):
    with pytest.raises(CommandError, match="not the SDK signer's source"):
        call_command("build_sdk_signer_wheel", source=tmp_path, output=tmp_path / "out")


@pytest.mark.django_db
def test_installed_alone_it_fingerprints_and_verifies_without_the_portal(built, tmp_path):
    python = standalone_install(tmp_path / "standalone", built)
    app = tmp_path / "app.py"
    app.write_text("print('built with the SDK')\n")
    vendor = make_vendor()
    key = make_key(ProductFactory(vendor=vendor), max_no_of_machines=1,
                   features=[True] + [False] * 7)
    signed = sdk_application_sign(
        key=key, device=Device("dev-1"), actor=Actor.for_system("test"),
        application=Application("app.py", application_fingerprint(app).value))
    certificate_path(app).write_text(certificate_file(payload=signed.payload,
                                                      signature=signed.signature))
    script = ("import json, sys\n"
              "from sdk_signer import verify_certificate\n"
              "lic = verify_certificate(sys.argv[1], sys.argv[2], product_id=int(sys.argv[3]))\n"
              "try:\n    import django\n    portal = True\nexcept ImportError:\n"
              "    portal = False\n"
              "print(json.dumps({'F1': lic.has_feature(1), 'ID': lic.serial, 'django': portal}))")
    done = subprocess.run([str(python), "-c", script,
                           public_key_xml(vendor.signing_key.public_key_pem), str(app),
                           str(key.product_id)], capture_output=True, text=True, timeout=60,
                          cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"F1": True, "ID": key.serial, "django": False}
    command = python.parent / "sdk-sign"
    printed = subprocess.run([str(command), "--fingerprint", str(app)], capture_output=True,
                             text=True, timeout=60, check=True, cwd=tmp_path).stdout
    assert printed.split()[0] == application_fingerprint(app).value


WHEEL_URL = "vendor_portal:sdk_signer_wheel"


@pytest.fixture
def wheel_folder(settings, built) -> Path:
    settings.SDK_SIGNER_WHEEL_DIR = built.parent
    return built.parent


def test_a_read_only_member_downloads_the_signer(wheel_folder, built, read_only_client):
    response = read_only_client.get(reverse(WHEEL_URL))
    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="{NAME}"'
    assert b"".join(response.streaming_content) == built.read_bytes()


def test_every_vendor_gets_the_same_file(wheel_folder, owner_client, other_vendor_client):
    ours, theirs = (b"".join(client.get(reverse(WHEEL_URL)).streaming_content)
                    for client in (owner_client, other_vendor_client))
    assert ours == theirs


def test_the_sdk_page_offers_the_signer(wheel_folder, owner_client, tenant):
    page = owner_client.get(reverse("vendor_portal:sdk_machine_list",
                                    args=[tenant.product.pk]))
    assert reverse(WHEEL_URL) in page.content.decode()
    assert NAME in page.content.decode()


def test_without_a_built_signer_the_pages_say_how_to_build_it(settings, tmp_path, owner_client,
                                                              tenant):
    settings.SDK_SIGNER_WHEEL_DIR = tmp_path / "never-built"
    page = owner_client.get(reverse("vendor_portal:sdk_machine_list",
                                    args=[tenant.product.pk]))
    download = owner_client.get(reverse(WHEEL_URL))
    assert SDK_SIGNER.build_command in page.content.decode()
    assert reverse(WHEEL_URL) not in page.content.decode()
    assert download.status_code == 404
    assert SDK_SIGNER.build_command in download.content.decode()
