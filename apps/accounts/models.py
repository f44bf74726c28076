"""People and organisations: users, vendors (tenants), their members and invitations."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models.functions import Lower

from apps.core.models import TimeStampedModel


class User(AbstractUser):
    """A person who logs in. Login is by e-mail (allauth); `username` is filled in by allauth."""

    email = models.EmailField("e-mail address", unique=True)

    def __str__(self) -> str:
        return self.email or self.username


def display_name(user: User) -> str:
    """How allauth names a user on its pages: the e-mail address they log in with."""
    return user.email or user.username


class Vendor(TimeStampedModel):
    """An organisation that sells software: the tenant every licensing object belongs to."""

    name = models.CharField(max_length=200)

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    ADMIN = "admin", "Admin"
    READ_ONLY = "read_only", "Read-only"


class Membership(TimeStampedModel):
    vendor = models.ForeignKey(Vendor, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.READ_ONLY)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["vendor", "user"], name="membership_unique_user"),
        ]
        ordering = ["created"]

    def __str__(self) -> str:
        return f"{self.user} @ {self.vendor} ({self.role})"

    @property
    def can_write(self) -> bool:
        return self.role in (Role.OWNER, Role.ADMIN)

    @property
    def is_owner(self) -> bool:
        return self.role == Role.OWNER


class InvitationQuerySet(models.QuerySet):
    def for_vendor(self, vendor: Vendor) -> InvitationQuerySet:
        return self.filter(vendor=vendor)

    def pending(self) -> InvitationQuerySet:
        return self.filter(accepted_at__isnull=True, revoked_at__isnull=True)


class Invitation(TimeStampedModel):
    """An owner's invitation of an e-mail address to join the vendor with a role.

    Only a SHA-256 digest of the invitation token is stored; the link is e-mailed once.
    """

    vendor = models.ForeignKey(Vendor, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.READ_ONLY)
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, related_name="+")
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = InvitationQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                Lower("email"),
                "vendor",
                condition=models.Q(accepted_at__isnull=True, revoked_at__isnull=True),
                name="invitation_one_pending_per_email",
            ),
        ]
        ordering = ["-created"]

    def __str__(self) -> str:
        return f"Invitation of {self.email} to {self.vendor}"


class ResellerQuerySet(models.QuerySet):
    def for_vendor(self, vendor: Vendor) -> ResellerQuerySet:
        return self.filter(vendor=vendor)


class Reseller(TimeStampedModel):
    """A company or person a vendor lets issue keys from templates, within granted quotas.

    Invited by e-mail; `user` is set when the invitation is accepted. One person may be a
    reseller of several vendors (one row per vendor)."""

    vendor = models.ForeignKey(Vendor, on_delete=models.CASCADE, related_name="resellers")
    user = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True,
                             related_name="resellerships")
    name = models.CharField(max_length=100)
    company = models.CharField(max_length=100, blank=True)
    email = models.EmailField(max_length=100)
    url = models.URLField(max_length=500, blank=True)
    phone = models.CharField(max_length=100, blank=True)
    description = models.TextField(max_length=1000, blank=True)
    # Cryptolens' reseller Metadata: a string the vendor's own systems keep (often JSON).
    metadata = models.TextField(max_length=10000, blank=True)
    invite_token_hash = models.CharField(max_length=64, blank=True)
    invite_expires_at = models.DateTimeField(null=True, blank=True)
    accepted_at = models.DateTimeField(null=True, blank=True)

    objects = ResellerQuerySet.as_manager()

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["vendor", "user"], condition=models.Q(
                user__isnull=False), name="reseller_one_per_user_and_vendor"),
        ]

    def __str__(self) -> str:
        return self.company or self.name
