"""Who may use the customer portal: a customer's portal members, the links that let people
join it, and sign-ups waiting for a verified address. The first two tables kept the names they
had in apps.accounts."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from apps.accounts.models import User, Vendor
from apps.core.models import TimeStampedModel


class CustomerMembershipQuerySet(models.QuerySet):
    def for_user(self, user: User) -> CustomerMembershipQuerySet:
        return self.filter(user=user)


class CustomerMembership(TimeStampedModel):
    """A person who logs in to the customer portal for one of a vendor's customers."""

    customer = models.ForeignKey("licensing.Customer", on_delete=models.CASCADE,
                                 related_name="portal_members")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="customer_memberships")
    can_manage_activations = models.BooleanField(
        default=False, help_text="May deactivate devices (if the customer allows it too).")

    objects = CustomerMembershipQuerySet.as_manager()

    class Meta:
        db_table = "accounts_customermembership"
        constraints = [models.UniqueConstraint(fields=["customer", "user"],
                                               name="customer_membership_unique_user")]
        ordering = ["created"]

    def __str__(self) -> str:
        return f"{self.user} @ {self.customer}"

    @property
    def may_deactivate(self) -> bool:
        return self.can_manage_activations and self.customer.allow_activation_management


class PortalLinkQuerySet(models.QuerySet):
    def usable(self) -> PortalLinkQuerySet:
        from django.utils import timezone

        return self.filter(revoked_at__isnull=True).filter(
            models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=timezone.now()))


class PortalLink(TimeStampedModel):
    """A link that lets people join the customer portal.

    For one customer (an invitation the vendor sends), or vendor-wide (a sign-up link): whoever
    signs up through a vendor-wide link joins the vendor's customer with their verified e-mail
    address, or a new customer made for them. Only a SHA-256 digest of the token is stored."""

    vendor = models.ForeignKey(Vendor, on_delete=models.CASCADE, related_name="portal_links")
    customer = models.ForeignKey("licensing.Customer", on_delete=models.CASCADE, null=True,
                                 blank=True, related_name="portal_links")
    name = models.CharField(max_length=100, blank=True)
    token_hash = models.CharField(max_length=64, unique=True)
    can_manage_activations = models.BooleanField(default=False)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    uses = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")

    objects = PortalLinkQuerySet.as_manager()

    class Meta:
        db_table = "accounts_portallink"
        ordering = ["-created"]

    def __str__(self) -> str:
        return self.name or (f"Invitation to {self.customer}" if self.customer_id
                             else "Sign-up link")

    @property
    def is_usable(self) -> bool:
        from django.utils import timezone

        return self.revoked_at is None and (self.expires_at is None
                                            or self.expires_at > timezone.now())


class PendingPortalJoin(models.Model):
    """Someone signed up through a vendor-wide portal link: they join that portal once their
    address is verified, since the address picks the customer."""

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="+")
    link = models.ForeignKey(PortalLink, on_delete=models.CASCADE, related_name="+")
    created = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.user} waits to join through {self.link}"
