"""key/Activate and sdk/SignApplication decide a device's seat with one rule
(apps.licensing.services.seats.key_activate): for each case, both entry points give the same
answer, the same seats and the same Web API log state. On PostgreSQL, Activate's re-activation
of a device that holds its seat is served by the one-statement fast path, which must agree too."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from django.utils import timezone

from apps.licensing.models import Activation, LicenseKey
from apps.licensing.services.seats import BLOCKED, LIMIT_REACHED, MACHINE_CODE_TOO_LONG
from apps.usage import states
from apps.usage.models import WebApiLog
from tests.factories import CustomerFactory, make_activation, make_key

from .live import Server

ENTRY_POINTS = ["key/Activate", "sdk/SignApplication"]
FINGERPRINT = hashlib.sha256(b"app").hexdigest()


def _call(server: Server, entry: str, key: LicenseKey, machine: str) -> dict:
    params = {"ProductId": key.product_id, "Key": key.key, "MachineCode": machine}
    if entry == "key/Activate":
        params.update(Sign="True", SignMethod=1)
    else:
        params.update(Fingerprint=FINGERPRINT)
    return server.post(entry, **params)


def _answer(body: dict) -> str:
    """"ok", or the refusal's message."""
    if body["result"] == 0:
        return "ok"
    return body["message"]


def _seats(key: LicenseKey) -> set[str]:
    return set(Activation.objects.filter(key=key).values_list("machine_code", flat=True))


def _states(entry: str, key: LicenseKey) -> list[int]:
    method = entry.replace("/", ".")
    return list(WebApiLog.objects.filter(method=method, key=key.key).order_by("id")
                .values_list("state", flat=True))


@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_a_full_key_refuses_a_new_machine_and_accepts_its_holder(server, entry):
    key = make_key(server.product, max_no_of_machines=1)
    make_activation(key, "machine-a")

    answers = [_answer(_call(server, entry, key, m)) for m in ("machine-b", "machine-a")]

    assert answers == [LIMIT_REACHED, "ok"]
    assert _seats(key) == {"machine-a"}
    assert _states(entry, key) == [states.ACTIVATION_LIMIT, states.ACTIVATION_EXISTING]


@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_a_blocked_key_refuses_every_machine(server, entry):
    key = make_key(server.product, max_no_of_machines=1, block=True)
    make_activation(key, "machine-a")

    answers = [_answer(_call(server, entry, key, m)) for m in ("machine-a", "machine-b")]

    assert answers == [BLOCKED, BLOCKED]
    assert _seats(key) == {"machine-a"}
    assert _states(entry, key) == [states.ACTIVATION_BLOCKED] * 2


@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_a_key_without_a_machine_limit_accepts_any_machine(server, entry):
    key = make_key(server.product, max_no_of_machines=0)

    answers = [_answer(_call(server, entry, key, f"pc-{n}")) for n in range(4)]

    assert answers == ["ok"] * 4
    assert _seats(key) == set()
    assert _states(entry, key) == [states.ACTIVATION_NOT_NODE_LOCKED] * 4


@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_a_free_seat_is_taken_once(server, entry):
    key = make_key(server.product, max_no_of_machines=2)
    make_activation(key, "machine-a")

    answers = [_answer(_call(server, entry, key, m))
               for m in ("machine-b", "machine-b", "machine-c")]

    assert answers == ["ok", "ok", LIMIT_REACHED]
    assert _seats(key) == {"machine-a", "machine-b"}
    assert _states(entry, key) == [states.ACTIVATION_NEW, states.ACTIVATION_EXISTING,
                                   states.ACTIVATION_LIMIT]


@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_an_allowed_machine_passes_the_limit(server, entry):
    key = make_key(server.product, max_no_of_machines=1, allowed_machines="listed-pc")
    make_activation(key, "machine-a")

    answers = [_answer(_call(server, entry, key, m)) for m in ("listed-pc", "other-pc")]

    assert answers == ["ok", LIMIT_REACHED]
    assert _seats(key) == {"machine-a", "listed-pc"}
    assert _states(entry, key) == [states.ACTIVATION_ALLOWED_MACHINE, states.ACTIVATION_LIMIT]


@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_automatic_activation_off_refuses_a_new_machine_only(server, entry):
    key = make_key(server.product, max_no_of_machines=3, automatic_activation=False)
    make_activation(key, "machine-a")

    answers = [_answer(_call(server, entry, key, m)) for m in ("machine-b", "machine-a")]

    assert answers == [LIMIT_REACHED, "ok"]
    assert _seats(key) == {"machine-a"}


@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_the_customers_device_cap_counts_across_its_keys(server, entry):
    customer = CustomerFactory(vendor=server.vendor, max_no_of_devices=1)
    first = make_key(server.product, max_no_of_machines=5, customer=customer)
    second = make_key(server.product, max_no_of_machines=5, customer=customer)
    make_activation(first, "machine-a")

    assert _answer(_call(server, entry, second, "machine-b")) == LIMIT_REACHED
    assert _seats(second) == set()


@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_a_machine_code_over_128_characters_is_refused(server, entry):
    key = make_key(server.product, max_no_of_machines=1)

    assert _answer(_call(server, entry, key, "m" * 129)) == MACHINE_CODE_TOO_LONG
    assert _seats(key) == set()


@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_trial_activation_starts_the_countdown_even_past_the_keys_date(server, entry):
    key = make_key(server.product, max_no_of_machines=2, trial_activation=True, period=30)
    LicenseKey.objects.filter(pk=key.pk).update(expires=timezone.now() - dt.timedelta(days=5))

    assert _answer(_call(server, entry, key, "machine-a")) == "ok"

    expires = LicenseKey.objects.get(pk=key.pk).expires
    assert abs(expires - (timezone.now() + dt.timedelta(days=30))) < dt.timedelta(minutes=5)
    assert _seats(key) == {"machine-a"}
