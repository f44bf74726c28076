from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render

from apps.access import VendorRequest, access_product, vendor_member
from apps.audit.log import Actor
from apps.core.errors import DomainError
from apps.licensing import selectors, services
from apps.licensing.services.catalog import PRODUCT_FIELDS
from apps.licensing.services.deletion import product_delete as delete_product
from apps.licensing.services.deletion import product_deletion_plan
from apps.licensing.services.expiry import SETTINGS_FIELDS, product_expiry_settings_update

from ..forms import ProductForm
from ..forms.deletion import ProductDeleteForm
from ..forms.expiry import ProductExpiryForm
from .common import add_domain_error


@vendor_member("read")
def product_list(request: VendorRequest) -> HttpResponse:
    products = selectors.product_list(vendor=request.vendor)
    return render(request, "vendor_portal/product_list.html", {"products": products})


@vendor_member("write")
def product_create(request: VendorRequest) -> HttpResponse:
    form = ProductForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            product = services.product_create(
                vendor=request.vendor, actor=Actor.for_user(request.user), **form.cleaned_data
            )
        except DomainError as error:
            add_domain_error(form, error)
        else:
            messages.success(request, f"Product “{product.name}” created.")
            return redirect("vendor_portal:key_list", product_id=product.pk)
    return render(request, "vendor_portal/product_form.html", {"form": form})


@vendor_member("write")
def product_edit(request: VendorRequest, product_id: int) -> HttpResponse:
    product = access_product(request.membership, product_id, level="write")
    initial = {name: getattr(product, name) for name in PRODUCT_FIELDS}
    form = ProductForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.product_update(product=product, actor=Actor.for_user(request.user),
                                    **form.cleaned_data)
        except DomainError as error:
            add_domain_error(form, error)
        else:
            messages.success(request, "Product saved.")
            return redirect("vendor_portal:key_list", product_id=product.pk)
    return render(request, "vendor_portal/product_form.html", {"form": form, "product": product})


@vendor_member("write")
def product_expiry(request: VendorRequest, product_id: int) -> HttpResponse:
    """Expiry notices to the product's customers and blocking of its expired keys."""
    product = access_product(request.membership, product_id, level="write")
    initial = {name: getattr(product, name) for name in SETTINGS_FIELDS}
    form = ProductExpiryForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            product_expiry_settings_update(product=product, actor=Actor.for_user(request.user),
                                           **form.cleaned_data)
        except DomainError as error:
            add_domain_error(form, error)
        else:
            messages.success(request, "Expiry settings saved.")
            return redirect("vendor_portal:key_list", product_id=product.pk)
    return render(request, "vendor_portal/product_expiry.html",
                  {"form": form, "product": product})


@vendor_member("write")
def product_delete(request: VendorRequest, product_id: int) -> HttpResponse:
    """Confirm, then delete a product with all its keys (refused while resellers hold any)."""
    product = access_product(request.membership, product_id, level="write")
    plan = product_deletion_plan(product=product)
    key_count = plan.removed_count("licensing.licensekey")
    form = ProductDeleteForm(request.POST or None, product_name=product.name,
                             key_count=key_count)
    if request.method == "POST" and form.is_valid():
        try:
            done = delete_product(product=product, actor=Actor.for_user(request.user),
                                  confirmed_keys=form.cleaned_data["confirmed_keys"])
        except DomainError as error:  # keys came or went, or a reseller issued one
            messages.error(request, error.message)
            return redirect("vendor_portal:product_delete", product_id=product.pk)
        else:
            gone = ", ".join(str(c) for c in done.removed)
            messages.success(request, f"Product “{product.name}” deleted"
                                      f"{f' with {gone}' if gone else ''}.")
            return redirect("vendor_portal:product_list")
    return render(request, "vendor_portal/product_delete.html",
                  {"product": product, "plan": plan, "form": form, "key_count": key_count})
