"""Vendor-side activation, bulk activation and license files."""

from __future__ import annotations

import base64
import datetime as dt
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from licensing.methods import Helpers
from licensing.models import LicenseKey as ClientLicenseKey

from apps.audit.log import Actor
from apps.audit.models import ObjectLogEntry
from apps.core.errors import DomainError
from apps.licensing.license_files import LINQ_SIGN, license_file
from apps.licensing.models import Activation
from apps.licensing.services import offline
from apps.licensing.services.offline import (
    ACTIVE,
    DUPLICATE,
    INVALID,
    NEW,
    OVER_LIMIT,
    activation_add,
    bulk_activate,
    bulk_parse,
    bulk_preview,
)
from apps.licensing.services.seats import LIMIT_REACHED, Device, key_activate
from apps.licensing.signing import public_key_xml
from tests.factories import ProductFactory, make_activation, make_key, make_vendor

ACTOR = Actor.for_system("test")


@pytest.fixture
def product(db):
    return ProductFactory(vendor=make_vendor())


def public_key(product) -> str:
    return public_key_xml(product.vendor.signing_key.public_key_pem)


def test_lines_in_every_collected_format_are_understood():
    lines = bulk_parse(
        "machine_code,device\n"  # CSV header, skipped
        "aaa\tALICE-PC\n"
        "bbb BOB-PC\n"  # the .bat's space-separated form
        "\n   \n"
        'ccc,"CAROL, LAPTOP"\n'
        "ddd\n"
    )
    assert [(line.machine_code, line.friendly_name) for line in lines] == [
        ("aaa", "ALICE-PC"), ("bbb", "BOB-PC"), ("ccc", "CAROL, LAPTOP"), ("ddd", ""),
    ]
    assert all(line.status == NEW for line in lines)


def test_overlong_and_control_character_codes_are_invalid():
    lines = bulk_parse("x" * 129 + "\tPC\nab\x01c\nok")
    assert [line.status for line in lines] == [INVALID, INVALID, NEW]


def test_preview_tells_new_active_duplicate_invalid_and_over_limit_apart(product):
    key = make_key(product, max_no_of_machines=3)
    make_activation(key, "already")
    preview = bulk_preview(key=key, text="already\nnew-1\nnew-1\n" + "y" * 200 + "\nnew-2\nnew-3")

    assert [(line.machine_code[:5], line.status) for line in preview.lines] == [
        ("alrea", ACTIVE), ("new-1", NEW), ("new-1", DUPLICATE), ("yyyyy", INVALID),
        ("new-2", NEW), ("new-3", OVER_LIMIT),
    ]
    assert preview.seats_needed == 4
    assert Activation.objects.filter(key=key).count() == 1  # a preview writes nothing


def test_commit_activates_every_valid_new_line_and_logs_once(product):
    key = make_key(product, max_no_of_machines=10)
    done = bulk_activate(key=key, text="a\tA\nb\tB\na\tA\n\nbad\x02", actor=ACTOR)

    assert len(done.to_activate) == 2
    assert dict(key.activations.values_list("machine_code", "friendly_name")) == {
        "a": "A", "b": "B"}
    entry = ObjectLogEntry.objects.for_object(key).get(action="devices activated in bulk")
    assert entry.changes == {"devices": [None, 2]}


def test_commit_over_the_seat_limit_writes_nothing(product):
    key = make_key(product, max_no_of_machines=2)
    with pytest.raises(DomainError, match="Raise it to at least 3"):
        bulk_activate(key=key, text="a\nb\nc", actor=ACTOR)
    assert not key.activations.exists()


def test_raising_the_limit_in_the_same_step_lets_every_line_in(product):
    key = make_key(product, max_no_of_machines=2)
    bulk_activate(key=key, text="a\nb\nc", actor=ACTOR, new_limit=3)
    key.refresh_from_db()
    assert key.max_no_of_machines == 3
    assert key.activations.count() == 3


def test_a_failure_in_the_middle_leaves_no_activation_behind(product, monkeypatch):
    key = make_key(product, max_no_of_machines=5000)
    real_bulk_create = Activation.objects.bulk_create
    calls = []

    def failing_bulk_create(objs, batch_size=None, **kwargs):
        # Write the first batch for real, then fail: the transaction must undo it.
        calls.append(1)
        real_bulk_create(list(objs)[:1000], batch_size=batch_size)
        raise RuntimeError("disk full")

    monkeypatch.setattr(Activation.objects, "bulk_create", failing_bulk_create)
    with pytest.raises(RuntimeError):
        bulk_activate(key=key, text="\n".join(f"pc-{n}" for n in range(3000)), actor=ACTOR,
                      new_limit=6000)
    assert calls
    key.refresh_from_db()
    assert key.activations.count() == 0
    assert key.max_no_of_machines == 5000


def test_ten_thousand_lines_with_noise_preview_and_commit_exactly(product):
    key = make_key(product, max_no_of_machines=20000)
    make_activation(key, "pc-00005")
    lines = [f"pc-{n:05d}\tHOST-{n}" for n in range(10_000)]
    lines[10:20] = lines[0:10]  # 10 duplicates
    lines[100] = "z" * 300  # invalid
    lines.insert(500, "")
    text = "\n".join(lines)

    preview = bulk_preview(key=key, text=text)
    expected_new = len({line.split("\t")[0] for line in lines if line and len(line) < 128}) - 1
    assert len(preview.to_activate) == expected_new
    assert preview.counts[DUPLICATE] == 10
    assert preview.counts[INVALID] == 1
    assert preview.counts[ACTIVE] == 1

    with CaptureQueriesContext(connection) as queries:
        bulk_activate(key=key, text=text, actor=ACTOR)
    assert key.activations.count() == expected_new + 1
    # Batched inserts (SQLite caps a batch at ~140 rows), never one query per line.
    assert len(queries) < expected_new / 50


def test_vendor_activation_ignores_automatic_activation_but_not_the_limit(product):
    key = make_key(product, max_no_of_machines=1, automatic_activation=False)
    seat, created = activation_add(key=key, device=Device("pc-1", "PC 1"), actor=ACTOR,
                                   by_vendor=True)
    assert created and seat.friendly_name == "PC 1"
    assert activation_add(key=key, device=Device("pc-1"), actor=ACTOR, by_vendor=True)[1] is False
    with pytest.raises(DomainError, match=LIMIT_REACHED):
        activation_add(key=key, device=Device("pc-2"), actor=ACTOR, by_vendor=True)


@pytest.mark.parametrize("limit", [0, 5])
def test_controlled_activation_serves_only_devices_the_vendor_activated(product, limit):
    key = make_key(product, max_no_of_machines=limit, automatic_activation=False)
    bulk_activate(key=key, text="approved\tPC", actor=ACTOR)

    assert key_activate(key=key, device=Device("approved")).activation.machine_code == "approved"
    with pytest.raises(DomainError, match=LIMIT_REACHED):
        key_activate(key=key, device=Device("stranger"))


def test_license_file_loads_in_the_real_client_for_every_device(product):
    key = make_key(product, max_no_of_machines=5)
    bulk_activate(key=key, text="pc-a\tA\npc-b\tB", actor=ACTOR)
    file = license_file(key=key)

    assert file.filename == f"ActivationFile{timezone.now():%Y%m%d}.skm"
    loaded = ClientLicenseKey.load_from_string(public_key(product), file.content.decode())
    assert loaded is not None and loaded.key == key.key
    for code in ("pc-a", "pc-b"):
        assert Helpers.IsOnRightMachine(loaded, custom_machine_code=code)
    assert not Helpers.IsOnRightMachine(loaded, custom_machine_code="pc-c")


def test_a_hand_edited_license_file_is_rejected(product):
    key = make_key(product, max_no_of_machines=1)
    data = json.loads(license_file(key=key).content)
    body = json.loads(base64.b64decode(data["licenseKey"]))
    body["MaxNoOfMachines"] = 1000
    data["licenseKey"] = base64.b64encode(json.dumps(body).encode()).decode()
    assert ClientLicenseKey.load_from_string(public_key(product), json.dumps(data)) is None


def test_a_file_past_its_validity_is_rejected_by_signature_expiration(product):
    key = make_key(product, max_no_of_machines=1)
    signed_long_ago = timezone.now() - dt.timedelta(days=31)
    text = license_file(key=key, now=signed_long_ago).content.decode()
    assert ClientLicenseKey.load_from_string(public_key(product), text, 30) is None
    assert ClientLicenseKey.load_from_string(public_key(product), text, 60) is not None


def test_linq_sign_file_is_the_dotnet_license_object(product):
    key = make_key(product, max_no_of_machines=1)
    activation_add(key=key, device=Device("pc"), actor=ACTOR, by_vendor=True)
    body = json.loads(license_file(key=key, file_format=LINQ_SIGN).content)
    assert body["key"] == key.key
    assert body["activatedMachines"][0]["mid"] == "pc"
    assert body["signature"]


def test_blocked_key_cannot_be_bulk_activated(product):
    key = make_key(product, max_no_of_machines=3, block=True)
    with pytest.raises(DomainError):
        offline.bulk_activate(key=key, text="pc", actor=ACTOR)
    assert not key.activations.exists()
