"""Developer machines of a product's SDK and the certificates each was given."""

from __future__ import annotations

from django.db import models

from apps.accounts.models import Vendor
from apps.core.models import TimeStampedModel
from apps.licensing.models import MAX_MACHINE_CODE_LENGTH, LicenseKey, Product


class DeveloperMachineQuerySet(models.QuerySet):
    def for_vendor(self, vendor: Vendor) -> DeveloperMachineQuerySet:
        return self.filter(product__vendor=vendor)


class DeveloperMachine(TimeStampedModel):
    """A machine that signed applications with the product's SDK, known by its machine code
    (the seat it holds on a developer's key). Revoked: it may sign nothing more; what it
    signed stays valid, since certificates are verified offline."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE,
                                related_name="developer_machines")
    machine_code = models.CharField(max_length=MAX_MACHINE_CODE_LENGTH)
    friendly_name = models.CharField(max_length=255, blank=True)
    last_signed_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.CharField(max_length=255, blank=True)

    objects = DeveloperMachineQuerySet.as_manager()

    class Meta:
        ordering = ["-last_signed_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["product", "machine_code"],
                                    name="developer_machine_unique_per_product"),
        ]

    def __str__(self) -> str:
        return self.friendly_name or self.machine_code

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None


class SdkCertificate(models.Model):
    """One signature: which application (by fingerprint) which machine signed with which key,
    and when. The certificate itself went to the developer; this is the vendor's record."""

    machine = models.ForeignKey(DeveloperMachine, on_delete=models.CASCADE,
                                related_name="certificates")
    # The key may be deleted later; the record keeps the key string it was signed with.
    key = models.ForeignKey(LicenseKey, on_delete=models.SET_NULL, null=True, blank=True,
                            related_name="sdk_certificates")
    key_string = models.CharField(max_length=23)
    application_name = models.CharField(max_length=255, blank=True)
    fingerprint = models.CharField(max_length=64)
    algorithm = models.CharField(max_length=32)
    signed_at = models.DateTimeField(db_index=True)
    # The license's end as the certificate states it; null when the license has no time
    # limit (the certificate never expires on its own).
    license_expires = models.DateTimeField(null=True, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-signed_at", "-id"]
        indexes = [models.Index(fields=["machine", "-signed_at"])]

    def __str__(self) -> str:
        return f"{self.application_name or self.fingerprint[:12]} ({self.signed_at:%Y-%m-%d})"
