import pytest
from django.db import IntegrityError, transaction

from apps.audit.log import Actor
from apps.audit.models import ObjectLogEntry
from apps.licensing import services
from apps.licensing.models import Activation

from ..factories import make_activation, make_key


def test_release_frees_the_seat_and_logs(tenant):
    activation = tenant.activation
    services.activation_release(activation=activation, actor=Actor.for_user(tenant.admin))
    assert not Activation.objects.filter(pk=activation.pk).exists()
    assert tenant.key.activations.count() == 0
    entry = ObjectLogEntry.objects.for_object(tenant.key).get(action="device deactivated")
    assert entry.vendor_id == tenant.vendor.pk
    assert entry.actor_label == tenant.admin.email
    assert entry.changes == {"machine_code": ["machine-1", None],
                             "friendly_name": ["LAPTOP-1", None], "floating": [False, None]}


def test_releasing_an_already_released_seat_logs_nothing_more(tenant):
    actor = Actor.for_system()
    services.activation_release(activation=tenant.activation, actor=actor)
    services.activation_release(activation=tenant.activation, actor=actor)
    assert ObjectLogEntry.objects.for_object(tenant.key).filter(
        action="device deactivated").count() == 1


def test_release_leaves_other_seats_alone(tenant):
    other = make_activation(tenant.key, "machine-2")
    services.activation_release(activation=tenant.activation, actor=Actor.for_system())
    assert list(tenant.key.activations.all()) == [other]


def test_released_machine_can_activate_again(tenant):
    services.activation_release(activation=tenant.activation, actor=Actor.for_system())
    again = make_activation(tenant.key, "machine-1")
    assert list(tenant.key.activations.all()) == [again]


def test_database_refuses_a_second_node_locked_seat_for_the_same_machine(tenant):
    with pytest.raises(IntegrityError), transaction.atomic():
        make_activation(tenant.key, "machine-1")
    assert tenant.key.activations.count() == 1


def test_database_refuses_a_second_floating_seat_for_the_same_machine(tenant):
    make_activation(tenant.key, "float-1", floating=True)
    with pytest.raises(IntegrityError), transaction.atomic():
        make_activation(tenant.key, "float-1", floating=True)
    assert tenant.key.activations.filter(machine_code="float-1").count() == 1


def test_same_machine_may_hold_one_node_locked_and_one_floating_seat(tenant):
    make_activation(tenant.key, "machine-1", floating=True)
    assert sorted(tenant.key.activations.filter(machine_code="machine-1")
                  .values_list("floating", flat=True)) == [False, True]


def test_same_machine_may_activate_different_keys(tenant):
    other_key = make_key(tenant.product)
    make_activation(other_key, "machine-1")
    assert Activation.objects.filter(machine_code="machine-1").count() == 2


# --- Several devices of one key at once (the vendor's multi-select) ---


def test_release_for_key_frees_the_chosen_devices_and_logs_each(tenant):
    from apps.licensing.services.activations import activations_release_for_key

    second = make_activation(tenant.key, "machine-2", friendly_name="DESK-2")
    kept = make_activation(tenant.key, "machine-3")
    freed = activations_release_for_key(key=tenant.key, actor=Actor.for_user(tenant.admin),
                                        activation_ids=[tenant.activation.pk, second.pk])
    assert freed == 2
    assert list(tenant.key.activations.all()) == [kept]
    entries = ObjectLogEntry.objects.for_object(tenant.key).filter(action="device deactivated")
    assert sorted(e.changes["machine_code"][0] for e in entries) == ["machine-1", "machine-2"]
    assert {e.actor_label for e in entries} == {tenant.admin.email}


def test_release_for_key_ignores_other_keys_and_other_vendors_devices(tenant, other_tenant):
    from apps.licensing.services.activations import activations_release_for_key

    sibling = make_activation(make_key(tenant.product), "sibling-pc")
    freed = activations_release_for_key(
        key=tenant.key, actor=Actor.for_system(),
        activation_ids=[other_tenant.activation.pk, sibling.pk, 10**12])
    assert freed == 0
    assert Activation.objects.filter(pk__in=[other_tenant.activation.pk, sibling.pk,
                                             tenant.activation.pk]).count() == 3
    assert not ObjectLogEntry.objects.filter(action="device deactivated").exists()


def test_release_for_key_counts_a_device_freed_meanwhile_once(tenant):
    from apps.licensing.services.activations import activations_release_for_key

    services.activation_release(activation=tenant.activation, actor=Actor.for_system())
    assert activations_release_for_key(key=tenant.key, actor=Actor.for_system(),
                                       activation_ids=[tenant.activation.pk]) == 0
    assert ObjectLogEntry.objects.for_object(tenant.key).filter(
        action="device deactivated").count() == 1


def test_release_for_customer_still_frees_only_the_customers_devices(tenant, other_tenant):
    from apps.licensing.services.activations import activations_release_for_customer

    freed = activations_release_for_customer(
        customer=tenant.customer, actor=Actor.for_system(),
        activation_ids=[tenant.activation.pk, other_tenant.activation.pk])
    assert freed == 1
    assert not Activation.objects.filter(pk=tenant.activation.pk).exists()
    assert Activation.objects.filter(pk=other_tenant.activation.pk).exists()
    assert ObjectLogEntry.objects.for_object(tenant.key).get(
        action="device deactivated (customer portal)").changes["machine_code"] == [
            "machine-1", None]
