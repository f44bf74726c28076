"""Products and customers."""

from __future__ import annotations

import secrets
from typing import Any

from django.db import transaction

from apps.accounts.models import Vendor
from apps.audit.log import Actor, diff, log_change, snapshot
from apps.core.errors import DomainError
from apps.core.hashing import sha256_hex
from apps.licensing import events
from apps.licensing.models import Customer, PortalLink, Product
from apps.licensing.services.portal import portal_link_create

PRODUCT_FIELDS = [
    "name", "description",
    *[f"f{n}_name" for n in range(1, 9)],
    "default_max_machines", "trial_period_days", "trial_max_machines",
    "trial_feature", "time_limited_feature", "activation_form_enabled",
]
CUSTOMER_FIELDS = ["name", "email", "company_name", "notes", "allow_activation_management",
                   "max_no_of_devices", "allow_multiple_user_association"]
MAX_DEVICE_CAP = 1_000_000


def _check_feature_markers(values: dict[str, Any]) -> None:
    for field in ("trial_feature", "time_limited_feature"):
        if not 0 <= int(values.get(field) or 0) <= 8:
            raise DomainError("Choose a feature between 1 and 8, or 0 for none.", field=field)


@transaction.atomic
def product_create(*, vendor: Vendor, actor: Actor, name: str, **fields: Any) -> Product:
    unknown = set(fields) - set(PRODUCT_FIELDS)
    if unknown:
        raise TypeError(f"Unknown product fields: {sorted(unknown)}")
    _check_feature_markers(fields)
    product = Product.objects.create(vendor=vendor, name=name, **fields)
    log_change(vendor=vendor, actor=actor, obj=product, action="created",
               changes=diff({}, snapshot(product, PRODUCT_FIELDS)))
    return product


@transaction.atomic
def product_update(*, product: Product, actor: Actor, **fields: Any) -> Product:
    unknown = set(fields) - set(PRODUCT_FIELDS)
    if unknown:
        raise TypeError(f"Unknown product fields: {sorted(unknown)}")
    _check_feature_markers({**snapshot(product, PRODUCT_FIELDS), **fields})
    before = snapshot(product, PRODUCT_FIELDS)
    for name, value in fields.items():
        setattr(product, name, value)
    product.save(update_fields=[*fields, "updated"])
    changes = diff(before, snapshot(product, PRODUCT_FIELDS))
    if changes:
        log_change(vendor=product.vendor, actor=actor, obj=product, action="updated",
                   changes=changes)
    return product


def _check_customer(values: dict[str, Any]) -> None:
    if not (values.get("name") or values.get("email") or values.get("company_name")):
        raise DomainError("Give the customer a name, an e-mail address or a company.",
                          field="name")
    if not 0 <= int(values.get("max_no_of_devices") or 0) <= MAX_DEVICE_CAP:
        raise DomainError(f"The device cap is 0 (none) to {MAX_DEVICE_CAP}.",
                          field="max_no_of_devices")


@transaction.atomic
def customer_create(
    *, vendor: Vendor, actor: Actor, name: str = "", email: str = "", company_name: str = "",
    notes: str = "", allow_activation_management: bool = False, max_no_of_devices: int = 0,
    allow_multiple_user_association: bool = False,
) -> Customer:
    """A customer of the vendor. `allow_activation_management` lets its portal users (who
    have the permission themselves) deactivate devices; `max_no_of_devices` caps the devices
    across all its keys (0 = no cap), enforced by key activation."""
    values = {"name": name, "email": email, "company_name": company_name, "notes": notes,
              "allow_activation_management": allow_activation_management,
              "max_no_of_devices": max_no_of_devices or 0,
              "allow_multiple_user_association": allow_multiple_user_association}
    _check_customer(values)
    customer = Customer.objects.create(vendor=vendor, **values)
    log_change(vendor=vendor, actor=actor, obj=customer, action="created",
               changes=diff({}, snapshot(customer, CUSTOMER_FIELDS)))
    events.customer_event(customer)
    return customer


@transaction.atomic
def customer_update(*, customer: Customer, actor: Actor, **fields: Any) -> Customer:
    unknown = set(fields) - set(CUSTOMER_FIELDS)
    if unknown:
        raise TypeError(f"Unknown customer fields: {sorted(unknown)}")
    _check_customer({**snapshot(customer, CUSTOMER_FIELDS), **fields})
    before = snapshot(customer, CUSTOMER_FIELDS)
    for name, value in fields.items():
        setattr(customer, name, value)
    customer.save(update_fields=[*fields, "updated"])
    changes = diff(before, snapshot(customer, CUSTOMER_FIELDS))
    if changes:
        log_change(vendor=customer.vendor, actor=actor, obj=customer, action="updated",
                   changes=changes)
    return customer


# --- The customer secret and the customer's portal invitation, as the Web API gives them. ---


@transaction.atomic
def customer_secret_reset(*, customer: Customer, actor: Actor) -> str:
    """A new customer secret (a password that lists the customer's keys through the Web
    API). Returned once; only its SHA-256 digest is stored."""
    secret = secrets.token_hex(16)
    Customer.objects.filter(pk=customer.pk).update(secret_hash=sha256_hex(secret))
    customer.secret_hash = sha256_hex(secret)
    log_change(vendor=customer.vendor, actor=actor, obj=customer, action="secret set")
    return secret


def customer_for_secret(*, vendor: Vendor, secret: str) -> Customer | None:
    """The vendor's customer whose secret this is."""
    if not secret or len(secret) > 200:
        return None
    return Customer.objects.for_vendor(vendor).filter(secret_hash=sha256_hex(secret)).first()


@transaction.atomic
def customer_portal_invitation_create(*, customer: Customer, actor: Actor,
                                      can_manage_activations: bool = False
                                      ) -> tuple[PortalLink, str]:
    """A link that makes whoever opens it a portal user of `customer` (the Web API's
    EnableCustomerAssociation). Returns the link and its token, shown once."""
    return portal_link_create(vendor=customer.vendor, actor=actor, customer=customer,
                              can_manage_activations=can_manage_activations)
