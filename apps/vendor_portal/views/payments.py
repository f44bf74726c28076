"""Selling through Stripe: the vendor's Stripe settings, payment forms and subscription
prices. Orders and subscriptions are listed in orders.py."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from apps.access import VendorRequest, access_payment_form, access_price_mapping, vendor_member
from apps.audit.log import Actor
from apps.commerce import selectors, services
from apps.commerce.models import PaymentForm
from apps.commerce.money import decimals
from apps.commerce.price_mappings import price_mapping_remove, price_mapping_save
from apps.commerce.services import OptionSpec, stripe_account_of
from apps.core.errors import DomainError
from apps.licensing.models import Product

from ..forms.payments import (
    BasePriceFormSet,
    PaymentFormForm,
    PriceMappingForm,
    StripeAccountForm,
    price_formset,
)
from .common import add_domain_error

# What the vendor enables on the webhook endpoint in Stripe's Dashboard: every event the
# portal acts on, as the services list them.
WEBHOOK_EVENTS = tuple(services.HANDLERS)


# --- Settings, Payments ---------------------------------------------------------------------


def _settings_page(request: VendorRequest, form: StripeAccountForm) -> HttpResponse:
    account = stripe_account_of(request.vendor)
    webhook_url = request.build_absolute_uri(reverse(
        "storefront:stripe_webhook", args=[account.webhook_path])) if account else ""
    return render(request, "vendor_portal/stripe_settings.html", {
        "account": account, "form": form, "webhook_url": webhook_url,
        "webhook_events": WEBHOOK_EVENTS})


@vendor_member("read")
def stripe_settings(request: VendorRequest) -> HttpResponse:
    return _settings_page(request, StripeAccountForm(account=stripe_account_of(request.vendor)))


@require_POST
@sensitive_post_parameters("secret_key", "webhook_secret")
@vendor_member("owner")
def stripe_settings_save(request: VendorRequest) -> HttpResponse:
    """Owners only, like signing keys: the secret key reaches the organisation's money."""
    form = StripeAccountForm(request.POST, account=stripe_account_of(request.vendor))
    if form.is_valid():
        try:
            services.stripe_account_save(vendor=request.vendor, actor=Actor.for_user(request.user),
                                **form.cleaned_data)
        except DomainError as error:
            add_domain_error(form, error)
        else:
            messages.success(request, "Stripe settings saved.")
            return redirect("vendor_portal:stripe_settings")
    return _settings_page(request, form)


# --- Payment forms -------------------------------------------------------------------------


def _selling_context(request: VendorRequest) -> dict[str, Any]:
    """What the pages say when selling cannot work yet: no Stripe account, no template."""
    first_product = Product.objects.for_vendor(request.vendor).order_by("name", "pk").first()
    return {"has_stripe": stripe_account_of(request.vendor) is not None,
            "has_templates": selectors.vendor_templates(vendor=request.vendor).exists(),
            "first_product": first_product}


@vendor_member("read")
def payment_form_list(request: VendorRequest) -> HttpResponse:
    rows = [(form, request.build_absolute_uri(reverse("storefront:payment_form",
                                                      args=[form.public_id])))
            for form in selectors.payment_form_list(vendor=request.vendor)]
    return render(request, "vendor_portal/payment_form_list.html", {
        "rows": rows, **_selling_context(request)})


def _form_page(request: VendorRequest, form: PaymentFormForm, prices: BasePriceFormSet,
               payment_form: PaymentForm | None = None) -> HttpResponse:
    return render(request, "vendor_portal/payment_form_form.html", {
        "form": form, "prices": prices, "payment_form": payment_form,
        **_selling_context(request)})


def _options(form: PaymentFormForm, prices: BasePriceFormSet) -> list[OptionSpec] | None:
    """The prices in the form's currency, once both the form and every row are valid (both
    are checked, so that every error shows at once)."""
    if not (form.is_valid() & prices.is_valid()):
        return None
    return prices.options(form.cleaned_data["currency"])


@vendor_member("write")
def payment_form_create(request: VendorRequest) -> HttpResponse:
    templates = selectors.vendor_templates(vendor=request.vendor)
    form = PaymentFormForm(request.POST or None, templates=templates)
    prices = price_formset(request.POST or None)
    if request.method == "POST" and (options := _options(form, prices)) is not None:
        try:
            created = services.payment_form_create(
                vendor=request.vendor, actor=Actor.for_user(request.user), options=options,
                **form.cleaned_data)
        except DomainError as error:
            add_domain_error(form, error)  # the prices' ("options") above the form
        else:
            messages.success(request, f"Payment form “{created.title}” created.")
            return redirect("vendor_portal:payment_form_list")
    return _form_page(request, form, prices)


@vendor_member("write")
def payment_form_edit(request: VendorRequest, form_id: int) -> HttpResponse:
    payment_form = access_payment_form(request.membership, form_id, level="write")
    templates = selectors.vendor_templates(vendor=request.vendor)
    initial = {name: getattr(payment_form, name) for name in (
        "title", "template", "currency", "description", "collect_company", "collect_vat_id",
        "success_url", "active")}
    form = PaymentFormForm(request.POST or None, templates=templates, editing=True,
                           initial=initial)
    places = decimals(payment_form.currency)
    prices = price_formset(request.POST or None, initial=[
        {"label": o.label, "price": Decimal(o.amount).scaleb(-places), "seats": o.seats}
        for o in payment_form.options.all()])
    if request.method == "POST" and (options := _options(form, prices)) is not None:
        try:
            services.payment_form_update(form=payment_form, actor=Actor.for_user(request.user),
                                         options=options, **form.cleaned_data)
        except DomainError as error:
            add_domain_error(form, error)
        else:
            messages.success(request, f"Payment form “{form.cleaned_data['title']}” saved.")
            return redirect("vendor_portal:payment_form_list")
    return _form_page(request, form, prices, payment_form)


# --- Subscription prices -------------------------------------------------------------------


def _mapping_page(request: VendorRequest, form: PriceMappingForm) -> HttpResponse:
    return render(request, "vendor_portal/price_mapping_list.html", {
        "mappings": selectors.price_mapping_list(vendor=request.vendor), "form": form,
        **_selling_context(request)})


@vendor_member("read")
def price_mapping_list(request: VendorRequest) -> HttpResponse:
    return _mapping_page(request, PriceMappingForm(
        templates=selectors.vendor_templates(vendor=request.vendor)))


@require_POST
@vendor_member("write")
def price_mapping_create(request: VendorRequest) -> HttpResponse:
    form = PriceMappingForm(request.POST,
                            templates=selectors.vendor_templates(vendor=request.vendor))
    if form.is_valid():
        try:
            mapping = price_mapping_save(vendor=request.vendor,
                                         actor=Actor.for_user(request.user), **form.cleaned_data)
        except DomainError as error:
            add_domain_error(form, error)
        else:
            messages.success(request, f"Subscriptions to {mapping.price_id} now get keys of "
                                      f"“{mapping.template.name}”.")
            return redirect("vendor_portal:price_mapping_list")
    return _mapping_page(request, form)


@require_POST
@vendor_member("write")
def price_mapping_remove_view(request: VendorRequest, mapping_id: int) -> HttpResponse:
    """Unmap a price. A second click finds it gone: the list says so rather than a 404 page;
    another vendor's id gets the very same answer, revealing nothing."""
    try:
        mapping = access_price_mapping(request.membership, mapping_id, level="write")
    except Http404:
        messages.info(request, "That price was already removed.")
        return redirect("vendor_portal:price_mapping_list")
    price_mapping_remove(mapping=mapping, actor=Actor.for_user(request.user))
    messages.success(request, f"{mapping.price_id} removed: new subscriptions to it get no key. "
                              "Keys already issued stay as they are.")
    return redirect("vendor_portal:price_mapping_list")
