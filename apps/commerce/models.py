"""Selling through the portal: the vendor's Stripe account, payment forms, orders,
subscriptions and metered usage.

Every Stripe id is kept per vendor (each vendor has its own Stripe account; ids are unique
only within it). The rules that turn Stripe's events into key changes live in
apps/commerce/services.py."""

from __future__ import annotations

from django.db import models

from apps.accounts.models import Vendor
from apps.core.models import TimeStampedModel
from apps.licensing.models import Customer, LicenseKey, LicenseTemplate


class StripeAccount(TimeStampedModel):
    """The vendor's Stripe keys (encrypted, shown masked) and what payments do to keys."""

    ON_REFUND_BLOCK = "block"
    ON_REFUND_KEEP = "keep"
    ON_REFUND = [(ON_REFUND_BLOCK, "Block the key"), (ON_REFUND_KEEP, "Keep the key working")]
    ON_FAILED_BLOCK = "block"
    ON_FAILED_EXPIRE = "expire"
    ON_FAILED = [(ON_FAILED_EXPIRE, "Let the key expire at the end of the grace period"),
                 (ON_FAILED_BLOCK, "Block the key at the end of the grace period")]

    vendor = models.OneToOneField(Vendor, on_delete=models.CASCADE,
                                  related_name="stripe_account")
    secret_key_encrypted = models.TextField()
    secret_key_hint = models.CharField(max_length=40)
    webhook_secret_encrypted = models.TextField(blank=True)
    webhook_secret_hint = models.CharField(max_length=40, blank=True)
    # The last segment of the vendor's webhook address: names the vendor (and so the secret
    # that must have signed the event), proves nothing by itself.
    webhook_path = models.CharField(max_length=32, unique=True)
    grace_days = models.PositiveIntegerField(default=3)
    on_refund = models.CharField(max_length=10, choices=ON_REFUND, default=ON_REFUND_BLOCK)
    on_payment_failed = models.CharField(max_length=10, choices=ON_FAILED,
                                         default=ON_FAILED_EXPIRE)

    def __str__(self) -> str:
        return f"Stripe account of {self.vendor}"


class PaymentForm(TimeStampedModel):
    """A public page that sells keys of one license template through Stripe Checkout."""

    vendor = models.ForeignKey(Vendor, on_delete=models.CASCADE, related_name="payment_forms")
    template = models.ForeignKey(LicenseTemplate, on_delete=models.PROTECT,
                                 related_name="payment_forms")
    public_id = models.CharField(max_length=32, unique=True)
    title = models.CharField(max_length=100)
    description = models.TextField(max_length=2000, blank=True)
    currency = models.CharField(max_length=3)
    collect_company = models.BooleanField(default=False)
    collect_vat_id = models.BooleanField(default=False)
    # Where the buyer lands after paying; empty: the portal's own page that shows the key.
    success_url = models.URLField(max_length=500, blank=True)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["-created"]

    def __str__(self) -> str:
        return self.title


class PaymentFormOption(models.Model):
    """One thing a form sells: a price for a number of seats."""

    form = models.ForeignKey(PaymentForm, on_delete=models.CASCADE, related_name="options")
    label = models.CharField(max_length=100)
    amount = models.PositiveBigIntegerField(help_text="In the currency's smallest unit")
    seats = models.PositiveIntegerField(
        default=0, help_text="Devices the key allows; 0 keeps the template's number")
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.label


class FormSession(TimeStampedModel):
    """A one-time variant of a form made by paymentform/CreateSession: its own price and
    texts, valid until `expires`."""

    form = models.ForeignKey(PaymentForm, on_delete=models.CASCADE, related_name="sessions")
    session_id = models.CharField(max_length=64, unique=True)
    amount = models.PositiveBigIntegerField()
    currency = models.CharField(max_length=3)
    heading = models.CharField(max_length=100, blank=True)
    product_name = models.CharField(max_length=200, blank=True)
    custom_field = models.CharField(max_length=1000, blank=True)
    metadata = models.CharField(max_length=1000, blank=True)
    expires = models.DateTimeField()
    used = models.BooleanField(default=False)


class Order(TimeStampedModel):
    PENDING = "pending"
    PAID = "paid"
    REFUNDED = "refunded"
    DISPUTED = "disputed"
    EXPIRED = "expired"
    STATUSES = [(PENDING, "Waiting for the payment"), (PAID, "Paid"), (REFUNDED, "Refunded"),
                (DISPUTED, "Disputed"), (EXPIRED, "Expired unpaid")]

    vendor = models.ForeignKey(Vendor, on_delete=models.CASCADE, related_name="orders")
    form = models.ForeignKey(PaymentForm, on_delete=models.SET_NULL, null=True,
                             related_name="orders")
    option = models.ForeignKey(PaymentFormOption, on_delete=models.SET_NULL, null=True,
                               blank=True, related_name="+")
    form_session = models.ForeignKey(FormSession, on_delete=models.SET_NULL, null=True,
                                     blank=True, related_name="orders")
    status = models.CharField(max_length=10, choices=STATUSES, default=PENDING)
    checkout_session_id = models.CharField(max_length=255, blank=True)
    payment_intent_id = models.CharField(max_length=255, blank=True)
    stripe_customer_id = models.CharField(max_length=255, blank=True)
    email = models.EmailField(max_length=254, blank=True)
    name = models.CharField(max_length=100, blank=True)
    company = models.CharField(max_length=100, blank=True)
    vat_id = models.CharField(max_length=40, blank=True)
    description = models.CharField(max_length=300)
    amount = models.PositiveBigIntegerField()
    currency = models.CharField(max_length=3)
    seats = models.PositiveIntegerField(default=0)
    customer = models.ForeignKey(Customer, on_delete=models.SET_NULL, null=True, blank=True,
                                 related_name="orders")
    key = models.ForeignKey(LicenseKey, on_delete=models.SET_NULL, null=True, blank=True,
                            related_name="orders")
    # Digest of the token in the buyer's return address: the key shows only with it.
    return_token_hash = models.CharField(max_length=64, unique=True)
    paid_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["vendor", "checkout_session_id"],
                                    condition=~models.Q(checkout_session_id=""),
                                    name="commerce_order_one_per_session"),
        ]
        indexes = [models.Index(fields=["vendor", "payment_intent_id"])]

    def __str__(self) -> str:
        return f"Order {self.pk}"


class PriceMapping(TimeStampedModel):
    """A Stripe price the vendor sells as a subscription, and the template its keys come
    from. A metered price names the meter's event name, so RecordUsage can report to it."""

    vendor = models.ForeignKey(Vendor, on_delete=models.CASCADE, related_name="price_mappings")
    price_id = models.CharField(max_length=255)
    template = models.ForeignKey(LicenseTemplate, on_delete=models.PROTECT,
                                 related_name="price_mappings")
    meter_event_name = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["price_id"]
        constraints = [models.UniqueConstraint(fields=["vendor", "price_id"],
                                               name="commerce_price_once_per_vendor")]

    def __str__(self) -> str:
        return self.price_id


class Subscription(TimeStampedModel):
    vendor = models.ForeignKey(Vendor, on_delete=models.CASCADE, related_name="subscriptions")
    subscription_id = models.CharField(max_length=255)
    item_id = models.CharField(max_length=255, blank=True)
    price_id = models.CharField(max_length=255, blank=True)
    meter_event_name = models.CharField(max_length=100, blank=True)
    stripe_customer_id = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=30, default="incomplete")
    email = models.EmailField(max_length=254, blank=True)
    current_period_end = models.DateTimeField(null=True, blank=True)
    # The end of the last period an invoice paid for: the key runs to it, plus the grace
    # period while the subscription goes on.
    paid_until = models.DateTimeField(null=True, blank=True)
    cancel_at_period_end = models.BooleanField(default=False)
    payment_failed_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    customer = models.ForeignKey(Customer, on_delete=models.SET_NULL, null=True, blank=True,
                                 related_name="subscriptions")
    key = models.ForeignKey(LicenseKey, on_delete=models.SET_NULL, null=True, blank=True,
                            related_name="subscriptions")
    # The key was blocked by the portal for non-payment (and is unblocked when paid again).
    blocked_for_payment = models.BooleanField(default=False)

    class Meta:
        ordering = ["-created", "-id"]
        constraints = [models.UniqueConstraint(fields=["vendor", "subscription_id"],
                                               name="commerce_subscription_once")]

    def __str__(self) -> str:
        return self.subscription_id


class StripeEvent(models.Model):
    """Each Stripe event handled once per vendor: the unique row is written in the same
    transaction as the change the event makes."""

    vendor = models.ForeignKey(Vendor, on_delete=models.CASCADE, related_name="stripe_events")
    event_id = models.CharField(max_length=255)
    type = models.CharField(max_length=100)
    received = models.DateTimeField(auto_now_add=True)
    outcome = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-received", "-id"]
        constraints = [models.UniqueConstraint(fields=["vendor", "event_id"],
                                               name="commerce_event_once")]

    def __str__(self) -> str:
        return f"Stripe event {self.event_id} ({self.type})"


class UsageRecord(models.Model):
    """Metered use recorded by subscription/RecordUsage, sent to Stripe as a meter event with
    `identifier` (Stripe's own de-duplication) and the same Idempotency-Key, retried until
    Stripe confirms."""

    PENDING = "pending"
    CONFIRMED = "confirmed"
    REJECTED = "rejected"
    STATUSES = [(PENDING, "Waiting for Stripe"), (CONFIRMED, "Confirmed by Stripe"),
                (REJECTED, "Refused by Stripe")]

    vendor = models.ForeignKey(Vendor, on_delete=models.CASCADE, related_name="usage_records")
    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE,
                                     related_name="usage_records")
    key = models.ForeignKey(LicenseKey, on_delete=models.CASCADE, related_name="usage_records")
    quantity = models.PositiveBigIntegerField()
    identifier = models.CharField(max_length=64, unique=True)
    status = models.CharField(max_length=10, choices=STATUSES, default=PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=300, blank=True)
    created = models.DateTimeField(auto_now_add=True, db_index=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created", "-id"]

    def __str__(self) -> str:
        return f"Usage {self.quantity} ({self.identifier[:8]})"
