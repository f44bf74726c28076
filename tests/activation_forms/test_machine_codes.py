"""Machine codes on activation forms: the formats of the official clients and scripts are
accepted, anything else is refused before it can take a seat, and a vendor may set a pattern."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import pytest
from django.test import override_settings
from django.urls import reverse
from licensing.methods import Helpers

from apps.audit.log import Actor
from apps.audit.models import ObjectLogEntry
from apps.core.errors import DomainError
from apps.licensing import machine_code_scripts
from apps.licensing.machine_codes import (
    OFFICIAL_FORMATS,
    OFFICIAL_HELP,
    check_pattern,
    machine_code_matches,
    official_format,
)
from apps.licensing.models import ActivationForm
from apps.licensing.services import activation_forms as service
from apps.usage import states
from apps.usage.models import WebApiLog
from tests.licensing.keypool import pooled_signing_keys  # noqa: F401  (autouse: fast RSA keys)

from .conftest import NEW_PC, OFFLINE_PC, UUID, EndUser, open_form

SH = Path(machine_code_scripts.__file__).parent / "machinecode.sh"
PI_SERIAL = "10000000abcdef01"
NOT_A_CODE = "not a code!!"
OWN = {"machine_code_format": "pattern", "machine_code_pattern": r"PC-[0-9]{4}-[A-Z]{2}",
       "machine_code_example": "PC-0042-AB"}


def _script_output(root: Path | None = None) -> str:
    env = {"PATH": "/usr/bin:/bin", "MACHINE_CODE_ROOT": str(root) if root else ""}
    result = subprocess.run(["sh", str(SH)], capture_output=True, text=True, env=env,
                            timeout=30, check=True)
    return result.stdout.split("\t")[0]


def _raspberry_pi_root(tmp_path: Path) -> Path:
    root = tmp_path / "pi"
    (root / "proc/device-tree").mkdir(parents=True)
    (root / "proc/device-tree/model").write_bytes(b"Raspberry Pi 4 Model B Rev 1.4\0")
    (root / "proc/cpuinfo").write_text(f"Hardware\t: BCM2835\nSerial\t\t: {PI_SERIAL}\n")
    return root


def _dotnet_sha256(text: str) -> str:
    """SKM.getSHA256(s) (v=1): SHA-256 of the UTF-16 bytes, upper-case hex."""
    return hashlib.sha256(text.encode("utf-16-le")).hexdigest().upper()


# --- The official formats, with codes the clients and scripts really print ---------------


def test_codes_of_the_installed_python_client_are_accepted():
    assert official_format(Helpers.GetMachineCode()).name == "sha256"
    assert official_format(Helpers.GetMACAddress()).name == "mac_address"


def test_codes_of_the_shipped_script_are_accepted(tmp_path):
    assert official_format(_script_output()).name == "sha256"
    assert official_format(_script_output(_raspberry_pi_root(tmp_path))).name == "raspberry_pi"


@pytest.mark.parametrize("code, name", [
    (hashlib.sha256(UUID.encode()).hexdigest(), "sha256"),  # .NET PI v2, Python v=2, ps1, bat
    (_dotnet_sha256(f"UUID                                  {UUID}  "), "sha256"),  # .NET v10
    (f"RPI_{_dotnet_sha256(PI_SERIAL)}", "raspberry_pi"),  # .NET on a Raspberry Pi
    ("D38F13CAB8938AC3C393BC111E1A85BB4BA2CCC9", "sha1"),  # SKM.getMachineCode(getSHA1) docs
    (hashlib.sha256(b"0b6f8c2e-3d4a-4f5b-9c1d-2e3f4a5b6c7d\n").hexdigest()[:20], "short"),
    ("61843235", "eight_digits"),  # SKM.getMachineCode(getEightDigitsLongHash) docs
    (UUID, "uuid"),  # admin-tools machinecodescriptuuid.bat
], ids=["sha256 lower", "sha256 upper", "raspberry pi", "sha1", "node short", "eight digits",
        "uuid"])
def test_codes_of_the_other_clients_are_accepted(code, name):
    assert official_format(code).name == name


@pytest.mark.parametrize("fmt", OFFICIAL_FORMATS, ids=lambda fmt: fmt.name)
def test_each_format_accepts_its_own_example(fmt):
    assert fmt.matches(fmt.example) and fmt.produced_by


@pytest.mark.parametrize("code", [
    NOT_A_CODE, "None", NEW_PC[:-1], NEW_PC + "0", NEW_PC[:32] + NEW_PC[32:].upper(),
    f"floating:{NEW_PC}", f"RPI_{NEW_PC[:-1]}", f"rpi_{NEW_PC}", NEW_PC[:10] + " " + NEW_PC[10:],
    "1234567", "02:FC:00:00:00:0a", "ABCDE-FGHIJ-KLMNO-PQRST",
], ids=["words", "None", "63 hex", "65 hex", "mixed case", "floating prefix", "short rpi",
        "lower rpi", "space inside", "seven digits", "mac mixed case", "a license key"])
def test_anything_else_is_not_a_machine_code(code):
    assert official_format(code) is None
    assert not machine_code_matches(code)


# --- Vendor patterns ------------------------------------------------------------------------


@pytest.mark.parametrize("pattern", [
    r"PC-[0-9]{4}-[A-Z]{2}", r"[0-9A-F]{4}(?:-[0-9A-F]{4}){3}", r".+", r"(?i)[a-z0-9_]{6,40}",
    r"[A-Z]+-[0-9]+-[A-Z]+", r"(?:RPI_)?[0-9a-f]{64}|[0-9]{8}",
])
def test_plain_patterns_are_accepted(pattern):
    check_pattern(pattern)


@pytest.mark.parametrize("pattern, message", [
    ("PC-[0-9", "not a valid regular expression"),
    ("x" * 201, "at most 200 characters"),
    ("PC-\n[0-9]+", "one line"),
    (r"(a+)+", "a repeated group must not contain"),
    (r"(?:a|aa)*b", "a repeated group must not contain"),
    (r"(?:-?[0-9]){8}", "a repeated group must not contain"),
    (r".*.*.*.*!", "at most three open-ended repeats"),
    (r"a?" * 30 + "a" * 30, "at most three open-ended repeats"),
    (r"(?:a|bc)" * 25, "at most three open-ended repeats"),
    (r"(\w+)-\1", "Back-references"),
    (r"(?=.*[0-9])[A-Z0-9]+", "look-arounds"),
], ids=["syntax", "long", "newline", "nested plus", "alternation in star", "optional in repeat",
        "four stars", "thirty optionals", "many alternatives", "back-reference", "look-ahead"])
def test_patterns_that_fail_or_could_hang_are_refused(pattern, message):
    with pytest.raises(DomainError, match=message) as refused:
        check_pattern(pattern)
    assert refused.value.field == "machine_code_pattern"


@pytest.mark.parametrize("fields, field", [
    ({"machine_code_format": "pattern"}, "machine_code_pattern"),
    ({**OWN, "machine_code_example": ""}, "machine_code_example"),
    ({**OWN, "machine_code_example": "PC-42-AB"}, "machine_code_example"),
    ({**OWN, "machine_code_pattern": "(a+)+"}, "machine_code_pattern"),
    ({"machine_code_format": "any"}, "machine_code_format"),
])
def test_form_settings_are_checked_on_save(tenant, fields, field):
    with pytest.raises(DomainError) as refused:
        open_form(tenant.product, **fields)
    assert refused.value.field == field
    assert not ActivationForm.objects.exists()


def test_switching_to_a_pattern_is_checked_against_the_saved_values(form_page):
    with pytest.raises(DomainError) as refused:
        service.activation_form_update(form=form_page, actor=Actor.for_system("test"),
                                       machine_code_format="pattern")
    assert refused.value.field == "machine_code_pattern"
    service.activation_form_update(form=form_page, actor=Actor.for_system("test"), **OWN)
    service.activation_form_update(form=form_page, actor=Actor.for_system("test"),
                                   machine_code_example="PC-1234-ZZ")
    form_page.refresh_from_db()
    assert (form_page.machine_code_pattern, form_page.machine_code_example) == \
        (OWN["machine_code_pattern"], "PC-1234-ZZ")
    changes = ObjectLogEntry.objects.for_object(form_page).order_by("-id")[1].changes
    assert changes["machine_code_pattern"] == ["", OWN["machine_code_pattern"]]


# --- The public page ------------------------------------------------------------------------


def test_page_explains_the_official_formats_next_to_the_field(end_user):
    body = end_user.get().content.decode()
    assert f'<span class="helptext" id="machine_code_help">{OFFICIAL_HELP}</span>' in body
    assert 'aria-describedby="machine_code_help"' in body
    assert "pattern=" not in body  # the server refuses, and logs, what the browser would hide


def test_a_typo_never_takes_the_last_seat(end_user, tenant):
    assert tenant.key.max_no_of_machines == tenant.key.activations.count() + 1
    response = end_user.submit(tenant.key.key, NOT_A_CODE)

    assert response.status_code == 200 and "Content-Disposition" not in response
    assert response.context["form"].errors["machine_code"] == [service.NOT_A_MACHINE_CODE]
    assert tenant.key.activations.count() == 1
    log = WebApiLog.objects.order_by("-id").first()
    assert (log.machine_code, log.state) == (NOT_A_CODE, states.ACTIVATION_FAILED)

    assert "Content-Disposition" in end_user.submit(tenant.key.key, OFFLINE_PC)
    assert tenant.key.activations.filter(machine_code=OFFLINE_PC).exists()


@override_settings(ACTIVATION_FORM_MAX_FAILURES=2)
def test_malformed_codes_count_towards_the_failure_limit(end_user, tenant):
    end_user.submit(tenant.key.key, NOT_A_CODE)
    end_user.submit(tenant.key.key, "still not one")
    assert end_user.submit(tenant.key.key, NEW_PC).status_code == 429
    assert tenant.key.activations.count() == 1


def test_a_vendor_pattern_replaces_the_official_formats(tenant):
    own = EndUser(open_form(tenant.product, title="Own codes", **OWN))
    body = own.get().content.decode()
    assert "Copy it exactly as your software shows it, e.g. PC-0042-AB" in body

    refused = own.submit(tenant.key.key, NEW_PC)
    assert refused.context["form"].errors["machine_code"] == [service.NOT_A_MACHINE_CODE]
    assert "Content-Disposition" in own.submit(tenant.key.key, "PC-0007-QX")
    assert list(tenant.key.activations.values_list("machine_code", flat=True)
                .order_by("id"))[1:] == ["PC-0007-QX"]


# --- The vendor's settings page -------------------------------------------------------------


def _form_data(**fields) -> dict:
    return {"title": "Activate offline", "file_format": "string", "validity_days": 90,
            "allow_new_devices": "on", "enabled": "on", "machine_code_format": "official",
            **fields}


def test_vendor_sets_a_pattern_on_the_form_page(tenant, owner_client):
    url = reverse("vendor_portal:activation_form_create", args=[tenant.product.pk])
    page = owner_client.get(url).content.decode()
    assert 'name="machine_code_pattern"' in page and "SHA-256: 64 hexadecimal" in page

    refused = owner_client.post(url, _form_data(**{**OWN, "machine_code_pattern": "(a+)+"}))
    assert "a repeated group must not contain" in \
        refused.context["form"].errors["machine_code_pattern"][0]
    assert not ActivationForm.objects.exists()

    assert owner_client.post(url, _form_data(**OWN)).status_code == 302
    form = ActivationForm.objects.get()
    assert (form.machine_code_format, form.machine_code_pattern, form.machine_code_example) \
        == ("pattern", OWN["machine_code_pattern"], "PC-0042-AB")
