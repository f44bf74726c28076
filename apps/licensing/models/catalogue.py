"""The catalogue: products, customers, license keys, their devices (seats) and data objects."""

from __future__ import annotations

import datetime as dt

from django.db import models
from django.db.models import Q
from django.utils import timezone

from apps.accounts.models import Vendor
from apps.core.models import TimeStampedModel

FEATURE_NUMBERS = range(1, 9)
MAX_NOTES_LENGTH = 500
MAX_INTERNAL_NOTE_LENGTH = 2000
MAX_MACHINE_CODE_LENGTH = 128


class ProductQuerySet(models.QuerySet):
    def for_vendor(self, vendor: Vendor) -> ProductQuerySet:
        return self.filter(vendor=vendor)


class Product(TimeStampedModel):
    vendor = models.ForeignKey(Vendor, on_delete=models.CASCADE, related_name="products")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    f1_name = models.CharField("F1 name", max_length=100, blank=True)
    f2_name = models.CharField("F2 name", max_length=100, blank=True)
    f3_name = models.CharField("F3 name", max_length=100, blank=True)
    f4_name = models.CharField("F4 name", max_length=100, blank=True)
    f5_name = models.CharField("F5 name", max_length=100, blank=True)
    f6_name = models.CharField("F6 name", max_length=100, blank=True)
    f7_name = models.CharField("F7 name", max_length=100, blank=True)
    f8_name = models.CharField("F8 name", max_length=100, blank=True)
    default_max_machines = models.PositiveIntegerField(
        default=1, help_text="Seats a new key gets unless told otherwise (0 = not node-locked)."
    )
    trial_period_days = models.PositiveIntegerField(
        default=15, help_text="Length of trial keys made by CreateTrialKey."
    )
    trial_max_machines = models.PositiveIntegerField(default=1)
    trial_feature = models.PositiveSmallIntegerField(
        default=0, help_text="Feature (1-8) that marks a key as a trial; 0 = none."
    )
    time_limited_feature = models.PositiveSmallIntegerField(
        default=0, help_text="Feature (1-8) that marks a key as time-limited; 0 = none."
    )
    activation_form_enabled = models.BooleanField(
        default=False, help_text="Offer the public activation form for offline devices."
    )
    # Customer notifications (GitHub issue #19). Off until the vendor opts in; the hourly
    # task in apps/commerce/expiry_tasks.py acts on them (rules: services/expiry.py).
    expiry_notices_enabled = models.BooleanField(
        default=False, help_text="E-mail each key's customer before the key expires and when "
                                 "it does. Off until you switch it on.")
    expiry_notice_days = models.CharField(
        max_length=30, blank=True, default="30, 7, 1",
        help_text="Days before the expiry date to send a reminder, comma-separated.")
    block_expired = models.BooleanField(
        default=False, help_text="Block keys within an hour after they expire (not those of "
                                 "Stripe subscriptions, nor trial-activation keys no device "
                                 "has activated).")
    # Next per-product key number (the wire's `ID`); advanced under a row lock.
    next_key_serial = models.PositiveIntegerField(default=1, editable=False)

    objects = ProductQuerySet.as_manager()

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(trial_feature__lte=8) & Q(time_limited_feature__lte=8),
                name="product_feature_markers_in_range",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def feature_name(self, number: int) -> str:
        return getattr(self, f"f{number}_name") or f"F{number}"

    @property
    def feature_names(self) -> list[str]:
        return [self.feature_name(n) for n in FEATURE_NUMBERS]


class CustomerQuerySet(models.QuerySet):
    def for_vendor(self, vendor: Vendor) -> CustomerQuerySet:
        return self.filter(vendor=vendor)


class Customer(TimeStampedModel):
    vendor = models.ForeignKey(Vendor, on_delete=models.CASCADE, related_name="customers")
    name = models.CharField(max_length=100, blank=True)
    email = models.EmailField(max_length=100, blank=True)
    company_name = models.CharField(max_length=100, blank=True)
    notes = models.TextField(max_length=1000, blank=True)
    # Digest of the customer secret (shown once, when the customer is added through the API).
    secret_hash = models.CharField(max_length=64, blank=True, editable=False, db_index=True)
    allow_activation_management = models.BooleanField(
        default=False, help_text="The customer's portal users may deactivate devices "
                                 "(each user also needs the permission).")
    max_no_of_devices = models.PositiveIntegerField(
        default=0, help_text="Devices allowed across all of the customer's keys (0 = no cap).")
    # Customers a reseller created: theirs, visible to the vendor's other resellers if shared.
    reseller = models.ForeignKey("accounts.Reseller", on_delete=models.PROTECT, null=True,
                                 blank=True, related_name="customers")
    shared_with_resellers = models.BooleanField(default=False)
    allow_multiple_user_association = models.BooleanField(
        default=False, help_text="Several user accounts (userauth) may be associated with "
                                 "this customer; otherwise one at most.")

    objects = CustomerQuerySet.as_manager()

    class Meta:
        ordering = ["name", "id"]
        indexes = [models.Index(fields=["vendor", "email"])]

    def __str__(self) -> str:
        return self.name or self.email or self.company_name or f"Customer {self.pk}"


class LicenseKeyQuerySet(models.QuerySet):
    def for_vendor(self, vendor: Vendor) -> LicenseKeyQuerySet:
        return self.filter(product__vendor=vendor)

    def expired(self, now: dt.datetime | None = None) -> LicenseKeyQuerySet:
        """Keys past their expiry date; a key of period 0 has no time limit."""
        return self.filter(expires__lt=now or timezone.now()).exclude(period=0)

    def active(self, now: dt.datetime | None = None) -> LicenseKeyQuerySet:
        """Keys not blocked and not past their expiry date (a key of period 0 has no time
        limit). The dashboard counts them with the same rule written in SQL
        (apps.licensing.selectors._DASHBOARD_SQL); a test holds the two together."""
        return self.filter(Q(expires__gte=now or timezone.now()) | Q(period=0), block=False)


class LicenseKey(models.Model):
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="keys")
    serial = models.PositiveIntegerField(help_text="Key number within the product (wire: ID).")
    key = models.CharField(max_length=23, db_index=True)
    created = models.DateTimeField(default=timezone.now)
    period = models.IntegerField(default=0, help_text="Days")
    expires = models.DateTimeField()
    f1 = models.BooleanField(default=False)
    f2 = models.BooleanField(default=False)
    f3 = models.BooleanField(default=False)
    f4 = models.BooleanField(default=False)
    f5 = models.BooleanField(default=False)
    f6 = models.BooleanField(default=False)
    f7 = models.BooleanField(default=False)
    f8 = models.BooleanField(default=False)
    notes = models.TextField(max_length=MAX_NOTES_LENGTH, blank=True)
    # The vendor's own note (an order number, who to call): never in a Web API answer or a
    # signed license, never shown to resellers or customers, never copied to another key or
    # a template. `notes` is the one that travels with the license.
    internal_note = models.TextField(max_length=MAX_INTERNAL_NOTE_LENGTH, blank=True)
    block = models.BooleanField(default=False)
    customer = models.ForeignKey(
        Customer, on_delete=models.SET_NULL, null=True, blank=True, related_name="keys"
    )
    max_no_of_machines = models.PositiveIntegerField(
        default=0, help_text="0 = not node-locked"
    )
    trial_activation = models.BooleanField(
        default=False, help_text="Start the countdown at each device's first activation."
    )
    allowed_machines = models.TextField(
        blank=True, help_text="Pre-approved machine codes, one per line."
    )
    automatic_activation = models.BooleanField(
        default=True, help_text="Off: Activate only confirms devices that are already activated."
    )
    reseller = models.ForeignKey("accounts.Reseller", on_delete=models.PROTECT, null=True,
                                 blank=True, related_name="keys")
    # Set on keys made by CreateTrialKey: the machine code the trial was issued to.
    trial_machine_code = models.CharField(max_length=MAX_MACHINE_CODE_LENGTH, blank=True,
                                          editable=False)

    objects = LicenseKeyQuerySet.as_manager()

    class Meta:
        ordering = ["-serial"]
        indexes = [models.Index(fields=["product", "trial_machine_code"])]
        constraints = [
            models.UniqueConstraint(fields=["product", "key"], name="key_unique_per_product"),
            models.UniqueConstraint(fields=["product", "serial"], name="key_serial_per_product"),
            models.CheckConstraint(
                condition=Q(key__regex=r"\A[A-Z]{5}-[A-Z]{5}-[A-Z]{5}-[A-Z]{5}\Z"),
                name="key_format",
            ),
        ]

    def __str__(self) -> str:
        return self.key

    @property
    def global_id(self) -> int:
        return self.pk

    @property
    def has_expiry(self) -> bool:
        """Period 0 means no time limit: the Web API activates the key whatever its expiry
        date (which is then its creation date) says."""
        return self.period != 0

    @property
    def expiry_applies(self) -> bool:
        """Whether the expiry date ends this license: it has a period and, where the product
        marks time-limited keys with a feature, that feature is on. The rule of the signed
        metadata's IsValid and of SDK certificates (apps.sdk_licensing)."""
        product = self.product
        marker = product.time_limited_feature
        return self.has_expiry and (not marker or self.features[marker - 1])

    @property
    def is_expired(self) -> bool:
        return self.has_expiry and self.expires < timezone.now()

    @property
    def features(self) -> list[bool]:
        return [getattr(self, f"f{n}") for n in FEATURE_NUMBERS]

    @property
    def is_trial(self) -> bool:
        """The feature the product reserves for trials is on."""
        feature = self.product.trial_feature
        return bool(feature) and self.features[feature - 1]

    @property
    def allowed_machine_list(self) -> list[str]:
        return [line.strip() for line in self.allowed_machines.splitlines() if line.strip()]


class DataObject(models.Model):
    """A named value (string and integer) attached to an owner, as Cryptolens has them:
    the vendor's account, a product, a license key, or one machine code of a key.

    One table for all four, so that an id names one object whatever its owner (the generic
    data/SetIntValue takes an Id alone). `key` is set for key objects only, so a key's
    `data_objects` (what its signed license carries) never holds its machines' objects;
    those hang on `machine_key` + `machine_code`."""

    ACCOUNT, PRODUCT, KEY, MACHINE_CODE = 0, 1, 2, 3
    REFERENCER_TYPES = [(ACCOUNT, "Account"), (PRODUCT, "Product"), (KEY, "License key"),
                        (MACHINE_CODE, "Machine code")]

    vendor = models.ForeignKey(Vendor, on_delete=models.CASCADE, related_name="data_objects")
    referencer_type = models.PositiveSmallIntegerField(choices=REFERENCER_TYPES, default=KEY)
    product = models.ForeignKey(Product, on_delete=models.CASCADE, null=True, blank=True,
                                related_name="data_objects")
    key = models.ForeignKey(LicenseKey, on_delete=models.CASCADE, null=True, blank=True,
                            related_name="data_objects")
    machine_key = models.ForeignKey(LicenseKey, on_delete=models.CASCADE, null=True, blank=True,
                                    related_name="machine_data_objects")
    machine_code = models.CharField(max_length=MAX_MACHINE_CODE_LENGTH, blank=True)
    name = models.CharField(max_length=100)
    string_value = models.TextField(max_length=10000, blank=True)
    int_value = models.BigIntegerField(default=0)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(name="data_object_one_owner", condition=(
                Q(referencer_type=0, product__isnull=True, key__isnull=True,
                  machine_key__isnull=True)
                | Q(referencer_type=1, product__isnull=False, key__isnull=True,
                    machine_key__isnull=True)
                | Q(referencer_type=2, product__isnull=True, key__isnull=False,
                    machine_key__isnull=True)
                | Q(referencer_type=3, product__isnull=True, key__isnull=True,
                    machine_key__isnull=False) & ~Q(machine_code=""))),
        ]
        indexes = [models.Index(fields=["machine_key", "machine_code"],
                                name="data_object_machine")]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        if self.vendor_id is None:  # the owner's vendor
            if self.key_id is not None:
                self.vendor_id = self.key.product.vendor_id
            elif self.machine_key_id is not None:
                self.vendor_id = self.machine_key.product.vendor_id
            elif self.product_id is not None:
                self.vendor_id = self.product.vendor_id
        super().save(*args, **kwargs)


class Activation(models.Model):
    """A seat: one device (machine code) using a key, node-locked or floating."""

    key = models.ForeignKey(LicenseKey, on_delete=models.CASCADE, related_name="activations")
    machine_code = models.CharField(max_length=MAX_MACHINE_CODE_LENGTH)
    friendly_name = models.CharField(max_length=255, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    time = models.DateTimeField(default=timezone.now)
    floating = models.BooleanField(default=False)
    floating_expires = models.DateTimeField(null=True, blank=True)
    overdraft = models.BooleanField(default=False, help_text="Floating seat beyond the limit")

    class Meta:
        ordering = ["time", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["key", "machine_code", "floating"], name="activation_unique_seat"
            ),
        ]

    def __str__(self) -> str:
        return self.machine_code
