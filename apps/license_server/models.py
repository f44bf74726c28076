"""License-server configurations issued by vendors, and the journal records their servers
uploaded (kept to make uploads idempotent)."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from apps.accounts.models import Vendor
from apps.core.models import TimeStampedModel
from apps.licensing.models import Customer, LicenseKey


class LicenseServerConfigurationQuerySet(models.QuerySet):
    def for_vendor(self, vendor: Vendor) -> LicenseServerConfigurationQuerySet:
        return self.filter(vendor=vendor)


class LicenseServerConfiguration(TimeStampedModel):
    """What a customer's license server may do offline, issued as a file signed with the
    vendor's key. The server's private key and upload secret go into that file only: the
    portal keeps the public key (for the vendor's application) and a digest of the secret."""

    vendor = models.ForeignKey(Vendor, on_delete=models.CASCADE,
                               related_name="license_server_configurations")
    name = models.CharField(max_length=100)
    customer = models.ForeignKey(Customer, on_delete=models.SET_NULL, null=True, blank=True,
                                 related_name="license_server_configurations")
    keys = models.ManyToManyField(LicenseKey, blank=True, related_name="+",
                                  help_text="Keys the server may hand out floating seats of "
                                            "offline.")
    valid_until = models.DateTimeField()
    public_key_pem = models.TextField()
    upload_secret_hash = models.CharField(max_length=64)
    created_by = models.ForeignKey("accounts.User", on_delete=models.SET_NULL, null=True,
                                   blank=True, related_name="+")
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_upload_at = models.DateTimeField(null=True, blank=True)

    objects = LicenseServerConfigurationQuerySet.as_manager()

    class Meta:
        ordering = ["-created", "-id"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    @property
    def is_expired(self) -> bool:
        return self.valid_until <= timezone.now()


class UploadedRecord(models.Model):
    """One journal record a license server uploaded, by the id the server gave it."""

    configuration = models.ForeignKey(LicenseServerConfiguration, on_delete=models.CASCADE,
                                      related_name="uploaded_records")
    record_id = models.CharField(max_length=64)
    received = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["configuration", "record_id"],
                                    name="uploaded_record_once_per_configuration"),
        ]

    def __str__(self) -> str:
        return self.record_id
