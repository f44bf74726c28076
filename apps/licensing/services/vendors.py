"""Vendors as licensing sees them: an organisation is created with its owner and the RSA key
it signs licenses with, in one transaction."""

from __future__ import annotations

from django.db import transaction

from apps.accounts.models import Membership, Role, User, Vendor
from apps.audit.log import Actor, log_change
from apps.core.errors import DomainError

from .credentials import signing_key_create


@transaction.atomic
def vendor_create(*, owner: User, name: str) -> Vendor:
    """Create a vendor organisation with `owner` as its owner, and its RSA signing key."""
    name = name.strip()
    if not name:
        raise DomainError("Give your organisation a name.", field="organisation")
    vendor = Vendor.objects.create(name=name)
    Membership.objects.create(vendor=vendor, user=owner, role=Role.OWNER)
    signing_key_create(vendor=vendor)
    log_change(vendor=vendor, actor=Actor.for_user(owner), obj=vendor, action="created",
               changes={"name": [None, name]})
    return vendor
