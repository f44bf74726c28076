"""One table of seat cases, run through every way a device arrives: the seat rule
(apps/licensing/services/admission.py) is decided once, so every entry point must tell the same
story. Entry points that write are checked afterwards too: the seat is there (or not), the
license file verifies and lists the device, the trial countdown started.

The only difference the table allows is the one the rule itself makes: a key with automatic
activation off admits new devices only when the vendor activates them (its portal's license
file, bulk activation), not when the device or a reseller asks. And on a key that is not
node-locked (MaxNoOfMachines 0) the device's own activation records nothing, while the vendor's
records the seat."""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from licensing.methods import Helpers
from licensing.models import LicenseKey as ClientLicenseKey

from apps.audit.log import Actor
from apps.licensing.license_payload import FLOATING_PREFIX, OVERDRAFT_PREFIX
from apps.licensing.models import Activation, LicenseKey
from apps.licensing.services import activation_forms, token_create
from apps.licensing.services.admission import (
    BLOCKED,
    LIMIT_REACHED,
    Admission,
    KeySeats,
    decide_seat,
)
from apps.licensing.services.offline import (
    ACTIVE,
    NEW,
    OVER_CAP,
    OVER_LIMIT,
    REFUSED,
    bulk_activate,
    bulk_preview,
)
from apps.licensing.signing import public_key_xml
from apps.usage import states
from apps.usage.models import WebApiLog
from tests.activation_forms.conftest import open_form
from tests.factories import (
    CustomerFactory,
    ProductFactory,
    UserFactory,
    make_activation,
    make_key,
    make_vendor,
)
from tests.reseller_portal.personas import make_reseller

GRANTED, LIMIT, REFUSED_BLOCKED = "granted", "limit reached", "blocked"
LOG_STATES = {LIMIT: states.ACTIVATION_LIMIT, REFUSED_BLOCKED: states.ACTIVATION_BLOCKED}
DEVICE = "537b3abd0264ab1ce2deae9e3807d11ad876466cf3da2daff51d49cf3f6fc05a"  # as clients print
SYSTEM = Actor.for_system("test")


@dataclass(frozen=True)
class Case:
    id: str
    key: dict = field(default_factory=dict)  # KeySpec fields
    holders: tuple[str, ...] = ()  # devices already on the key
    customer_cap: int = 0
    elsewhere: int = 0  # devices on the customer's other key
    expect: str = GRANTED  # when the device (or a reseller) asks
    expect_by_vendor: str | None = None  # when the vendor activates it, if different

    def expected(self, by_vendor: bool) -> str:
        return (self.expect_by_vendor or self.expect) if by_vendor else self.expect


CASES = [
    Case("free seat", {"max_no_of_machines": 2}, holders=("other-pc",)),
    Case("seats full", {"max_no_of_machines": 1}, holders=("other-pc",), expect=LIMIT),
    Case("allowed machine beyond the limit",
         {"max_no_of_machines": 1, "allowed_machines": f"vip-pc\n{DEVICE}\n"},
         holders=("other-pc",)),
    Case("customer cap reached", {"max_no_of_machines": 5}, customer_cap=2, elsewhere=2,
         expect=LIMIT),
    Case("blocked", {"max_no_of_machines": 5, "block": True}, expect=REFUSED_BLOCKED),
    Case("automatic activation off", {"max_no_of_machines": 5, "automatic_activation": False},
         expect=LIMIT, expect_by_vendor=GRANTED),
    Case("MaxNoOfMachines 0", {"max_no_of_machines": 0}, holders=("other-pc",)),
    Case("trial activation", {"max_no_of_machines": 2, "period": 10, "trial_activation": True}),
    Case("already activated on a full key", {"max_no_of_machines": 1}, holders=(DEVICE,)),
]


@dataclass
class World:
    case: Case
    key: LicenseKey
    owner: Client
    reseller: Client
    token: str
    form_url: str

    def fresh_key(self) -> LicenseKey:
        return LicenseKey.objects.select_related("product__vendor", "customer").get(
            pk=self.key.pk)

    def holds_seat(self) -> bool:
        return self.key.activations.filter(machine_code=DEVICE, floating=False).exists()


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _world(case: Case) -> World:
    owner = UserFactory()
    vendor = make_vendor("Seat vendor", owner=owner)
    product = ProductFactory(vendor=vendor)
    customer = CustomerFactory(vendor=vendor, max_no_of_devices=case.customer_cap)
    key = make_key(product, customer=customer, **{"period": 30, **case.key})
    for code in case.holders:
        make_activation(key, code)
    other_key = make_key(product, customer=customer, max_no_of_machines=10)
    for n in range(case.elsewhere):
        make_activation(other_key, f"elsewhere-{n}")
    if case.key.get("trial_activation"):
        LicenseKey.objects.filter(pk=key.pk).update(
            expires=timezone.now() - dt.timedelta(days=100))
    reseller = make_reseller(vendor, "Seller")
    LicenseKey.objects.filter(pk=key.pk).update(reseller=reseller)
    token = token_create(vendor=vendor, actor=SYSTEM, name="t", permissions=["key.Activate"])[1]
    form = open_form(product)
    return World(case, key, _client(owner), _client(reseller.user), token,
                 reverse("activation_forms:activation_form", args=[form.slug]))


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


# --- How each entry point says granted or refused ------------------------------------------


def _by_message(text: str) -> str:
    if BLOCKED in text:
        return REFUSED_BLOCKED
    if LIMIT_REACHED in text:
        return LIMIT
    raise AssertionError(f"neither granted nor a seat refusal: {text[:2000]}")


def _from_admission(admission: Admission) -> str:
    if admission.granted:
        return GRANTED
    assert admission.state == LOG_STATES[_by_message(admission.message)]
    return _by_message(admission.message)


def _check_log(outcome: str, granted_states: set[int]) -> None:
    state = WebApiLog.objects.order_by("-id").values_list("state", flat=True).first()
    assert state in (granted_states if outcome == GRANTED else {LOG_STATES[outcome]})


def _check_file(world: World, response) -> None:
    """The downloaded file verifies with the vendor's key and unlocks the device."""
    vendor = world.key.product.vendor
    loaded = ClientLicenseKey.load_from_string(
        public_key_xml(vendor.signing_key.public_key_pem), response.content.decode())
    assert loaded is not None, "the licensing client rejected the file"
    assert Helpers.IsOnRightMachine(loaded, custom_machine_code=DEVICE)


def _is_file(response) -> bool:
    return response.status_code == 200 and "Content-Disposition" in response


def decision_by_device(world: World) -> str:
    return _from_admission(decide_seat(KeySeats(world.fresh_key()), DEVICE))


def decision_by_vendor(world: World) -> str:
    return _from_admission(decide_seat(KeySeats(world.fresh_key()), DEVICE, by_vendor=True))


def web_api_activate(world: World) -> str:
    body = Client().post("/api/key/Activate", {
        "token": world.token, "ProductId": world.key.product_id, "Key": world.key.key,
        "MachineCode": DEVICE, "Sign": "true", "SignMethod": 1}).json()
    outcome = GRANTED if body["result"] == 0 else _by_message(body["message"])
    _check_log(outcome, {states.ACTIVATION_NEW, states.ACTIVATION_ALLOWED_MACHINE,
                         states.ACTIVATION_EXISTING, states.ACTIVATION_NOT_NODE_LOCKED})
    if outcome == GRANTED:
        license_key = json.loads(base64.b64decode(body["licenseKey"]))
        assert DEVICE in [m["Mid"] for m in license_key["ActivatedMachines"]]
    return outcome


def activation_form(world: World) -> str:
    response = Client(REMOTE_ADDR="203.0.113.7").post(
        world.form_url, {"key": world.key.key, "machine_code": DEVICE})
    if _is_file(response):
        _check_file(world, response)
        outcome = GRANTED
    else:
        text = response.content.decode()
        assert activation_forms.KEY_BLOCKED in text or activation_forms.SEATS_FULL in text
        outcome = REFUSED_BLOCKED if activation_forms.KEY_BLOCKED in text else LIMIT
    _check_log(outcome, {states.ACTIVATION_NEW, states.ACTIVATION_ALLOWED_MACHINE,
                         states.ACTIVATION_EXISTING, states.ACTIVATION_NOT_NODE_LOCKED})
    return outcome


def vendor_license_file(world: World) -> str:
    response = world.owner.post(reverse("vendor_portal:license_file", args=[world.key.pk]), {
        "machine_code": DEVICE, "file_format": "string", "validity_days": 30})
    if _is_file(response):
        _check_file(world, response)
        return GRANTED
    return _by_message(response.content.decode())


def reseller_license_file(world: World) -> str:
    response = world.reseller.post(reverse("reseller_portal:license_file", args=[world.key.pk]),
                                   {"machine_code": DEVICE}, follow=True)
    if _is_file(response):
        _check_file(world, response)
        return GRANTED
    return _by_message(response.content.decode())


def _bulk(world: World, action: str):
    return world.owner.post(reverse("vendor_portal:bulk_activation", args=[world.key.pk]),
                            {"lines": f"{DEVICE}\tNEW PC", "action": action})


def bulk_preview_page(world: World) -> str:
    line = _bulk(world, "preview").context["preview"].lines[0]
    if line.status in (NEW, ACTIVE):
        return GRANTED
    assert line.status in (OVER_LIMIT, OVER_CAP, REFUSED), line
    return LIMIT if line.status in (OVER_LIMIT, OVER_CAP) else _by_message(line.reason)


def bulk_commit_page(world: World) -> str:
    response = _bulk(world, "commit")
    if response.status_code == 302:
        return GRANTED
    errors = [str(m) for m in response.context["messages"]]
    if errors == ["There is no new device to activate."] and world.holds_seat():
        return GRANTED  # already active: it keeps its seat
    assert len(errors) == 1, errors
    if "would exceed" in errors[0]:
        return LIMIT
    return _by_message(errors[0])


@dataclass(frozen=True)
class EntryPoint:
    ask: Callable[[World], str]
    by_vendor: bool
    writes: bool = True


ENTRY_POINTS = {
    "decide_seat, device": EntryPoint(decision_by_device, by_vendor=False, writes=False),
    "decide_seat, vendor": EntryPoint(decision_by_vendor, by_vendor=True, writes=False),
    "Web API Activate": EntryPoint(web_api_activate, by_vendor=False),
    "activation form": EntryPoint(activation_form, by_vendor=False),
    "reseller license file": EntryPoint(reseller_license_file, by_vendor=False),
    "vendor license file": EntryPoint(vendor_license_file, by_vendor=True),
    "bulk preview": EntryPoint(bulk_preview_page, by_vendor=True, writes=False),
    "bulk commit": EntryPoint(bulk_commit_page, by_vendor=True),
}


@pytest.mark.parametrize("entry", list(ENTRY_POINTS))
@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_every_entry_point_tells_the_same_story(db, case, entry):
    world = _world(case)
    point = ENTRY_POINTS[entry]
    before = world.fresh_key()
    expected = case.expected(point.by_vendor)

    assert point.ask(world) == expected

    after = world.fresh_key()
    recorded = expected == GRANTED and (point.writes or DEVICE in case.holders) and not (
        after.max_no_of_machines == 0 and not point.by_vendor)
    assert world.holds_seat() == recorded
    assert Activation.objects.filter(key__customer=after.customer).count() <= \
        (case.customer_cap or 10**6)
    if case.key.get("trial_activation") and point.writes and expected == GRANTED:
        restarted = timezone.now() + dt.timedelta(days=after.period)
        assert abs(after.expires - restarted) < dt.timedelta(minutes=1)
    else:
        assert after.expires == before.expires


# --- Floating seats: the decision and the Web API agree ----------------------------------


@dataclass(frozen=True)
class FloatingCase:
    id: str
    limit: int
    live: int = 0  # other devices holding a live floating seat
    expired: int = 0  # other devices whose floating seat expired
    overdraft: int = 0
    holds: bool = False  # the device holds a live seat itself
    block: bool = False
    expect: int = states.ACTIVATION_FLOATING  # log state


FLOATING_CASES = [
    FloatingCase("free seat", limit=2, live=1),
    FloatingCase("expired seats do not count", limit=1, expired=3),
    FloatingCase("full", limit=2, live=2, expect=states.ACTIVATION_FLOATING_LIMIT),
    FloatingCase("overdraft", limit=2, live=2, overdraft=1, expect=states.ACTIVATION_OVERDRAFT),
    FloatingCase("overdraft used up", limit=2, live=3, overdraft=1,
                 expect=states.ACTIVATION_FLOATING_LIMIT),
    FloatingCase("heartbeat of a live seat", limit=1, live=1, holds=True),
    FloatingCase("unlimited", limit=0, live=50),
    FloatingCase("blocked", limit=2, block=True, expect=states.ACTIVATION_BLOCKED),
]


def _floating_key(case: FloatingCase) -> tuple[LicenseKey, str]:
    vendor = make_vendor("Floating vendor")
    key = make_key(ProductFactory(vendor=vendor), max_no_of_machines=case.limit,
                   block=case.block)
    now = timezone.now()
    live, gone = now + dt.timedelta(minutes=5), now - dt.timedelta(minutes=5)
    seats = [(f"live-{n}", live) for n in range(case.live)] + \
        [(f"gone-{n}", gone) for n in range(case.expired)] + \
        ([(DEVICE, live)] if case.holds else [])
    Activation.objects.bulk_create([Activation(key=key, machine_code=code, floating=True,
                                               floating_expires=expires)
                                    for code, expires in seats])
    token = token_create(vendor=vendor, actor=SYSTEM, name="t", permissions=["key.Activate"])[1]
    return key, token


@pytest.mark.parametrize("case", FLOATING_CASES, ids=[case.id for case in FLOATING_CASES])
def test_floating_seats_decided_and_served_alike(db, case):
    key, token = _floating_key(case)
    admission = decide_seat(KeySeats(key), DEVICE, floating=True, overdraft=case.overdraft)
    assert admission.state == case.expect

    body = Client().post("/api/key/Activate", {
        "token": token, "ProductId": key.product_id, "Key": key.key, "MachineCode": DEVICE,
        "FloatingTimeInterval": 100, "MaxOverdraft": case.overdraft, "Sign": "true",
        "SignMethod": 1, "ModelVersion": 3}).json()

    assert WebApiLog.objects.get().state == case.expect
    if admission.granted:
        machines = json.loads(base64.b64decode(body["licenseKey"]))["ActivatedMachines"]
        prefix = OVERDRAFT_PREFIX if case.expect == states.ACTIVATION_OVERDRAFT \
            else FLOATING_PREFIX
        assert prefix + DEVICE in [m["Mid"] for m in machines]
    else:
        assert body == {"result": 1, "message": admission.message}
        assert not key.activations.filter(machine_code=DEVICE).exists()


def test_a_bulk_paste_is_decided_line_by_line_as_devices_arriving_in_turn(db):
    """Grants count for the next line: the key's seats, then AllowedMachines beyond them, then
    the customer's cap, in paste order; the commit writes exactly what the preview showed."""
    vendor = make_vendor("Bulk vendor")
    customer = CustomerFactory(vendor=vendor, max_no_of_devices=4)
    key = make_key(ProductFactory(vendor=vendor), customer=customer, max_no_of_machines=2,
                   allowed_machines="vip-1\nvip-2\nvip-3")
    make_activation(key, "old")

    preview = bulk_preview(key=key, text="a\nb\nvip-1\nold\nvip-2\nvip-3")
    assert [(line.machine_code, line.status) for line in preview.lines] == [
        ("a", NEW), ("b", OVER_LIMIT), ("vip-1", NEW), ("old", ACTIVE), ("vip-2", NEW),
        ("vip-3", OVER_CAP)]

    done = bulk_activate(key=key, text="a\nvip-1\nold\nvip-2", actor=SYSTEM)
    assert [line.machine_code for line in done.to_activate] == ["a", "vip-1", "vip-2"]
    assert sorted(key.activations.values_list("machine_code", flat=True)) == [
        "a", "old", "vip-1", "vip-2"]
    assert bulk_preview(key=key, text="vip-3").lines[0].status == OVER_CAP


# --- The license server's configuration check -----------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_a_license_server_configuration_lists_only_keys_the_seat_rule_can_admit_on(db, case):
    """The customer's server decides its devices' floating seats itself; the portal's check of
    the configuration applies the device-independent part of the seat rule: a key that admits
    nobody (blocked) is refused, any other key may float there."""
    from apps.core.errors import DomainError
    from apps.license_server.services import license_server_configuration_create

    world = _world(case)
    key = world.fresh_key()
    try:
        license_server_configuration_create(
            vendor=key.product.vendor, actor=SYSTEM, name="Office server", keys=[key],
            valid_until=timezone.now() + dt.timedelta(days=30))
    except DomainError as error:
        outcome = _by_message(error.message.removeprefix(f"{key.key}: "))
    else:
        outcome = GRANTED

    assert outcome == (REFUSED_BLOCKED if case.expect == REFUSED_BLOCKED else GRANTED)
