"""License-file download and bulk activation pages of a key."""

from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from licensing.methods import Helpers
from licensing.models import LicenseKey as ClientLicenseKey

from apps.licensing.signing import public_key_xml


def _file_url(key) -> str:
    return reverse("vendor_portal:license_file", args=[key.pk])


def _bulk_url(key) -> str:
    return reverse("vendor_portal:bulk_activation", args=[key.pk])


def test_license_file_for_a_new_device_activates_it_and_verifies(tenant, owner_client):
    response = owner_client.post(_file_url(tenant.key), {
        "machine_code": "offline-pc", "custom_code": "on", "friendly_name": "LAB-7",
        "file_format": "string", "validity_days": 30})

    assert response.status_code == 200
    assert response["Content-Disposition"].startswith('attachment; filename="ActivationFile')
    seat = tenant.key.activations.get(machine_code="offline-pc")
    assert seat.friendly_name == "LAB-7"
    loaded = ClientLicenseKey.load_from_string(
        public_key_xml(tenant.vendor.signing_key.public_key_pem), response.content.decode(), 30)
    assert Helpers.IsOnRightMachine(loaded, custom_machine_code="offline-pc")
    assert Helpers.IsOnRightMachine(loaded, custom_machine_code="machine-1")


def test_a_code_no_official_client_prints_needs_the_vendors_word_and_spends_nothing(
        tenant, owner_client):
    official = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
    typo = owner_client.post(_file_url(tenant.key), {
        "machine_code": "offline pc!!", "file_format": "string", "validity_days": 30})
    real = owner_client.post(_file_url(tenant.key), {
        "machine_code": official, "file_format": "string", "validity_days": 30})

    assert typo.status_code == 200 and "Content-Disposition" not in typo
    assert "does not look like a machine code" in typo.content.decode()
    assert not tenant.key.activations.filter(machine_code="offline pc!!").exists()
    assert real["Content-Disposition"].startswith("attachment;")
    assert tenant.key.activations.filter(machine_code=official).exists()


def test_license_file_without_machine_code_lists_every_device(tenant, owner_client):
    response = owner_client.post(_file_url(tenant.key), {
        "machine_code": "", "file_format": "linq", "validity_days": 30})
    assert response.status_code == 200
    assert b'"mid": "machine-1"' in response.content


def test_bulk_preview_writes_nothing_and_commit_activates(tenant, owner_client):
    text = "pc-a\tA\npc-a\tA\n" + "z" * 200
    preview = owner_client.post(_bulk_url(tenant.key), {"lines": text, "action": "preview"})
    body = preview.content.decode()
    assert preview.status_code == 200
    assert 'id="count-new">1<' in body and 'id="count-duplicate">1<' in body
    assert 'id="count-invalid">1<' in body
    assert not tenant.key.activations.filter(machine_code="pc-a").exists()

    commit = owner_client.post(_bulk_url(tenant.key), {"lines": text, "action": "commit"})
    assert commit.status_code == 302
    assert tenant.key.activations.filter(machine_code="pc-a", friendly_name="A").exists()


def test_bulk_commit_over_the_limit_is_refused_with_the_seats_needed(tenant, owner_client):
    text = "\n".join(f"pc-{n}" for n in range(5))  # 1 seat free, 5 asked
    response = owner_client.post(_bulk_url(tenant.key), {"lines": text, "action": "commit"})

    assert response.status_code == 200
    assert "Raise it to at least 6" in response.content.decode()
    assert tenant.key.activations.count() == 1


def test_bulk_commit_may_raise_the_limit_in_the_same_step(tenant, owner_client):
    text = "\n".join(f"pc-{n}" for n in range(5))
    response = owner_client.post(_bulk_url(tenant.key), {"lines": text, "new_limit": 6,
                                                         "action": "commit"})
    assert response.status_code == 302
    tenant.key.refresh_from_db()
    assert tenant.key.max_no_of_machines == 6
    assert tenant.key.activations.count() == 6


def test_bulk_upload_of_a_csv_file_is_accepted(tenant, owner_client):
    upload = SimpleUploadedFile("codes.csv", b"machine_code,name\ncsv-pc,CSV PC\n",
                                content_type="text/csv")
    response = owner_client.post(_bulk_url(tenant.key), {"upload": upload, "action": "commit"})
    assert response.status_code == 302
    assert tenant.key.activations.filter(machine_code="csv-pc", friendly_name="CSV PC").exists()


def test_empty_bulk_submission_is_a_form_error(tenant, owner_client):
    response = owner_client.post(_bulk_url(tenant.key), {"lines": "  ", "action": "preview"})
    assert response.status_code == 200
    assert "Paste the machine codes or upload a file." in response.content.decode()


def test_bulk_preview_shows_lines_over_the_customers_cap_and_offers_no_commit(
        tenant, owner_client):
    tenant.customer.max_no_of_devices = 2  # machine-1 holds one of its two places
    tenant.customer.save()
    tenant.key.max_no_of_machines = 10
    tenant.key.save()
    response = owner_client.post(_bulk_url(tenant.key), {"lines": "pc-a\npc-b\npc-c",
                                                         "action": "preview"})
    body = response.content.decode()

    assert 'id="count-new">1<' in body and 'id="count-refused">2<' in body
    assert "The customer's device cap (2) is reached" in body
    assert 'value="commit"' not in body

    commit = owner_client.post(_bulk_url(tenant.key), {"lines": "pc-a\npc-b\npc-c",
                                                       "action": "commit"})
    assert "2 device(s) would exceed the customer&#x27;s device cap of 2." in \
        commit.content.decode()
    assert tenant.key.activations.count() == 1
