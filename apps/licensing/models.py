"""Licensing domain: products, customers, license keys, activations (seats), data objects,
per-vendor signing keys, Web API access tokens and the append-only object log."""

from __future__ import annotations

import datetime as dt

from django.db import models
from django.db.models import Q
from django.utils import timezone

from apps.accounts.models import Vendor
from apps.core.models import TimeStampedModel

FEATURE_NUMBERS = range(1, 9)
MAX_NOTES_LENGTH = 500
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
        return self.filter(expires__lt=now or timezone.now())


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
    def is_expired(self) -> bool:
        return self.expires < timezone.now()

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
    """A named value (string and integer) attached to a license key."""

    key = models.ForeignKey(LicenseKey, on_delete=models.CASCADE, related_name="data_objects")
    name = models.CharField(max_length=100)
    string_value = models.TextField(max_length=10000, blank=True)
    int_value = models.BigIntegerField(default=0)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name


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


class SigningKeyQuerySet(models.QuerySet):
    def for_vendor(self, vendor: Vendor) -> SigningKeyQuerySet:
        return self.filter(vendor=vendor)

    def listed(self) -> SigningKeyQuerySet:
        return self.filter(retired_at__isnull=True)


class SigningKey(TimeStampedModel):
    """A vendor's RSA-2048 key pair. The private key is stored encrypted (see signing.py).

    A vendor may hold several: the one with `active_for` set, `vendor.signing_key`, signs
    everything; older ones stay listed with their public key until the owner retires them,
    and are never used to sign again."""

    vendor = models.ForeignKey(Vendor, on_delete=models.CASCADE, related_name="signing_keys")
    active_for = models.OneToOneField(Vendor, on_delete=models.CASCADE, null=True, blank=True,
                                      related_name="signing_key", editable=False)
    public_key_pem = models.TextField()
    private_key_encrypted = models.TextField()
    retired_at = models.DateTimeField(null=True, blank=True)

    objects = SigningKeyQuerySet.as_manager()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(active_for__isnull=True) | Q(active_for=models.F("vendor")),
                name="signing_key_active_for_own_vendor"),
            models.CheckConstraint(
                condition=Q(active_for__isnull=True) | Q(retired_at__isnull=True),
                name="signing_key_active_is_not_retired"),
        ]

    def __str__(self) -> str:
        return f"Signing key of {self.vendor} ({self.created:%Y-%m-%d})"

    @property
    def is_active(self) -> bool:
        return self.active_for_id is not None


class AccessTokenQuerySet(models.QuerySet):
    def for_vendor(self, vendor: Vendor) -> AccessTokenQuerySet:
        return self.filter(vendor=vendor)

    def active(self) -> AccessTokenQuerySet:
        return self.filter(revoked_at__isnull=True)


class AccessToken(TimeStampedModel):
    """A Web API access token. Only the SHA-256 digest of its secret is stored."""

    vendor = models.ForeignKey(Vendor, on_delete=models.CASCADE, related_name="access_tokens")
    name = models.CharField(max_length=100)
    secret_hash = models.CharField(max_length=64)
    secret_hint = models.CharField(max_length=8, help_text="First characters, to tell tokens apart")
    permissions = models.JSONField(default=list, help_text="Web API methods this token may call")
    product = models.ForeignKey(
        Product, on_delete=models.CASCADE, null=True, blank=True, related_name="+",
        help_text="Product lock: the token works with this product only.",
    )
    locked_key = models.ForeignKey(
        LicenseKey, on_delete=models.CASCADE, null=True, blank=True, related_name="+",
        help_text="Key lock: the token works with this key only.",
    )
    created_by = models.ForeignKey(
        "accounts.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    template_lock = models.ForeignKey(
        "licensing.LicenseTemplate", on_delete=models.CASCADE, null=True, blank=True,
        related_name="+",
        help_text="CreateKeyFromTemplate may use this template only (Cryptolens' feature lock).",
    )
    last_used = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = AccessTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class ObjectLogQuerySet(models.QuerySet):
    def for_vendor(self, vendor: Vendor) -> ObjectLogQuerySet:
        return self.filter(vendor=vendor)

    def for_object(self, obj: models.Model) -> ObjectLogQuerySet:
        return self.filter(object_type=obj._meta.label_lower, object_id=str(obj.pk))


class AppendOnlyError(Exception):
    pass


class ObjectLogEntry(models.Model):
    """Who changed what, when. Append-only: rows are never updated or deleted (PostgreSQL
    enforces this with a trigger, see migration 0002).

    Actors are kept as plain ids and labels, not foreign keys, so that deleting a user or a
    token never rewrites history."""

    vendor = models.ForeignKey(Vendor, on_delete=models.DO_NOTHING, db_constraint=False,
                               related_name="+")
    time = models.DateTimeField(default=timezone.now, db_index=True)
    actor_type = models.CharField(max_length=10)  # user / token / system
    actor_id = models.BigIntegerField(null=True, blank=True)
    actor_label = models.CharField(max_length=255)
    object_type = models.CharField(max_length=100)
    object_id = models.CharField(max_length=64)
    object_repr = models.CharField(max_length=255)
    action = models.CharField(max_length=50)
    changes = models.JSONField(default=dict, blank=True)

    objects = ObjectLogQuerySet.as_manager()

    class Meta:
        ordering = ["-time", "-id"]
        indexes = [
            models.Index(fields=["vendor", "object_type", "object_id"]),
            models.Index(fields=["vendor", "-time"]),
        ]

    def __str__(self) -> str:
        return f"{self.time:%Y-%m-%d %H:%M} {self.actor_label} {self.action} {self.object_repr}"

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            raise AppendOnlyError("Object log entries cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("Object log entries cannot be deleted.")


class WebApiLogQuerySet(models.QuerySet):
    def for_vendor(self, vendor: Vendor) -> WebApiLogQuerySet:
        return self.filter(vendor=vendor)


class WebApiLog(models.Model):
    """One Web API call, with Cryptolens' 4-digit state code (20xx activation, 10xx
    validation, 60xx deactivation, 30xx key creation; third digit 1 = success, 2 = failure).

    Plain values rather than foreign keys: the log outlives keys and products, and writing it
    must stay a single cheap INSERT on the hot path."""

    vendor = models.ForeignKey(Vendor, on_delete=models.CASCADE, related_name="+")
    time = models.DateTimeField(default=timezone.now)
    product_id = models.BigIntegerField(null=True, blank=True)
    key = models.CharField(max_length=64, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    state = models.PositiveSmallIntegerField()
    machine_code = models.CharField(max_length=128, blank=True)
    friendly_name = models.CharField(max_length=255, blank=True)
    floating_expires = models.DateTimeField(null=True, blank=True)
    method = models.CharField(max_length=64)
    user_agent = models.CharField(max_length=255, blank=True)
    do_int_value = models.BigIntegerField(null=True, blank=True)
    do_id = models.BigIntegerField(null=True, blank=True)
    token_id = models.BigIntegerField(null=True, blank=True)
    # ISO 3166 alpha-2 code of the caller's IP, from the vendor-configured GeoIP database.
    country = models.CharField(max_length=2, blank=True, default="", db_default="")
    # The Id a row had in the log it was imported from (a Cryptolens export, another
    # install). Unique per vendor, so a file imported twice adds nothing; the row's own
    # primary key is always this table's.
    source_id = models.BigIntegerField(null=True, blank=True)

    objects = WebApiLogQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["vendor", "source_id"],
                                    condition=Q(source_id__isnull=False),
                                    name="webapilog_unique_source_id"),
        ]
        indexes = [
            models.Index(fields=["vendor", "-id"]),
            models.Index(fields=["vendor", "product_id", "key", "-id"]),
            models.Index(fields=["vendor", "time"]),
            # The floating-seat report reads only seat rows (2014, 2015, 6011) and refusals
            # (2024) of a time range: a partial index skips the other calls.
            models.Index(fields=["vendor", "time"], name="webapilog_floating_time",
                         condition=Q(state__in=[2014, 2015, 6011, 2024])),
            # Usage reports: successful activations (devices, end users, countries) and
            # failed calls (top failing keys) of a range.
            models.Index(fields=["vendor", "time"], name="webapilog_activated_time",
                         condition=Q(state__gte=2010, state__lt=2020)),
            models.Index(fields=["vendor", "time"], name="webapilog_failed_time",
                         condition=Q(state__gte=1020, state__lt=1030)
                         | Q(state__gte=2020, state__lt=2030)),
        ]

    def __str__(self) -> str:
        return f"{self.time:%Y-%m-%d %H:%M:%S} {self.method} {self.state}"

    @property
    def succeeded(self) -> bool:
        return (self.state % 100) // 10 == 1


class FloatingSession(models.Model):
    """One floating seat held by one device on one key, from its first activation to its
    release or expiry: the Web API log's heartbeats condensed (apps/licensing/reports/
    sessions.py keeps it up to date), so seat reports read thousands of sessions instead of
    millions of log rows. Derived data: it can always be rebuilt from the log."""

    vendor = models.ForeignKey(Vendor, on_delete=models.CASCADE, related_name="+")
    product_id = models.BigIntegerField(null=True, blank=True)
    key = models.CharField(max_length=64)
    machine_code = models.CharField(max_length=128)
    # Unix seconds: the reports' window functions work in whole seconds on both databases.
    start_t = models.BigIntegerField()
    end_t = models.BigIntegerField()
    overdraft = models.BooleanField(default=False)

    class Meta:
        indexes = [models.Index(fields=["vendor", "start_t"]),
                   models.Index(fields=["vendor", "product_id", "key", "machine_code",
                                        "end_t"])]

    def __str__(self) -> str:
        return f"{self.key} {self.machine_code} {self.start_t}-{self.end_t}"


class ReportProgress(models.Model):
    """How far (by log id) a vendor's derived report tables have read the Web API log."""

    vendor = models.OneToOneField(Vendor, on_delete=models.CASCADE, related_name="+")
    floating_log_id = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.vendor_id}: floating sessions up to log id {self.floating_log_id}"


class Event(models.Model):
    """An event registered by the vendor's software (ai/RegisterEvent)."""

    vendor = models.ForeignKey(Vendor, on_delete=models.CASCADE, related_name="+")
    time = models.DateTimeField(default=timezone.now)
    product_id = models.BigIntegerField(null=True, blank=True)
    key = models.CharField(max_length=64, blank=True)
    machine_code = models.CharField(max_length=128, blank=True)
    feature_name = models.CharField(max_length=100, blank=True)
    event_name = models.CharField(max_length=100, blank=True)
    value = models.BigIntegerField(default=0)
    currency = models.CharField(max_length=10, blank=True)
    metadata = models.TextField(max_length=10000, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["vendor", "-id"]),
                   models.Index(fields=["vendor", "product_id", "key", "-id"])]

    def __str__(self) -> str:
        return f"{self.event_name} ({self.feature_name})"


def _new_form_slug() -> str:
    import secrets

    # 72 random bits: the public URL is the only thing that finds a form.
    return secrets.token_urlsafe(9)


def _file_format_choices() -> list[tuple[str, str]]:
    from .license_files import FORMATS  # license_files imports this module

    return FORMATS


class ActivationFormQuerySet(models.QuerySet):
    def for_vendor(self, vendor: Vendor) -> ActivationFormQuerySet:
        return self.filter(product__vendor=vendor)


class ActivationForm(TimeStampedModel):
    """A public page where an end user turns key + machine code into a license file (.skm)
    for a device without internet."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE,
                                related_name="activation_forms")
    slug = models.CharField(max_length=32, unique=True, default=_new_form_slug, editable=False)
    title = models.CharField(max_length=200)
    instructions = models.TextField(blank=True, max_length=5000)
    file_format = models.CharField(max_length=10, choices=_file_format_choices,
                                   default="string")
    ask_friendly_name = models.BooleanField(
        default=False, help_text="Ask for a device name (shown on the key's page).")
    allow_new_devices = models.BooleanField(
        default=True, help_text="Off: only devices already activated on the key, or listed "
                                "in its allowed machines, get a file.")
    validity_days = models.PositiveIntegerField(
        default=365, help_text="How long the file stays valid, as told to the end user.")
    enabled = models.BooleanField(default=True)

    objects = ActivationFormQuerySet.as_manager()

    class Meta:
        ordering = ["title", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(file_format__in=["string", "linq"]),
                                   name="activation_form_file_format"),
        ]

    def __str__(self) -> str:
        return self.title


class LicenseTemplateQuerySet(models.QuerySet):
    def for_vendor(self, vendor: Vendor) -> LicenseTemplateQuerySet:
        return self.filter(product__vendor=vendor)


class LicenseTemplate(TimeStampedModel):
    """The parameters of a key, saved under a name: CreateKeyFromTemplate and resellers
    issue keys from it."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="templates")
    name = models.CharField(max_length=100)
    period = models.PositiveIntegerField(default=0, help_text="Days")
    f1 = models.BooleanField(default=False)
    f2 = models.BooleanField(default=False)
    f3 = models.BooleanField(default=False)
    f4 = models.BooleanField(default=False)
    f5 = models.BooleanField(default=False)
    f6 = models.BooleanField(default=False)
    f7 = models.BooleanField(default=False)
    f8 = models.BooleanField(default=False)
    max_no_of_machines = models.PositiveIntegerField(default=1)
    trial_activation = models.BooleanField(default=False)
    automatic_activation = models.BooleanField(default=True)
    allowed_machines = models.TextField(blank=True)
    notes = models.TextField(max_length=MAX_NOTES_LENGTH, blank=True)
    # Floating use the template is sold for; shown to resellers and vendors, applied by the
    # vendor's software through FloatingTimeInterval / MaxOverdraft.
    floating_time_interval = models.PositiveIntegerField(default=0)
    max_overdraft = models.PositiveIntegerField(default=0)
    data_objects = models.JSONField(default=list, blank=True,
                                    help_text='[{"name": ..., "string_value": ..., '
                                              '"int_value": ...}]')

    objects = LicenseTemplateQuerySet.as_manager()

    class Meta:
        ordering = ["product_id", "name", "id"]

    def __str__(self) -> str:
        return self.name

    @property
    def features(self) -> list[bool]:
        return [getattr(self, f"f{n}") for n in FEATURE_NUMBERS]


class IssuanceRight(TimeStampedModel):
    """A reseller may issue at most `quota` keys from `template` until `valid_until`."""

    ACTIVE, PAUSED, STOPPED = "active", "paused", "stopped"
    STATUSES = [(ACTIVE, "Active"), (PAUSED, "Paused"), (STOPPED, "Stopped")]

    reseller = models.ForeignKey("accounts.Reseller", on_delete=models.CASCADE,
                                 related_name="rights")
    template = models.ForeignKey(LicenseTemplate, on_delete=models.PROTECT,
                                 related_name="rights")
    name = models.CharField(max_length=100, blank=True)
    quota = models.PositiveIntegerField()
    issued = models.PositiveIntegerField(default=0)
    valid_until = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=STATUSES, default=ACTIVE)

    class Meta:
        ordering = ["-created"]
        constraints = [
            models.CheckConstraint(condition=Q(issued__lte=models.F("quota")),
                                   name="right_issued_within_quota"),
        ]

    def __str__(self) -> str:
        return self.name or f"{self.template} x {self.quota}"

    @property
    def remaining(self) -> int:
        return max(0, self.quota - self.issued)

    @property
    def is_open(self) -> bool:
        return (self.status == self.ACTIVE and self.remaining > 0
                and (self.valid_until is None or self.valid_until > timezone.now()))


class Issuance(models.Model):
    """One key a reseller issued under a right: what the billing report counts. Append-only."""

    right = models.ForeignKey(IssuanceRight, on_delete=models.PROTECT, related_name="issuances")
    reseller = models.ForeignKey("accounts.Reseller", on_delete=models.PROTECT,
                                 related_name="issuances")
    template = models.ForeignKey(LicenseTemplate, on_delete=models.PROTECT,
                                 related_name="issuances")
    key = models.OneToOneField(LicenseKey, on_delete=models.PROTECT, related_name="issuance")
    time = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-time", "-id"]
        indexes = [models.Index(fields=["reseller", "time"])]

    def __str__(self) -> str:
        return f"{self.key} by {self.reseller}"
