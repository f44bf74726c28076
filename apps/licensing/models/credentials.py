"""Per-vendor signing keys and Web API access tokens (only digests and encrypted keys stored)."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from apps.accounts.models import Vendor
from apps.core.models import TimeStampedModel

from .catalogue import LicenseKey, Product


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
    key_lock_required = models.BooleanField(
        default=False, help_text="Cryptolens' key lock -1: the token names no key itself; "
        "auth/KeyLock turns it into a token locked to the key a call names.")
    # The feature lock (Cryptolens keeps one integer whose meaning depends on the method):
    fields_hidden = models.PositiveIntegerField(
        default=0, help_text="FieldsToReturn bits every answer of this token hides (notes, "
        "customer, data objects...), whatever the call asks for.")
    trial_days = models.PositiveIntegerField(
        null=True, blank=True, help_text="Length of the trials CreateTrialKey makes with this "
        "token (the product's trial length when empty).")
    max_increment = models.PositiveBigIntegerField(
        null=True, blank=True, help_text="Largest amount one increment or decrement of a data "
        "object may use with this token (no limit when empty).")
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
