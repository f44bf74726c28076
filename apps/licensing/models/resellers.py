"""License templates and the rights that let resellers issue keys from them, with each issuance."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone

from apps.accounts.models import Vendor
from apps.core.models import TimeStampedModel

from .catalogue import FEATURE_NUMBERS, MAX_NOTES_LENGTH, LicenseKey, Product


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
