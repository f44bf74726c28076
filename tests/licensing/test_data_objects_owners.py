"""Data objects on every owner (apps/licensing/services/data_objects.py): the account, a
product, a key and a key's machine code; bounds, batches, and what deactivation does."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from apps.audit.log import Actor
from apps.audit.models import ObjectLogEntry
from apps.core.errors import DomainError
from apps.licensing import services
from apps.licensing.models import Activation, DataObject
from apps.licensing.services.activations import activations_release_for_key
from apps.licensing.services.data_objects import (
    BOUND_REACHED,
    DUPLICATE_NAME,
    MACHINE_NOT_ACTIVATED,
    NOT_FOUND,
    OUT_OF_RANGE,
    Owner,
    data_object_change_int,
    data_object_create,
    data_object_remove,
    data_object_set,
    data_objects_upload_values,
)
from apps.licensing.services.seats import key_deactivate

from ..factories import ProductFactory, make_activation, make_key, make_vendor

SYSTEM = Actor.for_system("test")
INT64 = 2**63


@pytest.fixture
def world(db):
    vendor = make_vendor("Owners Ltd")
    product = ProductFactory(vendor=vendor)
    key = make_key(product, max_no_of_machines=3)
    make_activation(key, "pc-1")
    make_activation(key, "pc-2")
    return vendor, product, key


def _owners(world) -> dict[str, Owner]:
    vendor, product, key = world
    return {"account": Owner.account(vendor), "product": Owner.of_product(product),
            "key": Owner.of_key(key), "machine": Owner.of_machine(key, "pc-1")}


@pytest.mark.parametrize("kind, referencer_type", [("account", 0), ("product", 1), ("key", 2),
                                                   ("machine", 3)])
def test_each_owner_gets_its_own_objects(world, kind, referencer_type):
    vendor, product, key = world
    owners = _owners(world)

    obj = data_object_create(owner=owners[kind], actor=SYSTEM, name="seats", int_value=4,
                             string_value="s")

    obj.refresh_from_db()
    assert (obj.vendor, obj.referencer_type, obj.int_value, obj.string_value) == (
        vendor, referencer_type, 4, "s")
    assert (obj.product, obj.key, obj.machine_key, obj.machine_code) == {
        "account": (None, None, None, ""), "product": (product, None, None, ""),
        "key": (None, key, None, ""), "machine": (None, None, key, "pc-1")}[kind]
    for other, owner in owners.items():
        assert list(owner.objects()) == ([obj] if other == kind else [])


def test_a_keys_license_carries_only_the_keys_own_objects(world):
    owners = _owners(world)
    key_obj = data_object_create(owner=owners["key"], actor=SYSTEM, name="k")
    data_object_create(owner=owners["machine"], actor=SYSTEM, name="m")
    data_object_create(owner=owners["product"], actor=SYSTEM, name="p")

    assert list(world[2].data_objects.all()) == [key_obj]


def test_a_machine_code_must_be_activated_on_the_key(world):
    _, _, key = world
    with pytest.raises(DomainError) as refused:
        data_object_create(owner=Owner.of_machine(key, "stranger"), actor=SYSTEM, name="x")
    assert refused.value.message == MACHINE_NOT_ACTIVATED
    assert not DataObject.objects.exists()


def test_duplicates_are_refused_per_owner_only_when_asked(world):
    owners = _owners(world)
    data_object_create(owner=owners["key"], actor=SYSTEM, name="usage")
    data_object_create(owner=owners["key"], actor=SYSTEM, name="usage")  # not checked: allowed
    with pytest.raises(DomainError, match=DUPLICATE_NAME):
        data_object_create(owner=owners["key"], actor=SYSTEM, name="usage",
                           check_for_duplicates=True)
    data_object_create(owner=owners["machine"], actor=SYSTEM, name="usage",
                       check_for_duplicates=True)  # another owner: allowed
    assert owners["key"].objects().count() == 2


def test_the_database_refuses_an_object_with_two_owners(world):
    _, product, key = world
    with pytest.raises(IntegrityError), transaction.atomic():
        DataObject.objects.create(name="x", key=key, product=product)


def test_bounds_are_inclusive_and_refusals_change_nothing(world):
    obj = data_object_create(owner=_owners(world)["key"], actor=SYSTEM, name="c", int_value=8)

    assert data_object_change_int(data_object=obj, actor=SYSTEM, delta=2, bound=10).int_value == 10
    with pytest.raises(DomainError, match=BOUND_REACHED):
        data_object_change_int(data_object=obj, actor=SYSTEM, delta=1, bound=10)
    assert data_object_change_int(data_object=obj, actor=SYSTEM, delta=-10, bound=0).int_value == 0
    with pytest.raises(DomainError, match=BOUND_REACHED):
        data_object_change_int(data_object=obj, actor=SYSTEM, delta=-1, bound=0)
    obj.refresh_from_db()
    assert obj.int_value == 0


def test_a_bound_already_passed_refuses_further_steps_that_way(world):
    obj = data_object_create(owner=_owners(world)["key"], actor=SYSTEM, name="c", int_value=20)
    with pytest.raises(DomainError, match=BOUND_REACHED):
        data_object_change_int(data_object=obj, actor=SYSTEM, delta=1, bound=10)
    assert data_object_change_int(data_object=obj, actor=SYSTEM, delta=-1, bound=10).int_value == 19


def test_a_change_past_64_bits_is_refused(world):
    obj = data_object_create(owner=_owners(world)["key"], actor=SYSTEM, name="c",
                             int_value=INT64 - 2)
    with pytest.raises(DomainError, match=OUT_OF_RANGE):
        data_object_change_int(data_object=obj, actor=SYSTEM, delta=5)
    obj.refresh_from_db()
    assert obj.int_value == INT64 - 2
    low = data_object_create(owner=_owners(world)["key"], actor=SYSTEM, name="low",
                             int_value=-INT64)
    with pytest.raises(DomainError, match=BOUND_REACHED):  # bound - delta below 64 bits
        data_object_change_int(data_object=low, actor=SYSTEM, delta=INT64 - 1, bound=-INT64)
    assert data_object_change_int(data_object=low, actor=SYSTEM, delta=INT64 - 1).int_value == -1


def test_a_removed_object_cannot_be_changed(world):
    obj = data_object_create(owner=_owners(world)["key"], actor=SYSTEM, name="c")
    data_object_remove(data_object=obj, actor=SYSTEM)
    with pytest.raises(DomainError, match=NOT_FOUND):
        data_object_change_int(data_object=obj, actor=SYSTEM, delta=1)
    with pytest.raises(DomainError, match=NOT_FOUND):
        data_object_set(data_object=obj, actor=SYSTEM, int_value=1)


def test_set_changes_one_value_and_logs_it_on_the_owner(world):
    vendor, product, _ = world
    obj = data_object_create(owner=Owner.of_product(product), actor=SYSTEM, name="tier",
                             string_value="basic", int_value=1)
    data_object_set(data_object=obj, actor=SYSTEM, string_value="pro")
    obj.refresh_from_db()
    assert (obj.string_value, obj.int_value) == ("pro", 1)
    entry = ObjectLogEntry.objects.for_object(product).get(action="data object changed")
    assert entry.changes == {"string_value": ["basic", "pro"]}
    account = data_object_create(owner=Owner.account(vendor), actor=SYSTEM, name="a")
    data_object_remove(data_object=account, actor=SYSTEM)
    assert ObjectLogEntry.objects.for_object(vendor).filter(
        action__in=["data object added", "data object removed"]).count() == 2


def test_an_upload_applies_every_change_or_none(world):
    _, _, key = world
    owner = Owner.of_key(key)
    a = data_object_create(owner=owner, actor=SYSTEM, name="a", int_value=10)
    b = data_object_create(owner=owner, actor=SYSTEM, name="b", int_value=10)
    machine = data_object_create(owner=Owner.of_machine(key, "pc-1"), actor=SYSTEM, name="m")

    data_objects_upload_values(key=key, actor=SYSTEM, changes=[(a.pk, 5), (b.pk, -3), (a.pk, 1)])
    with pytest.raises(DomainError, match=NOT_FOUND), transaction.atomic():
        data_objects_upload_values(key=key, actor=SYSTEM,
                                   changes=[(a.pk, 100), (machine.pk, 1)])  # not a key object

    a.refresh_from_db(), b.refresh_from_db()
    assert (a.int_value, b.int_value) == (16, 7)


def test_deactivating_a_device_drops_its_data_objects_only(world):
    _, _, key = world
    one = data_object_create(owner=Owner.of_machine(key, "pc-1"), actor=SYSTEM, name="x")
    two = data_object_create(owner=Owner.of_machine(key, "pc-2"), actor=SYSTEM, name="x")
    key_obj = data_object_create(owner=Owner.of_key(key), actor=SYSTEM, name="x")

    key_deactivate(key=key, machine_code="pc-1", floating=False, actor=SYSTEM)

    assert set(DataObject.objects.all()) == {two, key_obj}
    assert not DataObject.objects.filter(pk=one.pk).exists()
    make_activation(key, "pc-1")  # activated again: it starts with none
    assert not Owner.of_machine(key, "pc-1").objects().exists()


@pytest.mark.parametrize("how", ["release", "release_for_key", "floating"])
def test_every_deactivation_path_drops_the_devices_objects(world, how):
    _, _, key = world
    if how == "floating":
        make_activation(key, "float-1", floating=True)
        code = "float-1"
    else:
        code = "pc-1"
    data_object_create(owner=Owner.of_machine(key, code), actor=SYSTEM, name="x")
    seat = Activation.objects.get(key=key, machine_code=code)

    if how == "release":
        services.activation_release(activation=seat, actor=SYSTEM)
    elif how == "release_for_key":
        activations_release_for_key(key=key, activation_ids=[seat.pk], actor=SYSTEM)
    else:
        key_deactivate(key=key, machine_code=code, floating=True, actor=SYSTEM)

    assert not DataObject.objects.filter(machine_code=code).exists()


def test_objects_stay_while_the_machine_code_still_holds_another_seat(world):
    _, _, key = world
    make_activation(key, "pc-1", floating=True)
    obj = data_object_create(owner=Owner.of_machine(key, "pc-1"), actor=SYSTEM, name="x")

    key_deactivate(key=key, machine_code="pc-1", floating=False, actor=SYSTEM)

    assert DataObject.objects.filter(pk=obj.pk).exists()
