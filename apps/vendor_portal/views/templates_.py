"""License templates of a product: the saved parameters keys are created from."""

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render

from apps.access import VendorRequest, access_product, access_template, vendor_member
from apps.audit.log import Actor
from apps.core.errors import DomainError
from apps.licensing import selectors_resellers as selectors
from apps.licensing.services.resellers import TEMPLATE_FIELDS, template_create, template_update

from ..forms import LicenseTemplateForm, format_data_objects
from .common import add_domain_error, paginate


@vendor_member("read")
def template_list(request: VendorRequest, product_id: int) -> HttpResponse:
    product = access_product(request.membership, product_id)
    names = product.feature_names  # the vendor's names for F1-F8 ("F3" where unnamed)
    return render(request, "vendor_portal/template_list.html", {
        "product": product, "templates": [
            (template, [name for name, on in zip(names, template.features, strict=True) if on])
            for template in selectors.template_list(product=product)]})


@vendor_member("write")
def template_create_view(request: VendorRequest, product_id: int) -> HttpResponse:
    product = access_product(request.membership, product_id, level="write")
    form = LicenseTemplateForm(request.POST or None, product=product,
                               initial={"max_no_of_machines": product.default_max_machines})
    if request.method == "POST" and form.is_valid():
        try:
            template = template_create(product=product, actor=Actor.for_user(request.user),
                                       **_fields(form))
        except DomainError as error:
            add_domain_error(form, error)
        else:
            messages.success(request, f"Template “{template.name}” created.")
            return redirect("vendor_portal:template_list", product_id=product.pk)
    return render(request, "vendor_portal/template_form.html",
                  {"form": form, "product": product, "template": None})


@vendor_member("write")
def template_edit(request: VendorRequest, template_id: int) -> HttpResponse:
    template = access_template(request.membership, template_id, level="write")
    initial = {name: getattr(template, name) for name in TEMPLATE_FIELDS}
    initial["data_objects"] = format_data_objects(template.data_objects)
    form = LicenseTemplateForm(request.POST or None, product=template.product, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            template_update(template=template, actor=Actor.for_user(request.user),
                            **_fields(form))
        except DomainError as error:
            add_domain_error(form, error)
        else:
            messages.success(request, f"Template “{template.name}” saved.")
            return redirect("vendor_portal:template_list", product_id=template.product_id)
    return render(request, "vendor_portal/template_form.html", {
        "form": form, "product": template.product, "template": template,
        "log": paginate(request, selectors.template_log(template=template), 50)})


def _fields(form: LicenseTemplateForm) -> dict:
    return {name: form.cleaned_data[name] for name in TEMPLATE_FIELDS}
