"""The public activation form /f/<slug>/: every refusal, the download, the log."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.utils import timezone
from licensing.methods import Helpers
from licensing.models import LicenseKey as ClientLicenseKey

from apps.core.errors import DomainError
from apps.licensing.models import Activation
from apps.licensing.services import activation_forms as service
from apps.licensing.signing import public_key_xml
from apps.usage import states
from apps.usage.models import WebApiLog
from tests.factories import ProductFactory, make_activation, make_key
from tests.licensing.keypool import pooled_signing_keys  # noqa: F401  (autouse: fast RSA keys)

from .conftest import APPROVED_PC, NEW_PC, OFFLINE_PC, OTHER_PC, EndUser, open_form

VALID_DAYS = 30


def _verified(vendor, response, machine_code: str):
    """The downloaded file as the official Python client reads it, or None if rejected."""
    loaded = ClientLicenseKey.load_from_string(
        public_key_xml(vendor.signing_key.public_key_pem), response.content.decode(),
        signature_expiration_interval=VALID_DAYS)
    assert loaded is not None, "the licensing client rejected the file"
    assert Helpers.IsOnRightMachine(loaded, custom_machine_code=machine_code)
    return loaded


def _refused(response, message: str) -> None:
    assert response.status_code == 200
    assert "Content-Disposition" not in response
    assert message in response.content.decode()


def _last_log() -> WebApiLog:
    return WebApiLog.objects.order_by("-id").first()


# --- The page ---


def test_page_shows_title_instructions_fields_and_machine_code_hint(end_user, form_page):
    response = end_user.get()
    body = response.content.decode()
    assert response.status_code == 200
    assert form_page.title in body
    assert "<p>Find the code under Help → License.</p>" in body
    assert 'name="key"' in body and 'name="machine_code"' in body
    assert 'name="friendly_name"' not in body
    assert "How to find your machine code" in body
    assert 'name="csrfmiddlewaretoken"' in body
    assert "valid for 365 days" in body


def test_device_name_is_asked_only_when_the_form_says_so(tenant):
    asking = EndUser(open_form(tenant.product, title="With name", ask_friendly_name=True))
    assert 'name="friendly_name"' in asking.get().content.decode()


def test_instructions_are_escaped(tenant):
    page = open_form(tenant.product, instructions="<script>alert(1)</script>")
    assert "<script>alert(1)" not in EndUser(page).get().content.decode()


def test_unknown_form_is_404(db):
    assert Client().get("/f/not-a-form/").status_code == 404


def test_disabled_form_is_404_for_get_and_post(end_user, form_page, tenant):
    form_page.enabled = False
    form_page.save()
    assert end_user.get().status_code == 404
    assert end_user.submit(tenant.key.key, NEW_PC).status_code == 404
    assert not Activation.objects.filter(machine_code=NEW_PC).exists()


def test_form_of_a_product_with_forms_switched_off_is_404(end_user, tenant):
    tenant.product.activation_form_enabled = False
    tenant.product.save()
    assert end_user.get().status_code == 404


def test_posts_without_a_csrf_token_are_refused(end_user, tenant):
    client = Client(enforce_csrf_checks=True)
    response = client.post(end_user.url, {"key": tenant.key.key, "machine_code": NEW_PC})
    assert response.status_code == 403
    assert not Activation.objects.filter(machine_code=NEW_PC).exists()


# --- Refusals: a message on the page, the form kept, no file, a log row ---


def test_wrong_key_is_refused_with_the_form_kept(end_user, tenant):
    response = end_user.submit("AAAAA-BBBBB-CCCCC-DDDDD", NEW_PC)
    _refused(response, service.UNKNOWN_KEY)
    body = response.content.decode()
    assert 'value="AAAAA-BBBBB-CCCCC-DDDDD"' in body and f'value="{NEW_PC}"' in body
    assert _last_log().state == states.ACTIVATION_FAILED


@pytest.mark.parametrize("whose", ["same vendor", "other vendor"])
def test_key_of_another_product_is_answered_like_an_unknown_key(end_user, tenant, other_tenant,
                                                               whose):
    product = ProductFactory(vendor=tenant.vendor) if whose == "same vendor" \
        else other_tenant.product
    foreign_key = make_key(product, max_no_of_machines=5)

    foreign = end_user.submit(foreign_key.key, NEW_PC)
    unknown = end_user.submit("AAAAA-BBBBB-CCCCC-DDDDD", NEW_PC)

    _refused(foreign, service.UNKNOWN_KEY)
    assert foreign.context["form"].errors == unknown.context["form"].errors
    assert not foreign_key.activations.exists()
    assert _last_log().state == states.ACTIVATION_FAILED


@pytest.mark.parametrize("machine_code", [
    "", "   ", "x" * 129, "pc\n2", "pc\x00", "pc\t2", "pc\x7f",
], ids=["empty", "blank", "too long", "newline", "nul", "tab", "delete"])
def test_malformed_machine_code_is_refused(end_user, tenant, machine_code):
    _refused(end_user.submit(tenant.key.key, machine_code), service.BAD_MACHINE_CODE)
    assert tenant.key.activations.count() == 1
    assert _last_log().state == states.ACTIVATION_FAILED


def test_machine_code_of_128_characters_is_accepted(tenant):
    own = EndUser(open_form(tenant.product, title="Own codes", machine_code_format="pattern",
                            machine_code_pattern="[a-z]{1,128}", machine_code_example="m"))
    response = own.submit(tenant.key.key, "m" * 128)
    assert response.status_code == 200 and "Content-Disposition" in response
    assert tenant.key.activations.filter(machine_code="m" * 128).exists()


def test_too_long_device_name_is_refused(tenant):
    asking = EndUser(open_form(tenant.product, title="With name", ask_friendly_name=True))
    _refused(asking.submit(tenant.key.key, NEW_PC, "n" * 256), service.BAD_FRIENDLY_NAME)
    assert not tenant.key.activations.filter(machine_code=NEW_PC).exists()


def test_form_for_registered_devices_refuses_a_new_device(tenant):
    registered_only = EndUser(open_form(tenant.product, title="Plant", allow_new_devices=False))
    _refused(registered_only.submit(tenant.key.key, NEW_PC), service.NEW_DEVICE_REFUSED)
    assert not tenant.key.activations.filter(machine_code=NEW_PC).exists()
    assert _last_log().state == states.ACTIVATION_LIMIT


def test_form_for_registered_devices_serves_an_activated_device(tenant, registered_pc):
    registered_only = EndUser(open_form(tenant.product, title="Plant", allow_new_devices=False))
    response = registered_only.submit(tenant.key.key, registered_pc)
    _verified(tenant.vendor, response, registered_pc)
    assert _last_log().state == states.ACTIVATION_EXISTING


def test_form_for_registered_devices_serves_an_allowed_machine(tenant):
    make_activation(tenant.key, "machine-2")  # seats full: only AllowedMachines get in
    tenant.key.allowed_machines = f"{APPROVED_PC}\n"
    tenant.key.save()
    registered_only = EndUser(open_form(tenant.product, title="Plant", allow_new_devices=False))
    response = registered_only.submit(tenant.key.key, APPROVED_PC)
    _verified(tenant.vendor, response, APPROVED_PC)
    assert tenant.key.activations.filter(machine_code=APPROVED_PC).exists()
    assert _last_log().state == states.ACTIVATION_ALLOWED_MACHINE


# --- Success ---


def test_new_device_downloads_a_file_that_the_licensing_client_verifies(tenant):
    asking = EndUser(open_form(tenant.product, title="With name", ask_friendly_name=True))
    response = asking.submit(tenant.key.key, OFFLINE_PC, "LAB-PC-3")

    assert response.status_code == 200
    today = timezone.now().strftime("%Y%m%d")
    assert response["Content-Disposition"] == \
        f'attachment; filename="ActivationFile{today}.skm"'
    loaded = _verified(tenant.vendor, response, OFFLINE_PC)
    assert loaded.key == tenant.key.key
    assert loaded.product_id == tenant.product.pk
    assert not Helpers.IsOnRightMachine(loaded, custom_machine_code="some-other-pc")
    seat = tenant.key.activations.get(machine_code=OFFLINE_PC)
    assert (seat.friendly_name, seat.ip) == ("LAB-PC-3", asking.ip)


def test_file_edited_by_hand_is_rejected_by_the_licensing_client(end_user, tenant):
    response = end_user.submit(tenant.key.key, OFFLINE_PC)
    body = json.loads(response.content)
    body["signature"] = body["signature"][:-8] + "AAAAAAA="
    assert ClientLicenseKey.load_from_string(
        public_key_xml(tenant.vendor.signing_key.public_key_pem), json.dumps(body),
        VALID_DAYS) is None


def test_already_activated_device_gets_its_file_again_without_a_new_seat(end_user, tenant,
                                                                        registered_pc):
    response = end_user.submit(tenant.key.key, registered_pc)
    _verified(tenant.vendor, response, registered_pc)
    assert tenant.key.activations.count() == 1
    assert _last_log().state == states.ACTIVATION_EXISTING


def test_key_typed_in_lowercase_with_spaces_is_found(end_user, tenant):
    response = end_user.submit(f"  {tenant.key.key.lower()} ", OFFLINE_PC)
    _verified(tenant.vendor, response, OFFLINE_PC)


def test_key_that_is_not_node_locked_gets_a_file_without_a_seat(end_user, tenant):
    key = make_key(tenant.product, max_no_of_machines=0)
    response = end_user.submit(key.key, OFFLINE_PC)
    _verified(tenant.vendor, response, OFFLINE_PC)
    assert not key.activations.exists()
    assert _last_log().state == states.ACTIVATION_NOT_NODE_LOCKED


def test_linq_sign_form_serves_the_classic_dotnet_file(tenant):
    linq = EndUser(open_form(tenant.product, title=".NET", file_format="linq"))
    response = linq.submit(tenant.key.key, OFFLINE_PC)
    body = json.loads(response.content)
    assert body["key"] == tenant.key.key and body["signature"]
    assert OFFLINE_PC in [machine["mid"] for machine in body["activatedMachines"]]


def test_device_name_is_ignored_when_the_form_does_not_ask_for_it(end_user, tenant):
    end_user.submit(tenant.key.key, OFFLINE_PC, "SNEAKY")
    assert tenant.key.activations.get(machine_code=OFFLINE_PC).friendly_name == ""


# --- Web API log and atomicity ---


def test_every_attempt_is_logged_with_what_was_entered(tenant):
    asking = EndUser(open_form(tenant.product, title="With name", ask_friendly_name=True))
    asking.submit("AAAAA-BBBBB-CCCCC-DDDDD", OTHER_PC, "FRONT-DESK")
    asking.submit(tenant.key.key, OTHER_PC, "FRONT-DESK")

    failed, done = WebApiLog.objects.for_vendor(tenant.vendor).order_by("id")
    for row in (failed, done):
        assert (row.method, row.product_id, row.ip, row.machine_code, row.friendly_name) == \
            (service.METHOD, tenant.product.pk, asking.ip, OTHER_PC, "FRONT-DESK")
    assert (failed.key, failed.state) == ("AAAAA-BBBBB-CCCCC-DDDDD", states.ACTIVATION_FAILED)
    assert (done.key, done.state) == (tenant.key.key, states.ACTIVATION_NEW)


def test_a_failure_after_the_seat_was_taken_leaves_no_activation(end_user, tenant,
                                                                 monkeypatch):
    def broken_signing(**kwargs):
        raise DomainError("The file could not be signed.")

    monkeypatch.setattr(service, "license_file", broken_signing)
    response = end_user.submit(tenant.key.key, OFFLINE_PC)

    _refused(response, "The file could not be signed.")
    assert not Activation.objects.filter(machine_code=OFFLINE_PC).exists()
    assert _last_log().state == states.ACTIVATION_FAILED


def test_a_trial_countdown_is_rolled_back_with_the_failed_activation(end_user, tenant,
                                                                    monkeypatch):
    key = make_key(tenant.product, max_no_of_machines=1, trial_activation=True, period=7)
    expires = key.expires
    monkeypatch.setattr(service, "license_file",
                        lambda **kwargs: (_ for _ in ()).throw(DomainError("Broken.")))
    end_user.submit(key.key, OFFLINE_PC)
    key.refresh_from_db()
    assert key.expires == expires
    assert not key.activations.exists()


def test_control_characters_are_logged_as_replacement_characters(end_user, tenant):
    end_user.submit(tenant.key.key, "pc\x00\n2")
    assert _last_log().machine_code == "pc\ufffd\ufffd2"
