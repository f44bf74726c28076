"""Seat admission: whether a device gets a seat on a key, decided in one place.

Every way a device arrives asks `decide_seat`: the Web API's Activate (node-locked and
floating), the license files made in the vendor and reseller portals, the public activation
forms, and bulk activation, whose preview and commit run the same decision line by line. The
decision writes nothing. It reads what it needs through `KeySeats`, each fact once; a caller
that will write locks the key's row first (and asks KeySeats to lock the customer's row when
it reads the customer's device cap), decides, then writes what the `Admission` says.

The rule, in order (Cryptolens' key/Activate, plus this portal's customer cap):
1. a blocked key admits nobody;
2. floating: a device whose seat is still live renews it; a new one needs fewer live seats
   than MaxNoOfMachines + overdraft (0 = unlimited), beyond MaxNoOfMachines in overdraft;
3. a device that holds its node-locked seat keeps it, whatever else changed since;
4. a form that serves only registered devices admits no other device outside AllowedMachines;
5. automatic activation off: only the vendor activates new devices;
6. MaxNoOfMachines 0: not node-locked, nothing is recorded (the vendor's own activation is
   recorded, without a limit, so that a controlled key knows its devices);
7. a new device needs a free seat, unless AllowedMachines lists it;
8. the customer's device cap (MaxNoOfDevices, 0 = none) counts node-locked devices over all
   the customer's keys, AllowedMachines included;
9. trial activation: every new recorded seat starts the countdown (Expires = now + Period)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cached_property

from django.db import connection
from django.utils import timezone

from apps.core.errors import DomainError
from apps.licensing.models import Activation, Customer, LicenseKey
from apps.usage import states

BLOCKED = "The key is blocked and cannot be accessed."
LIMIT_REACHED = "Cannot activate the new device as the limit has been reached."

# Why a device was refused (Admission.cause).
KEY_BLOCKED = "key blocked"
NOT_REGISTERED = "not registered"
CONTROLLED = "automatic activation off"
KEY_FULL = "seat limit reached"
CUSTOMER_FULL = "customer device cap reached"
FLOATING_FULL = "floating limit reached"

_REFUSAL_STATES = {KEY_BLOCKED: states.ACTIVATION_BLOCKED,
                   FLOATING_FULL: states.ACTIVATION_FLOATING_LIMIT}


@dataclass(frozen=True)
class Admission:
    """The answer for one device. `state` is the Web API log state of the outcome; `seat` is
    the seat the device already holds (node-locked, or a live floating one)."""

    state: int
    seat: Activation | None = None
    cause: str = ""  # why refused; "" when granted
    starts_trial: bool = False

    @property
    def granted(self) -> bool:
        return not self.cause

    @property
    def takes_seat(self) -> bool:
        """Granted, and the caller writes a new seat."""
        return self.granted and self.seat is None \
            and self.state != states.ACTIVATION_NOT_NODE_LOCKED

    @property
    def message(self) -> str:
        """The Web API's wording of a refusal (wire-compatible)."""
        if not self.cause:
            return ""
        return BLOCKED if self.cause == KEY_BLOCKED else LIMIT_REACHED

    def refusal(self, *, field: str | None = None) -> SeatRefused:
        return SeatRefused(self, field=field)


class SeatRefused(DomainError):
    """A refused admission, raised by the services that write seats."""

    def __init__(self, admission: Admission, *, field: str | None = None) -> None:
        super().__init__(admission.message, field=field, state=admission.state)
        self.admission = admission
        self.cause = admission.cause


def _refused(cause: str) -> Admission:
    return Admission(_REFUSAL_STATES.get(cause, states.ACTIVATION_LIMIT), cause=cause)


# The count of a key's node-locked seats and the id of the device's own, in one statement
# written out: every new device asks it twice (before and under the key's lock), and the
# ORM took longer to build this aggregate than the database takes to answer it.
_SEATS_SQL = (
    f"SELECT COUNT(*), MAX(CASE WHEN machine_code = %s THEN id END) "  # noqa: S608
    f"FROM {Activation._meta.db_table} WHERE key_id = %s AND NOT floating")


class KeySeats:
    """What the seat rule reads about one key, each fact read when first needed and kept.

    A caller deciding several devices in a row (bulk activation) tells it about each seat it
    grants (`took`), so that the next device counts it. `limit` replaces MaxNoOfMachines (bulk
    activation may raise it in the same step). With `lock_customer` the customer's row is read
    FOR UPDATE, after the key's row that the caller locked, so parallel activations on several
    of a customer's keys count one after the other."""

    def __init__(self, key: LicenseKey, *, now: dt.datetime | None = None,
                 limit: int | None = None, lock_customer: bool = False) -> None:
        self.key = key
        self.now = now or timezone.now()
        self.limit = key.max_no_of_machines if limit is None else limit
        self._lock_customer = lock_customer
        self._holders: dict[str, Activation] | None = None
        self._looked_up: dict[str, Activation | None] = {}
        self._granted: set[str] = set()  # told by `took`, not written yet
        # The key's devices, when the caller loaded them (the Web API does): no query.
        prefetched = getattr(key, "_prefetched_objects_cache", {}).get("activations")
        if prefetched is not None:
            self._holders = {a.machine_code: a for a in prefetched if not a.floating}

    @classmethod
    def whole(cls, key: LicenseKey, *, limit: int | None = None,
              lock_customer: bool = False) -> KeySeats:
        """With every node-locked seat of the key read at once (one query for many devices)."""
        seats = cls(key, limit=limit, lock_customer=lock_customer)
        seats._holders = {a.machine_code: a for a in Activation.objects.filter(
            key=key, floating=False).only("id", "key_id", "machine_code")}
        return seats

    def holder(self, machine_code: str) -> Activation | None:
        """The device's node-locked seat (unsaved when granted here and not yet written)."""
        if machine_code in self._granted:
            return Activation(key=self.key, machine_code=machine_code)
        if self._holders is not None:
            return self._holders.get(machine_code)
        if machine_code not in self._looked_up:
            self._looked_up[machine_code] = self._look_up(machine_code)
        return self._looked_up[machine_code]

    def _look_up(self, machine_code: str) -> Activation | None:
        """The device's node-locked seat; the first time, with the count of the key's seats
        in the same query (the rule asks for it next when the device holds none)."""
        seats = Activation.objects.filter(key=self.key, floating=False)
        if "used" in self.__dict__:
            return seats.filter(machine_code=machine_code).first()
        with connection.cursor() as cursor:
            cursor.execute(_SEATS_SQL, [machine_code, self.key.pk])
            self.used, holder = cursor.fetchone()
        if holder is None:
            return None
        # Freed in between (the caller holds no lock): as if it had never been there.
        return seats.filter(pk=holder).first()

    @cached_property
    def allowed(self) -> frozenset[str]:
        return frozenset(self.key.allowed_machine_list)

    @cached_property
    def used(self) -> int:
        """Node-locked seats taken on the key."""
        if self._holders is not None:
            return len(self._holders)
        return Activation.objects.filter(key=self.key, floating=False).count()

    @cached_property
    def customer_cap(self) -> int:
        key = self.key
        if key.customer_id is None:
            return 0
        if not self._lock_customer and "customer" in key._state.fields_cache:
            customer = key.customer  # loaded already: no query
            assert customer is not None  # its id is set
            return customer.max_no_of_devices
        customers = Customer.objects.filter(pk=key.customer_id)
        if self._lock_customer:
            customers = customers.select_for_update()
        return customers.values_list("max_no_of_devices", flat=True).get()

    @cached_property
    def customer_used(self) -> int:
        """Node-locked devices over all of the customer's keys."""
        if self.key.customer_id is None:  # no customer, no cap (customer_cap is 0)
            return 0
        return Activation.objects.filter(key__customer_id=self.key.customer_id,
                                         floating=False).count()

    def floating_seat(self, machine_code: str) -> Activation | None:
        """The device's floating seat, if still live."""
        return Activation.objects.filter(key=self.key, machine_code=machine_code,
                                         floating=True, floating_expires__gt=self.now).first()

    @cached_property
    def floating_in_use(self) -> int:
        return Activation.objects.filter(key=self.key, floating=True,
                                         floating_expires__gt=self.now).count()

    def took(self, machine_code: str) -> None:
        """Count a node-locked seat just granted to `machine_code` (not yet written)."""
        self.used = self.used + 1
        if self.customer_cap:
            self.customer_used = self.customer_used + 1
        self._granted.add(machine_code)


def key_refusal(key: LicenseKey) -> Admission | None:
    """The refusal that applies to every device of `key`, whatever it asks: None when a device
    may be admitted at all (the first step of `decide_seat`)."""
    return _refused(KEY_BLOCKED) if key.block else None


def decide_seat(seats: KeySeats, machine_code: str, *, floating: bool = False,
                overdraft: int = 0, by_vendor: bool = False,
                registered_only: bool = False) -> Admission:
    """Whether the device `machine_code` gets a seat on `seats.key` (the rule is in the module
    docstring). `by_vendor`: the vendor activates the device itself (its portal's license
    file, bulk activation), so automatic activation off does not stop it. `registered_only`:
    an activation form that serves only devices already activated or listed in
    AllowedMachines. Reads through `seats`, writes nothing."""
    refusal = key_refusal(seats.key)
    if refusal is not None:
        return refusal
    if floating:
        return _decide_floating(seats, machine_code, max(0, overdraft))
    held = seats.holder(machine_code)
    if held is not None:
        return Admission(states.ACTIVATION_EXISTING, seat=held)
    allowed = machine_code in seats.allowed
    if registered_only and not allowed:
        return _refused(NOT_REGISTERED)
    if not seats.key.automatic_activation and not by_vendor:
        return _refused(CONTROLLED)
    limit = seats.limit
    if limit == 0 and not by_vendor:
        return Admission(states.ACTIVATION_NOT_NODE_LOCKED)
    if limit and seats.used >= limit and not allowed:
        return _refused(KEY_FULL)
    if seats.customer_cap and seats.customer_used >= seats.customer_cap:
        return _refused(CUSTOMER_FULL)
    state = states.ACTIVATION_NEW if not limit or seats.used < limit \
        else states.ACTIVATION_ALLOWED_MACHINE
    return Admission(state, starts_trial=seats.key.trial_activation)


def _decide_floating(seats: KeySeats, machine_code: str, overdraft: int) -> Admission:
    live = seats.floating_seat(machine_code)
    if live is not None:
        return Admission(states.ACTIVATION_OVERDRAFT if live.overdraft
                         else states.ACTIVATION_FLOATING, seat=live)
    limit, in_use = seats.limit, seats.floating_in_use if seats.limit else 0
    if limit and in_use >= limit + overdraft:
        return _refused(FLOATING_FULL)
    return Admission(states.ACTIVATION_OVERDRAFT if limit and in_use >= limit
                     else states.ACTIVATION_FLOATING)


__all__ = ["BLOCKED", "LIMIT_REACHED", "Admission", "KeySeats", "SeatRefused", "decide_seat",
           "key_refusal"]
