"""A product's public activation forms: list, create, edit, delete."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from apps.access import VendorRequest, access_activation_form, access_product, vendor_member
from apps.audit.log import Actor
from apps.core.errors import DomainError
from apps.licensing.license_files import FORMATS
from apps.licensing.models import ActivationForm
from apps.licensing.services.activation_forms import (
    FORM_FIELDS,
    activation_form_create,
    activation_form_delete,
    activation_form_update,
)

from ..forms import ActivationFormForm
from .common import add_domain_error


@vendor_member("read")
def activation_form_list(request: VendorRequest, product_id: int) -> HttpResponse:
    product = access_product(request.membership, product_id)
    rows = [(form, request.build_absolute_uri(
        reverse("activation_forms:activation_form", args=[form.slug])))
        for form in ActivationForm.objects.filter(product=product)]
    return render(request, "vendor_portal/activation_form_list.html",
                  {"product": product, "rows": rows, "formats": dict(FORMATS)})


@vendor_member("write")
def activation_form_create_view(request: VendorRequest, product_id: int) -> HttpResponse:
    product = access_product(request.membership, product_id, level="write")
    form = ActivationFormForm(request.POST or None,
                              initial={"title": f"Activate {product.name}"})
    if request.method == "POST" and form.is_valid():
        try:
            created = activation_form_create(product=product, actor=Actor.for_user(request.user),
                                             **form.cleaned_data)
        except DomainError as error:
            add_domain_error(form, error)
        else:
            messages.success(request, f"Activation form “{created.title}” created.")
            return redirect("vendor_portal:activation_form_list", product_id=product.pk)
    return render(request, "vendor_portal/activation_form_form.html",
                  {"form": form, "product": product})


@vendor_member("write")
def activation_form_edit(request: VendorRequest, form_id: int) -> HttpResponse:
    activation_form = access_activation_form(request.membership, form_id, level="write")
    product = activation_form.product
    form = ActivationFormForm(request.POST or None, initial={
        name: getattr(activation_form, name) for name in FORM_FIELDS})
    if request.method == "POST" and form.is_valid():
        try:
            activation_form_update(form=activation_form, actor=Actor.for_user(request.user),
                                   **form.cleaned_data)
        except DomainError as error:
            add_domain_error(form, error)
        else:
            messages.success(request, "Activation form saved.")
            return redirect("vendor_portal:activation_form_list", product_id=product.pk)
    return render(request, "vendor_portal/activation_form_form.html",
                  {"form": form, "product": product, "activation_form": activation_form})


@require_POST
@vendor_member("write")
def activation_form_delete_view(request: VendorRequest, form_id: int) -> HttpResponse:
    activation_form = access_activation_form(request.membership, form_id, level="write")
    activation_form_delete(form=activation_form, actor=Actor.for_user(request.user))
    messages.success(request, f"Activation form “{activation_form.title}” deleted.")
    return redirect("vendor_portal:activation_form_list", product_id=activation_form.product_id)
