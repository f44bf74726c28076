"""User accounts of a vendor's application (Cryptolens' user authentication, `userauth/*`).

End users of the vendor's software log in with a user name and password instead of typing a
license key; Login answers the licenses of the customer the user is associated with. These are
not portal users (apps.accounts.User): they never sign in to the portal."""

from __future__ import annotations

from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from apps.accounts.models import Vendor


class AppUserQuerySet(models.QuerySet):
    def for_vendor(self, vendor: Vendor) -> AppUserQuerySet:
        return self.filter(vendor=vendor)


class AppUser(models.Model):
    vendor = models.ForeignKey(Vendor, on_delete=models.CASCADE, related_name="app_users")
    username = models.CharField(max_length=100)
    email = models.EmailField(max_length=100, blank=True)
    # Django's password hasher format (make_password / check_password).
    password = models.CharField(max_length=128)
    customer = models.ForeignKey("licensing.Customer", on_delete=models.SET_NULL, null=True,
                                 blank=True, related_name="app_users")
    created = models.DateTimeField(default=timezone.now)
    last_login = models.DateTimeField(null=True, blank=True)
    # A password reset token is shown once (ResetPasswordToken); its SHA-256 digest is kept
    # until it is used or expires.
    reset_token_hash = models.CharField(max_length=64, blank=True)
    reset_token_expires = models.DateTimeField(null=True, blank=True)

    objects = AppUserQuerySet.as_manager()

    class Meta:
        ordering = ["username", "id"]
        constraints = [
            models.UniqueConstraint(Lower("username"), "vendor",
                                    name="app_user_unique_username"),
        ]

    def __str__(self) -> str:
        return self.username
