"""Writes that span several services, each assembled once for every interface: keys issued to
a customer created on the way (the vendor portal's key form, the Web API's CreateKey), a
customer added with its secret and an optional portal invitation (AddCustomer), and a
customer edited with, on request, a new secret and a new invitation (EditCustomer)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from django.db import transaction

from apps.accounts.models import Reseller, Vendor
from apps.audit.log import Actor
from apps.licensing.models import Customer, LicenseKey, Product
from apps.licensing.services.catalog import (
    customer_create,
    customer_portal_invitation_create,
    customer_secret_reset,
    customer_update,
)
from apps.licensing.services.keys import KeySpec, key_create
from apps.licensing.services.resellers import keys_set_reseller, template_create


@dataclass(frozen=True)
class NewCustomer:
    """A customer to create along with something else. Cryptolens accepts one with no
    details; it is then named "Customer"."""

    name: str = ""
    email: str = ""
    company_name: str = ""
    notes: str = ""
    allow_activation_management: bool = False
    # Several user accounts (userauth) may be associated with the customer.
    allow_multiple_user_association: bool = False
    # Use the vendor's customer with this e-mail address if there is one (the Web API's
    # AddOrUseExistingCustomer).
    reuse_by_email: bool = False


@dataclass(frozen=True)
class CustomerAdded:
    customer: Customer
    secret: str | None  # shown once; None when an existing customer was reused
    portal_token: str | None  # an invitation to the customer portal, shown once


@dataclass(frozen=True)
class KeysIssued:
    keys: list[LicenseKey]
    customer: Customer | None
    portal_token: str | None


def customer_add(*, vendor: Vendor, actor: Actor, details: NewCustomer,
                 portal_invitation: bool = False) -> CustomerAdded:
    """A customer with a fresh secret (or the existing one with that e-mail, when
    `details.reuse_by_email`), and with `portal_invitation` a link that makes whoever opens
    it a portal user of that customer (granting what the customer allows)."""
    with transaction.atomic():
        customer, secret = None, None
        if details.reuse_by_email and details.email:
            customer = (Customer.objects.for_vendor(vendor)
                        .filter(email__iexact=details.email).order_by("id").first())
        if customer is None:
            named = details.name or details.email or details.company_name
            customer = customer_create(
                vendor=vendor, actor=actor, name=details.name if named else "Customer",
                email=details.email, company_name=details.company_name, notes=details.notes,
                allow_activation_management=details.allow_activation_management,
                allow_multiple_user_association=details.allow_multiple_user_association)
            secret = customer_secret_reset(customer=customer, actor=actor)
        token = None
        if portal_invitation:
            _, token = customer_portal_invitation_create(
                customer=customer, actor=actor,
                can_manage_activations=customer.allow_activation_management)
    return CustomerAdded(customer, secret, token)


@dataclass(frozen=True)
class CustomerEdited:
    customer: Customer
    secret: str | None  # the new secret, shown once; None when it was not renewed
    portal_token: str | None  # a new portal invitation, shown once


def customer_edit(*, customer: Customer, actor: Actor, changes: dict[str, Any],
                  new_secret: bool = False, portal_invitation: bool = False
                  ) -> CustomerEdited:
    """Change the fields named in `changes` (the others stay as they are: Cryptolens'
    EditCustomer "will only change the properties that you specify"), with `new_secret` a new
    customer secret (the old one stops working) and with `portal_invitation` a new link that
    makes whoever opens it a portal user of the customer. All or nothing."""
    with transaction.atomic():
        if changes:
            customer = customer_update(customer=customer, actor=actor, **changes)
        secret = customer_secret_reset(customer=customer, actor=actor) if new_secret else None
        token = None
        if portal_invitation:
            _, token = customer_portal_invitation_create(
                customer=customer, actor=actor,
                can_manage_activations=customer.allow_activation_management)
    return CustomerEdited(customer, secret, token)


def keys_issue(*, product: Product, actor: Actor, spec: KeySpec, count: int = 1,
               new_customer: NewCustomer | None = None, portal_invitation: bool = False,
               template_name: str = "", template_notes: str = "",
               reseller: Reseller | None = None) -> KeysIssued:
    """Create `count` keys of `product` as `spec` says, for a customer created (or reused)
    from `new_customer` when given, with that customer's portal invitation when asked,
    attached to `reseller` when given (CreateKey's ResellerId), and saving `spec` as a
    template named `template_name` when given. All or nothing: a refused key batch leaves no
    customer or template behind.

    The template takes the key's parameters, never what belongs to this customer: not the
    customer, the key's notes (they often name the customer and every key made from the
    template would carry them to resellers and into licenses), the internal note or the
    allowed machine codes. Its notes are `template_notes`, empty unless the vendor wrote
    some."""
    with transaction.atomic():
        customer, token = spec.customer, None
        if new_customer is not None:
            added = customer_add(vendor=product.vendor, actor=actor, details=new_customer,
                                 portal_invitation=portal_invitation)
            customer, token = added.customer, added.portal_token
            spec = replace(spec, customer=customer)
        keys = key_create(product=product, actor=actor, spec=spec, count=count)
        if reseller is not None:
            keys_set_reseller(keys=keys, reseller=reseller, actor=actor)
        if template_name.strip():
            template_create(
                product=product, actor=actor, name=template_name.strip(), period=spec.period,
                max_no_of_machines=spec.max_no_of_machines,
                trial_activation=spec.trial_activation, notes=template_notes,
                automatic_activation=spec.automatic_activation,
                **{f"f{n}": bool(on) for n, on in enumerate(spec.features, start=1)})
    return KeysIssued(keys, customer, token)
