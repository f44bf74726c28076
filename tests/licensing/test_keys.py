import datetime as dt
import re

import pytest
from django.db import DataError, IntegrityError, transaction
from django.utils import timezone

from apps.audit.log import Actor
from apps.audit.models import ObjectLogEntry
from apps.core.errors import DomainError
from apps.licensing import keygen, services
from apps.licensing.models import LicenseKey, Product
from apps.licensing.services import keys as keys_module

from ..factories import CustomerFactory, ProductFactory

KEY_FORMAT = re.compile(r"^[A-Z]{5}(-[A-Z]{5}){3}$")
NOTES_TOO_LONG = "The notes field cannot be more than 500 characters."


def _create(product, count=1, actor=None, **spec):
    spec.setdefault("period", 30)
    return services.key_create(product=product, actor=actor or Actor.for_system("test"),
                               spec=services.KeySpec(**spec), count=count)


def _log(key, action):
    return ObjectLogEntry.objects.for_object(key).filter(action=action)


def test_key_strings_have_four_groups_of_five_capitals_and_are_unique():
    generated = [keygen.new_key_string() for _ in range(2000)]
    assert all(KEY_FORMAT.match(k) for k in generated)
    assert len(set(generated)) == len(generated)


def test_batch_gets_consecutive_serials_starting_at_one(tenant):
    product = ProductFactory(vendor=tenant.vendor)
    first = _create(product, count=3)
    second = _create(product, count=2)
    assert [k.serial for k in first] == [1, 2, 3]
    assert [k.serial for k in second] == [4, 5]
    assert Product.objects.get(pk=product.pk).next_key_serial == 6
    assert product.next_key_serial == 6
    assert len({k.key for k in first + second}) == 5
    assert all(KEY_FORMAT.match(k.key) for k in first + second)


def test_serials_are_counted_per_product(tenant):
    other = ProductFactory(vendor=tenant.vendor)
    assert [k.serial for k in _create(other, count=2)] == [1, 2]
    assert [k.serial for k in _create(tenant.product)] == [2]


def test_expiry_is_creation_plus_period_days(tenant):
    for period in (0, 1, 365, -3):
        key = _create(tenant.product, period=period)[0]
        key.refresh_from_db()
        assert key.period == period
        assert key.expires - key.created == dt.timedelta(days=period)


def test_spec_fields_are_stored(tenant):
    key = _create(tenant.product, features=[True, False, True, False, False, False, False, True],
                  notes="hello", max_no_of_machines=4, customer=tenant.customer,
                  trial_activation=True, allowed_machines="a\nb", automatic_activation=False,
                  block=True)[0]
    key.refresh_from_db()
    assert key.features == [True, False, True, False, False, False, False, True]
    assert (key.notes, key.max_no_of_machines, key.customer) == ("hello", 4, tenant.customer)
    assert key.trial_activation and key.block and not key.automatic_activation
    assert key.allowed_machine_list == ["a", "b"]


def test_notes_of_500_characters_are_accepted(tenant):
    key = _create(tenant.product, notes="n" * 500)[0]
    assert LicenseKey.objects.get(pk=key.pk).notes == "n" * 500


def test_notes_over_500_characters_are_refused_and_nothing_is_created(tenant):
    before_keys = LicenseKey.objects.count()
    before_serial = Product.objects.get(pk=tenant.product.pk).next_key_serial
    with pytest.raises(DomainError) as error:
        _create(tenant.product, count=3, notes="n" * 501)
    assert error.value.message == NOTES_TOO_LONG
    assert str(error.value) == NOTES_TOO_LONG
    assert LicenseKey.objects.count() == before_keys
    assert Product.objects.get(pk=tenant.product.pk).next_key_serial == before_serial


@pytest.mark.parametrize("count", [0, -1, 1001])
def test_count_outside_1_to_1000_is_refused(tenant, count):
    before = LicenseKey.objects.count()
    with pytest.raises(DomainError):
        _create(tenant.product, count=count)
    assert LicenseKey.objects.count() == before


def test_batch_with_a_failing_insert_leaves_no_key(tenant, monkeypatch):
    product = ProductFactory(vendor=tenant.vendor)
    real_create = LicenseKey.objects.create
    calls = []

    def failing_create(**kwargs):
        calls.append(kwargs["serial"])
        if len(calls) == 3:
            raise RuntimeError("disk full")
        return real_create(**kwargs)

    monkeypatch.setattr(LicenseKey.objects, "create", failing_create)
    log_size = ObjectLogEntry.objects.count()
    with pytest.raises(RuntimeError):
        _create(product, count=3)
    monkeypatch.undo()
    assert calls == [1, 2, 3]
    assert not LicenseKey.objects.filter(product=product).exists()
    assert Product.objects.get(pk=product.pk).next_key_serial == 1
    assert ObjectLogEntry.objects.count() == log_size


def test_key_string_clash_is_retried(tenant, monkeypatch):
    taken = tenant.key.key
    fresh = iter([taken, taken, "ZZZZZ-ZZZZZ-ZZZZZ-ZZZZZ"])
    monkeypatch.setattr(keys_module, "new_key_string", lambda: next(fresh))
    key = _create(tenant.product)[0]
    assert key.key == "ZZZZZ-ZZZZZ-ZZZZZ-ZZZZZ"
    assert LicenseKey.objects.filter(product=tenant.product, key=taken).count() == 1


def test_endless_key_string_clash_gives_up_and_creates_nothing(tenant, monkeypatch):
    product = ProductFactory(vendor=tenant.vendor)
    monkeypatch.setattr(keys_module, "new_key_string", lambda: "AAAAA-BBBBB-CCCCC-DDDDD")
    with pytest.raises(DomainError, match="unique key"):
        _create(product, count=3)
    assert not LicenseKey.objects.filter(product=product).exists()
    assert Product.objects.get(pk=product.pk).next_key_serial == 1


def test_customer_of_another_vendor_is_refused(tenant, other_tenant):
    before = LicenseKey.objects.count()
    with pytest.raises(DomainError) as error:
        _create(tenant.product, customer=other_tenant.customer)
    assert error.value.field == "customer"
    assert LicenseKey.objects.count() == before


def test_key_create_logs_each_key_with_actor_and_values(tenant):
    keys = _create(tenant.product, count=2, actor=Actor.for_user(tenant.owner), notes="batch")
    for key in keys:
        entry = _log(key, "created").get()
        assert entry.vendor_id == tenant.vendor.pk
        assert (entry.actor_type, entry.actor_id, entry.actor_label) == (
            "user", tenant.owner.pk, tenant.owner.email)
        assert entry.object_repr == key.key
        assert entry.changes["key"] == [None, key.key]
        assert entry.changes["notes"] == [None, "batch"]


def test_key_update_logs_before_and_after(tenant):
    key = tenant.key
    old_notes = key.notes
    services.key_update(key=key, actor=Actor.for_user(tenant.admin), notes="renewed", f3=True,
                        max_no_of_machines=5)
    stored = LicenseKey.objects.get(pk=key.pk)
    assert (stored.notes, stored.f3, stored.max_no_of_machines) == ("renewed", True, 5)
    assert key.notes == "renewed"
    entry = _log(key, "updated").get()
    assert entry.actor_label == tenant.admin.email
    assert entry.changes == {
        "notes": [old_notes, "renewed"], "f3": [False, True], "max_no_of_machines": [2, 5],
    }


def test_key_update_without_change_logs_nothing(tenant):
    services.key_update(key=tenant.key, actor=Actor.for_system(), notes=tenant.key.notes)
    assert not _log(tenant.key, "updated").exists()


def test_key_update_changes_the_customer_of_the_same_vendor_only(tenant, other_tenant):
    new_customer = CustomerFactory(vendor=tenant.vendor, name="Zed")
    services.key_update(key=tenant.key, actor=Actor.for_system(), customer=new_customer)
    assert LicenseKey.objects.get(pk=tenant.key.pk).customer == new_customer
    assert _log(tenant.key, "updated").get().changes == {
        "customer": [str(tenant.customer), "Zed"]}
    with pytest.raises(DomainError):
        services.key_update(key=tenant.key, actor=Actor.for_system(),
                            customer=other_tenant.customer)
    assert LicenseKey.objects.get(pk=tenant.key.pk).customer == new_customer


def test_key_update_refuses_long_notes_and_unknown_fields(tenant):
    with pytest.raises(DomainError) as error:
        services.key_update(key=tenant.key, actor=Actor.for_system(), notes="x" * 501)
    assert error.value.message == NOTES_TOO_LONG
    with pytest.raises(TypeError):
        services.key_update(key=tenant.key, actor=Actor.for_system(), expires=None)
    with pytest.raises(DomainError):
        services.key_update(key=tenant.key, actor=Actor.for_system(), max_no_of_machines=-1)
    assert LicenseKey.objects.get(pk=tenant.key.pk).notes == tenant.key.notes


def test_blocking_twice_logs_once(tenant):
    actor = Actor.for_user(tenant.owner)
    services.key_set_blocked(key=tenant.key, actor=actor, blocked=True)
    services.key_set_blocked(key=tenant.key, actor=actor, blocked=True)
    assert LicenseKey.objects.get(pk=tenant.key.pk).block is True
    assert tenant.key.block is True
    entry = _log(tenant.key, "blocked").get()
    assert entry.changes == {"block": [False, True]}
    services.key_set_blocked(key=tenant.key, actor=actor, blocked=False)
    assert LicenseKey.objects.get(pk=tenant.key.pk).block is False
    assert _log(tenant.key, "unblocked").count() == 1


def test_extending_an_active_key_adds_days_to_its_expiry(tenant):
    before = LicenseKey.objects.get(pk=tenant.key.pk).expires
    services.key_extend(key=tenant.key, actor=Actor.for_user(tenant.owner), days=10)
    assert LicenseKey.objects.get(pk=tenant.key.pk).expires == before + dt.timedelta(days=10)
    assert tenant.key.expires == before + dt.timedelta(days=10)


def test_extending_an_expired_key_counts_from_now(tenant):
    LicenseKey.objects.filter(pk=tenant.key.pk).update(
        expires=timezone.now() - dt.timedelta(days=100))
    start = timezone.now()
    services.key_extend(key=tenant.key, actor=Actor.for_system(), days=10)
    end = timezone.now()
    expires = LicenseKey.objects.get(pk=tenant.key.pk).expires
    assert start + dt.timedelta(days=10) <= expires <= end + dt.timedelta(days=10)


def test_negative_days_shorten_the_licence(tenant):
    before = LicenseKey.objects.get(pk=tenant.key.pk).expires
    services.key_extend(key=tenant.key, actor=Actor.for_system(), days=-5)
    assert LicenseKey.objects.get(pk=tenant.key.pk).expires == before - dt.timedelta(days=5)


def test_extension_over_100_years_is_refused(tenant):
    before = LicenseKey.objects.get(pk=tenant.key.pk).expires
    with pytest.raises(DomainError):
        services.key_extend(key=tenant.key, actor=Actor.for_system(), days=365 * 100 + 1)
    assert LicenseKey.objects.get(pk=tenant.key.pk).expires == before


def test_extension_is_logged_with_actor_label_and_changes(tenant, other_tenant):
    token, _ = services.token_create(vendor=tenant.vendor, actor=Actor.for_user(tenant.owner),
                                     name="billing", permissions=["key.ExtendLicense"])
    before = LicenseKey.objects.get(pk=tenant.key.pk).expires
    services.key_extend(key=tenant.key, actor=Actor.for_token(token), days=7)
    entry = _log(tenant.key, "extended").get()
    assert (entry.vendor_id, entry.actor_type, entry.actor_id, entry.actor_label) == (
        tenant.vendor.pk, "token", token.pk, "token: billing")
    assert set(entry.changes) == {"expires", "days"}
    assert entry.changes["days"] == [None, 7]
    logged_before, logged_after = map(dt.datetime.fromisoformat, entry.changes["expires"])
    # The log keeps times to the second.
    assert abs(logged_before - before) < dt.timedelta(seconds=1)
    assert abs(logged_after - (before + dt.timedelta(days=7))) < dt.timedelta(seconds=1)
    assert not ObjectLogEntry.objects.for_vendor(other_tenant.vendor).filter(
        action="extended").exists()


@pytest.mark.parametrize("bad", [
    "abcde-fghij-klmno-pqrst", "ABCDE-FGHIJ-KLMNO", "ABCDEFGHIJKLMNOPQRST",
    "ABCDE-FGHIJ-KLMNO-PQRS1", "ABCDE-FGHIJ-KLMNO-PQRST-", "ABCDE-FGHIJ-KLMNO-PQRST\n", "",
])
def test_database_rejects_a_malformed_key_string(tenant, bad):
    now = timezone.now()
    # PostgreSQL refuses over-long strings by the column length (DataError) before the check.
    with pytest.raises((IntegrityError, DataError)), transaction.atomic():
        LicenseKey.objects.create(product=tenant.product, serial=999, key=bad, expires=now)


def test_database_rejects_a_duplicate_key_in_the_same_product(tenant, other_tenant):
    now = timezone.now()
    with pytest.raises(IntegrityError), transaction.atomic():
        LicenseKey.objects.create(product=tenant.product, serial=999, key=tenant.key.key,
                                  expires=now)
    with pytest.raises(IntegrityError), transaction.atomic():
        LicenseKey.objects.create(product=tenant.product, serial=tenant.key.serial,
                                  key="QQQQQ-QQQQQ-QQQQQ-QQQQQ", expires=now)
    LicenseKey.objects.create(product=other_tenant.product, serial=999, key=tenant.key.key,
                              expires=now)
