"""customer/* methods."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from apps.licensing import services, states
from apps.licensing.license_payload import basic_key
from apps.licensing.models import Customer

from .. import errors
from ..context import ApiContext
from ..errors import ApiError
from ..registry import Param, api_method


def create_customer_from_params(ctx: ApiContext, *, reuse_by_email: bool = False
                                ) -> tuple[Customer, str | None]:
    """Create a customer from Name/Email/CompanyName/Notes; with `reuse_by_email`, return the
    vendor's customer with that e-mail if there is one. Returns (customer, new secret)."""
    params = ctx.params
    name = params.str("Name", max_length=100)
    email = params.str("Email", max_length=100)
    company = params.str("CompanyName", max_length=100)
    notes = params.str("Notes", max_length=1000)
    if reuse_by_email and email:
        existing = Customer.objects.filter(vendor=ctx.vendor, email__iexact=email).first()
        if existing is not None:
            return existing, None
    customer = services.customer_create(vendor=ctx.vendor, actor=ctx.actor, name=name,
                                        email=email, company_name=company, notes=notes) \
        if (name or email or company) else _unnamed(ctx, notes)
    secret = secrets.token_hex(16)
    Customer.objects.filter(pk=customer.pk).update(
        secret_hash=hashlib.sha256(secret.encode()).hexdigest())
    return customer, secret


def _unnamed(ctx: ApiContext, notes: str) -> Customer:
    # Cryptolens accepts a customer with no details; so do we, named by its id afterwards.
    return services.customer_create(vendor=ctx.vendor, actor=ctx.actor, name="Customer",
                                    notes=notes)


@api_method(
    "customer.AddCustomer",
    summary="Add a customer. The customer secret is returned once and stored hashed.",
    params=(Param("Name", "string", "At most 100 characters."),
            Param("Email", "string", "At most 100 characters."),
            Param("CompanyName", "string", "At most 100 characters."),
            Param("Notes", "string", "At most 1000 characters."),
            Param("EnableCustomerAssociation", "bool", "Accepted for compatibility.", "false"),
            Param("AllowActivationManagement", "bool", "Accepted for compatibility.", "false")),
    returns="customerId, secret",
    errors=(errors.UNABLE_TO_AUTHENTICATE, errors.ACCESS_DENIED, errors.INCORRECT_INPUT),
)
def add_customer(ctx: ApiContext) -> dict[str, Any]:
    customer, secret = create_customer_from_params(ctx)
    ctx.record.state = states.OTHER_OK
    return {"customerId": customer.pk, "secret": secret or "", "portalLink": ""}


@api_method(
    "customer.GetCustomerLicenses",
    summary="List a customer's keys (unsigned).",
    params=(Param("CustomerId", "int", "The customer."),
            Param("Detailed", "bool", "Full key objects rather than basic ones.", "false")),
    returns="licenseKeys",
    errors=(errors.UNABLE_TO_AUTHENTICATE, errors.ACCESS_DENIED, errors.CUSTOMER_NOT_FOUND),
)
def get_customer_licenses(ctx: ApiContext) -> dict[str, Any]:
    customer = Customer.objects.filter(vendor=ctx.vendor,
                                       pk=ctx.params.int("CustomerId", 0)).first()
    if customer is None:
        raise ApiError(errors.CUSTOMER_NOT_FOUND)
    detailed = ctx.params.bool("Detailed", False)
    keys = customer.keys.select_related("customer").prefetch_related(
        "activations", "data_objects").order_by("product_id", "serial")
    if ctx.token.product_id:
        keys = keys.filter(product_id=ctx.token.product_id)
    return {"licenseKeys": [basic_key(k, detailed=detailed) for k in keys]}
