"""Products and customers."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from apps.accounts.models import Vendor
from apps.core.errors import DomainError

from ..audit import Actor, diff, log_change, snapshot
from ..models import Customer, Product

PRODUCT_FIELDS = [
    "name", "description",
    *[f"f{n}_name" for n in range(1, 9)],
    "default_max_machines", "trial_period_days", "trial_max_machines",
    "trial_feature", "time_limited_feature", "activation_form_enabled",
]
CUSTOMER_FIELDS = ["name", "email", "company_name", "notes"]


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


@transaction.atomic
def customer_create(
    *, vendor: Vendor, actor: Actor, name: str = "", email: str = "", company_name: str = "",
    notes: str = "",
) -> Customer:
    if not (name or email or company_name):
        raise DomainError("Give the customer a name, an e-mail address or a company.",
                          field="name")
    customer = Customer.objects.create(
        vendor=vendor, name=name, email=email, company_name=company_name, notes=notes
    )
    log_change(vendor=vendor, actor=actor, obj=customer, action="created",
               changes=diff({}, snapshot(customer, CUSTOMER_FIELDS)))
    return customer


@transaction.atomic
def customer_update(*, customer: Customer, actor: Actor, **fields: Any) -> Customer:
    unknown = set(fields) - set(CUSTOMER_FIELDS)
    if unknown:
        raise TypeError(f"Unknown customer fields: {sorted(unknown)}")
    before = snapshot(customer, CUSTOMER_FIELDS)
    for name, value in fields.items():
        setattr(customer, name, value)
    if not (customer.name or customer.email or customer.company_name):
        raise DomainError("Give the customer a name, an e-mail address or a company.",
                          field="name")
    customer.save(update_fields=[*fields, "updated"])
    changes = diff(before, snapshot(customer, CUSTOMER_FIELDS))
    if changes:
        log_change(vendor=customer.vendor, actor=actor, obj=customer, action="updated",
                   changes=changes)
    return customer
