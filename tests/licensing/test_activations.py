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
