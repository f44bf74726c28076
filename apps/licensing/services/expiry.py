"""What happens around a key's expiry date, per product: reminders to the key's customer
before it and a notice at it (`expiry_notices_send`), and blocking keys once they have expired
(`expired_keys_block`, Cryptolens' "Block expired licenses"). Both run hourly from the beat
task in apps/commerce/expiry_tasks.py, which passes the renewal link: payment forms belong to a
layer above this one."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q
from django.template.loader import render_to_string
from django.utils import timezone

from apps.audit.log import Actor, diff, log_change, snapshot
from apps.core.errors import DomainError
from apps.licensing import events
from apps.licensing.models import Activation, DataObject, ExpiryNotice, LicenseKey, Product
from apps.licensing.services.keys import key_set_blocked

logger = logging.getLogger(__name__)

MAX_NOTICE_DAYS = 365
MAX_NOTICES = 5
# The at-expiry notice still goes out this long after the date (a beat that was down for a
# while catches up); a key that expired before that gets none, e.g. when a vendor switches the
# notices on for a product full of long-expired keys.
AT_EXPIRY_GRACE = dt.timedelta(days=2)
# Keys of Stripe subscriptions carry this data object; their subscription sets their expiry.
SUBSCRIPTION_OBJECT = "cryptolens_stripesubscriptionitemid"
BLOCK_ACTOR = Actor.for_system("Block expired licenses")
SETTINGS_FIELDS = ["expiry_notices_enabled", "expiry_notice_days", "block_expired"]
DAYS_ERROR = (f"Give at most {MAX_NOTICES} different whole numbers of days from 1 to "
              f"{MAX_NOTICE_DAYS}, separated by commas, e.g. 30, 7, 1.")

RenewalUrl = Callable[[LicenseKey], str]


def parse_notice_days(text: str) -> list[int]:
    """The reminder days of "30, 7, 1", most distant first; [] for an empty text (only the
    notice at expiry). Raises DomainError (field `expiry_notice_days`) for anything else."""
    parts = [part.strip() for part in text.split(",")] if text.strip() else []
    if len(parts) > MAX_NOTICES or not all(part.isascii() and part.isdigit() for part in parts):
        raise DomainError(DAYS_ERROR, field="expiry_notice_days")
    days = [int(part) for part in parts]
    if len(set(days)) != len(days) or not all(1 <= d <= MAX_NOTICE_DAYS for d in days):
        raise DomainError(DAYS_ERROR, field="expiry_notice_days")
    return sorted(days, reverse=True)


@transaction.atomic
def product_expiry_settings_update(*, product: Product, actor: Actor,
                                   expiry_notices_enabled: bool, expiry_notice_days: str,
                                   block_expired: bool) -> Product:
    """Save the product's expiry notices and blocking settings; the days are stored in one
    form ("30, 7, 1") whatever spacing or order they were given in."""
    days = parse_notice_days(expiry_notice_days)
    before = snapshot(product, SETTINGS_FIELDS)
    product.expiry_notices_enabled = expiry_notices_enabled
    product.expiry_notice_days = ", ".join(str(d) for d in days)
    product.block_expired = block_expired
    product.save(update_fields=[*SETTINGS_FIELDS, "updated"])
    changes = diff(before, snapshot(product, SETTINGS_FIELDS))
    if changes:
        log_change(vendor=product.vendor, actor=actor, obj=product, action="updated",
                   changes=changes)
    return product


def due_notice(*, expires: dt.datetime, days: list[int], now: dt.datetime) -> int | None:
    """The most urgent notice due for a key expiring at `expires` (days before it, 0: at
    expiry), or None. Only the current window counts: a key found 5 days before its expiry
    gets the 7-day reminder, not also the 30-day one."""
    left = expires - now
    if left <= -AT_EXPIRY_GRACE:
        return None
    due = [d for d in [*days, 0] if left <= dt.timedelta(days=d)]
    return min(due) if due else None


def expiry_notices_send(*, renewal_url: RenewalUrl, now: dt.datetime | None = None) -> int:
    """Send each due notice of every product that has them switched on, once per key, notice
    and expiry date; returns how many were sent. Keys that are blocked, have no expiry, or
    whose customer has no e-mail address get none (and no row)."""
    now = now or timezone.now()
    sent = 0
    for product in Product.objects.filter(expiry_notices_enabled=True).select_related("vendor"):
        try:
            days = parse_notice_days(product.expiry_notice_days)
        except DomainError:  # saved before validation existed, or by hand: skip, say so
            logger.warning("Product %s: unreadable expiry notice days %r", product.pk,
                           product.expiry_notice_days)
            continue
        keys = (product.keys.filter(block=False, customer__isnull=False,
                                    expires__gt=now - AT_EXPIRY_GRACE,
                                    expires__lte=now + dt.timedelta(days=max([0, *days])))
                .exclude(period=0).exclude(customer__email="").select_related("customer"))
        urls: dict[int, str] = {}  # one renewal link look-up per product and run
        for key in keys.iterator():
            days_before = due_notice(expires=key.expires, days=days, now=now)
            if days_before is None:
                continue
            key.product = product
            if product.pk not in urls:
                urls[product.pk] = renewal_url(key)
            sent += expiry_notice_send(key=key, days_before=days_before,
                                       renewal_url=urls[product.pk])
    return sent


@transaction.atomic
def expiry_notice_send(*, key: LicenseKey, days_before: int, renewal_url: str) -> int:
    """Record the notice and mail it after commit; 0 when it was already sent for this
    expiry date (here or by a concurrent run: the unique constraint decides)."""
    assert key.customer is not None
    try:
        with transaction.atomic():
            ExpiryNotice.objects.create(key=key, days_before=days_before, expires=key.expires,
                                        email=key.customer.email)
    except IntegrityError:
        return 0
    subject, body = expiry_notice_mail(key=key, days_before=days_before,
                                       renewal_url=renewal_url)
    email = key.customer.email
    transaction.on_commit(lambda: send_mail(subject, body, None, [email]), robust=True)
    events.key_event(key, "key.expired" if days_before == 0 else "key.expiring",
                     NoticeDaysBefore=days_before)
    return 1


def expiry_notice_mail(*, key: LicenseKey, days_before: int, renewal_url: str
                       ) -> tuple[str, str]:
    """Subject and body of the notice to the key's customer."""
    product = key.product
    date = key.expires.astimezone(dt.UTC).strftime("%Y-%m-%d")
    context = {"vendor": product.vendor, "product": product, "key": key, "date": date,
               "customer": key.customer, "expired": days_before == 0,
               "renewal_url": renewal_url, "site_name": settings.SITE_NAME}
    what = "has expired" if days_before == 0 else f"expires on {date}"
    subject = f"{product.vendor.name}: your {product.name} license {what}"
    return " ".join(subject.split()), render_to_string("emails/expiry_notice.txt", context)


def expired_keys_block(*, now: dt.datetime | None = None) -> int:
    """Block the expired keys of every product with "Block expired licenses" on; returns how
    many. Left alone: keys of Stripe subscriptions (the data object
    `cryptolens_stripesubscriptionitemid`: the subscription manages their expiry) and
    trial-activation keys no device has activated (each device's countdown has not started)."""
    now = now or timezone.now()
    subscription = DataObject.objects.filter(key=OuterRef("pk"), name=SUBSCRIPTION_OBJECT)
    activated = Activation.objects.filter(key=OuterRef("pk"))
    candidates = (LicenseKey.objects.expired(now)
                  .filter(product__block_expired=True, block=False)
                  .exclude(Exists(subscription))
                  .exclude(Q(trial_activation=True) & ~Exists(activated))
                  .values_list("pk", flat=True))
    blocked = 0
    for pk in list(candidates):
        with transaction.atomic():
            # Checked again under the lock: the vendor may have extended the key meanwhile.
            key = (LicenseKey.objects.select_for_update(skip_locked=True, of=("self",))
                   .expired(now).filter(pk=pk, block=False).select_related("product__vendor")
                   .first())
            if key is None:
                continue
            key_set_blocked(key=key, actor=BLOCK_ACTOR, blocked=True)
            blocked += 1
    return blocked
