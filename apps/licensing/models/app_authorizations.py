"""Applications a customer's portal user authorized to read the customer's licenses
(Cryptolens' "user account authorization", .NET SKM.V3.Accounts.UserAccount.GetLicenseKeys).

The application opens <portal>/User/AuthorizeApp/?AuthorizationToken=...&PublicKey=...; a
signed-in person of one of the vendor's customers approves it, which stores one row here. The
application then proves it holds the private key of PublicKey (auth/GetChallenge, auth/GetToken)
and gets a token that may call user/GetLicenseKeys for that customer only, until it expires or
someone revokes it. Only digests of the AuthorizationToken and of the issued token are kept."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone

from apps.accounts.models import Vendor
from apps.core.models import TimeStampedModel

from .catalogue import Customer
from .credentials import AccessToken


class AppAuthorizationQuerySet(models.QuerySet):
    def for_vendor(self, vendor: Vendor) -> AppAuthorizationQuerySet:
        return self.filter(vendor=vendor)

    def for_customer(self, customer: Customer) -> AppAuthorizationQuerySet:
        return self.filter(customer=customer)

    def in_force(self) -> AppAuthorizationQuerySet:
        """Token issued, not revoked, not expired."""
        return self.filter(revoked_at__isnull=True, token_expires__gt=timezone.now())


class AppAuthorization(TimeStampedModel):
    vendor = models.ForeignKey(Vendor, on_delete=models.CASCADE,
                               related_name="app_authorizations")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE,
                                 related_name="app_authorizations")
    user = models.ForeignKey("accounts.User", on_delete=models.CASCADE, related_name="+",
                             help_text="The portal user who approved it.")
    access_token = models.ForeignKey(
        AccessToken, on_delete=models.CASCADE, related_name="+",
        help_text="The vendor's token named by TokenId: the one the application calls "
                  "auth/GetChallenge and auth/GetToken with; revoking it ends this too.")
    authorization_digest = models.CharField(max_length=64, unique=True)
    public_key_pem = models.TextField()
    scope = models.JSONField(default=dict, blank=True)
    app_name = models.CharField(max_length=200)
    device_name = models.CharField(max_length=200, blank=True)
    machine_code = models.CharField(max_length=128, blank=True)
    expires_days = models.PositiveIntegerField()
    # The application must get its token before this moment (approval + a few minutes).
    claim_by = models.DateTimeField()
    challenge = models.CharField(max_length=64, blank=True)
    challenge_issued_at = models.DateTimeField(null=True, blank=True)
    token_hash = models.CharField(max_length=64, blank=True)
    token_issued_at = models.DateTimeField(null=True, blank=True)
    token_expires = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = AppAuthorizationQuerySet.as_manager()

    class Meta:
        ordering = ["-created", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(expires_days__gte=1),
                                   name="app_authorization_expires_at_least_a_day"),
        ]

    def __str__(self) -> str:
        return f"{self.app_name} on {self.device_name or self.machine_code or 'a device'}"

    @property
    def status(self) -> str:
        """What the lists show: waiting for the application, active, expired or revoked."""
        now = timezone.now()
        if self.revoked_at is not None:
            return "revoked"
        if self.token_expires is None:
            return "waiting" if self.claim_by > now else "unclaimed"
        return "active" if self.token_expires > now else "expired"
