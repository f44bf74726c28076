"""Expiry notices to customers and blocking of expired keys (apps.licensing.services.expiry)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from apps.audit.log import Actor
from apps.audit.models import ObjectLogEntry
from apps.core.errors import DomainError
from apps.licensing.models import Customer, DataObject, ExpiryNotice, LicenseKey, Product
from apps.licensing.services import key_extend, key_set_blocked, key_set_expiry
from apps.licensing.services.expiry import (
    SUBSCRIPTION_OBJECT,
    expired_keys_block,
    expiry_notices_send,
    parse_notice_days,
    product_expiry_settings_update,
)
from tests.factories import CustomerFactory, ProductFactory, make_activation, make_key

SYSTEM = Actor.for_system("test")
RENEW = "https://portal.example/pay/abc/"


def _no_link(key: LicenseKey) -> str:
    return ""


def _link(key: LicenseKey) -> str:
    return RENEW


@pytest.fixture
def product(tenant) -> Product:
    """A product of the tenant's with notices on, and no keys yet (the tenant's own key
    expires in 30 days)."""
    return product_expiry_settings_update(product=ProductFactory(vendor=tenant.vendor),
                                          actor=SYSTEM,
                                          expiry_notices_enabled=True,
                                          expiry_notice_days="30, 7, 1", block_expired=False)


@pytest.fixture
def customer(tenant) -> Customer:
    return CustomerFactory(vendor=tenant.vendor, name="Ada", email="ada@customer.example")


@pytest.fixture
def run(django_capture_on_commit_callbacks):
    """One run of the notices as the beat task makes it: mail goes out after each commit."""
    def _run(renewal_url=_no_link, now: dt.datetime | None = None) -> int:
        with django_capture_on_commit_callbacks(execute=True):
            return expiry_notices_send(renewal_url=renewal_url, now=now)
    return _run


def _expiring(product: Product, customer: Customer | None, left: dt.timedelta,
              **spec) -> LicenseKey:
    key = make_key(product, customer=customer, **spec)
    return key_set_expiry(key=key, actor=SYSTEM, expires=timezone.now() + left)


def test_a_key_expiring_in_7_days_gets_the_7_day_notice_once_however_often_the_task_runs(
        product, customer, run, mailoutbox):
    key = _expiring(product, customer, dt.timedelta(days=6, hours=23))

    assert [run(), run(), run()] == [1, 0, 0]

    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == ["ada@customer.example"]
    notice = ExpiryNotice.objects.get(key=key)
    assert (notice.days_before, notice.expires, notice.email) == (7, key.expires,
                                                                  "ada@customer.example")


def test_a_key_20_days_from_expiry_gets_the_30_day_notice(product, customer, run, mailoutbox):
    key = _expiring(product, customer, dt.timedelta(days=20))

    assert run() == 1

    assert list(ExpiryNotice.objects.filter(key=key).values_list("days_before", flat=True)) == [30]
    assert "expires on" in mailoutbox[0].subject


def test_a_key_further_than_the_first_reminder_gets_nothing(product, customer, run,
                                                            mailoutbox):
    _expiring(product, customer, dt.timedelta(days=31))

    assert run() == 0
    assert mailoutbox == []


def test_only_the_most_urgent_due_notice_is_sent(product, customer, run, mailoutbox):
    """Found 5 days before expiry (the vendor just switched notices on): the 7-day reminder,
    not also the 30-day one."""
    key = _expiring(product, customer, dt.timedelta(days=5))

    run()

    assert list(key.expiry_notices.values_list("days_before", flat=True)) == [7]
    assert len(mailoutbox) == 1


def test_each_window_sends_its_own_notice_as_time_passes(product, customer, run, mailoutbox):
    key = _expiring(product, customer, dt.timedelta(days=40))
    for before in (29, 6, 0.5):
        run(now=key.expires - dt.timedelta(days=before))
    run(now=key.expires + dt.timedelta(hours=1))

    assert sorted(key.expiry_notices.values_list("days_before", flat=True)) == [0, 1, 7, 30]
    assert len(mailoutbox) == 4


def test_the_at_expiry_notice_says_the_key_has_expired(product, customer, run, mailoutbox):
    key = _expiring(product, customer, -dt.timedelta(hours=2))

    assert run() == 1

    assert key.expiry_notices.get().days_before == 0
    assert "has expired" in mailoutbox[0].subject
    assert "expired on" in mailoutbox[0].body


def test_a_key_that_expired_long_ago_gets_no_notice(product, customer, run, mailoutbox):
    _expiring(product, customer, -dt.timedelta(days=30))

    assert run() == 0
    assert mailoutbox == []


def test_extending_the_key_makes_its_notices_due_again(product, customer, run, mailoutbox):
    key = _expiring(product, customer, dt.timedelta(days=6))
    run()
    key_extend(key=key, actor=SYSTEM, days=30)  # now 36 days left: no reminder due yet
    assert run() == 0

    assert run(now=key.expires - dt.timedelta(days=6)) == 1

    assert sorted(key.expiry_notices.values_list("days_before", flat=True)) == [7, 7]
    assert key.expiry_notices.filter(expires=key.expires).exists()
    assert len(mailoutbox) == 2


def test_a_customer_without_e_mail_gets_nothing(product, tenant, run, mailoutbox):
    customer = CustomerFactory(vendor=tenant.vendor, email="")
    _expiring(product, customer, dt.timedelta(days=6))
    _expiring(product, None, dt.timedelta(days=6))  # no customer at all

    assert run() == 0
    assert mailoutbox == []
    assert not ExpiryNotice.objects.exists()


def test_blocked_keys_and_keys_without_expiry_get_nothing(product, customer, run, mailoutbox):
    blocked = _expiring(product, customer, dt.timedelta(days=6))
    key_set_blocked(key=blocked, actor=SYSTEM, blocked=True)
    _expiring(product, customer, dt.timedelta(days=6), period=0)

    assert run() == 0
    assert mailoutbox == []


def test_nothing_is_sent_while_the_setting_is_off(tenant, customer, run, mailoutbox):
    assert tenant.product.expiry_notices_enabled is False  # the default: vendors opt in
    _expiring(tenant.product, customer, dt.timedelta(days=6))

    assert run() == 0
    assert mailoutbox == []


def test_a_notice_another_run_recorded_is_not_sent_again(product, customer, run, mailoutbox):
    """The unique constraint is what stops a concurrent run: its row is already there."""
    key = _expiring(product, customer, dt.timedelta(days=6))
    ExpiryNotice.objects.create(key=key, days_before=7, expires=key.expires, email="x@y.example")

    assert run() == 0
    assert mailoutbox == []


def test_the_mail_names_vendor_product_key_date_and_renewal_link(product, customer, run,
                                                                 mailoutbox, tenant):
    key = _expiring(product, customer, dt.timedelta(days=6))
    expected_date = key.expires.astimezone(dt.UTC).strftime("%Y-%m-%d")

    run(renewal_url=_link)

    mail = mailoutbox[0]
    assert tenant.vendor.name in mail.subject and product.name in mail.subject
    for text in (tenant.vendor.name, product.name, key.key, expected_date, RENEW, "Ada"):
        assert text in mail.body


def test_without_a_renewal_link_the_mail_says_to_contact_the_vendor(product, customer, run,
                                                                   mailoutbox, tenant):
    _expiring(product, customer, dt.timedelta(days=6))

    run(renewal_url=_no_link)

    assert "http" not in mailoutbox[0].body
    assert f"contact {tenant.vendor.name}" in mailoutbox[0].body


def test_the_mail_is_plain_text_not_html_escaped(product, customer, run, mailoutbox):
    Product.objects.filter(pk=product.pk).update(name="Tom & Jerry <Pro>")
    _expiring(Product.objects.get(pk=product.pk), customer, dt.timedelta(days=6))

    run()

    assert "Tom & Jerry <Pro>" in mailoutbox[0].body


# --- The settings ---

@pytest.mark.parametrize(("text", "days"), [
    ("30, 7, 1", [30, 7, 1]), ("1,7,30", [30, 7, 1]), (" 14 ", [14]), ("", []),
    ("365,1,2,3,4", [365, 4, 3, 2, 1]),
])
def test_notice_days_are_read_most_distant_first(text, days):
    assert parse_notice_days(text) == days


@pytest.mark.parametrize("text", ["abc", "0", "366", "7, 7", "1,2,3,4,5,6", "-1", "7;1",
                                  "7,,1", "1.5", "٣"])
def test_bad_notice_days_are_refused(text):
    with pytest.raises(DomainError) as error:
        parse_notice_days(text)
    assert error.value.field == "expiry_notice_days"


def test_the_settings_are_off_by_default_and_saved_normalised_with_a_log_entry(tenant):
    product = tenant.product
    assert (product.expiry_notices_enabled, product.block_expired) == (False, False)
    assert product.expiry_notice_days == "30, 7, 1"

    product_expiry_settings_update(product=product, actor=SYSTEM, expiry_notices_enabled=True,
                                   expiry_notice_days="1,14", block_expired=True)

    product.refresh_from_db()
    assert (product.expiry_notices_enabled, product.expiry_notice_days,
            product.block_expired) == (True, "14, 1", True)
    assert ObjectLogEntry.objects.for_object(product).filter(action="updated").exists()


# --- Blocking expired keys ---

def _expired(product: Product, **spec) -> LicenseKey:
    return _expiring(product, None, -dt.timedelta(hours=1), **spec)


@pytest.fixture
def blocking(tenant) -> Product:
    return product_expiry_settings_update(product=tenant.product, actor=SYSTEM,
                                          expiry_notices_enabled=False,
                                          expiry_notice_days="30, 7, 1", block_expired=True)


def _blocked(key: LicenseKey) -> bool:
    key.refresh_from_db()
    return key.block


def test_an_expired_key_is_blocked_by_the_system_and_logged(blocking):
    key = _expired(blocking)
    current = _expiring(blocking, None, dt.timedelta(days=1))

    assert expired_keys_block() == 1

    assert _blocked(key) and not _blocked(current)
    entry = ObjectLogEntry.objects.for_object(key).get(action="blocked")
    assert entry.actor_label == "Block expired licenses"
    assert expired_keys_block() == 0  # already blocked: nothing more


def test_a_subscription_key_is_not_blocked(blocking):
    key = _expired(blocking)
    DataObject.objects.create(key=key, name=SUBSCRIPTION_OBJECT, string_value="si_123")

    assert expired_keys_block() == 0
    assert not _blocked(key)


def test_a_trial_activation_key_is_blocked_only_once_a_device_activated_it(blocking):
    unused = _expired(blocking, trial_activation=True)
    used = _expired(blocking, trial_activation=True)
    make_activation(used, "pc-1")

    assert expired_keys_block() == 1

    assert not _blocked(unused) and _blocked(used)


def test_keys_without_expiry_are_not_blocked(blocking):
    key = _expired(blocking, period=0)

    assert expired_keys_block() == 0
    assert not _blocked(key)


def test_nothing_is_blocked_while_the_setting_is_off(tenant):
    key = _expired(tenant.product)

    assert expired_keys_block() == 0
    assert not _blocked(key)
