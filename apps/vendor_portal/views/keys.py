from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.db.models import QuerySet
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from apps.access import VendorRequest, access_activation, access_key, access_product, vendor_member
from apps.audit.log import Actor
from apps.audit.models import ObjectLogEntry
from apps.commerce import selectors as commerce_selectors
from apps.core.errors import DomainError
from apps.licensing import selectors, services
from apps.licensing.models import Activation, Customer, LicenseKey, Product
from apps.licensing.services.activations import activations_release_for_key
from apps.licensing.services.issuing import NewCustomer, keys_issue
from apps.licensing.services.keys import KEY_EDIT_FIELDS

from ..forms import (
    FEATURE_FIELDS,
    ExtendForm,
    KeyCreateWithTemplateForm,
    KeyEditForm,
    SearchForm,
)
from ..forms.licensing import DevicesDeactivateForm
from .common import add_domain_error, csv_response, paginate

DEVICES_PER_PAGE = 50
STATUS_FILTERS = [("", "All"), ("active", "Active"), ("blocked", "Blocked"),
                  ("expired", "Expired"), ("trial", "Trial activation")]


@vendor_member("read")
def key_list(request: VendorRequest, product_id: int) -> HttpResponse:
    product = access_product(request.membership, product_id)
    search = SearchForm(request.GET)
    query = search.cleaned_data["q"] if search.is_valid() else ""
    status = request.GET.get("status", "")
    keys = selectors.key_list(product=product, query=query, status=status)
    if request.GET.get("format") == "csv":
        return csv_response(
            f"keys-product-{product.pk}.csv",
            ["ID", "Key", "Created", "Expires", "Blocked", "Max machines", "Activations",
             "Customer", "Notes", "Internal note", *[f"F{n}" for n in range(1, 9)]],
            ([k.serial, k.key, k.created.isoformat(), k.expires.isoformat(), k.block,
              k.max_no_of_machines, k.activation_count, str(k.customer or ""), k.notes,
              k.internal_note, *k.features] for k in keys.iterator()),
        )
    return render(request, "vendor_portal/key_list.html", {
        "product": product, "page": paginate(request, keys), "query": query,
        "status": status, "status_filters": STATUS_FILTERS,
        "product_data_objects": selectors.product_data_objects(product=product),
    })


def _customers(request: VendorRequest) -> QuerySet[Customer]:
    return Customer.objects.for_vendor(request.vendor)


@vendor_member("write")
def key_create(request: VendorRequest, product_id: int) -> HttpResponse:
    product = access_product(request.membership, product_id, level="write")
    form = KeyCreateWithTemplateForm(request.POST or None, product=product,
                                     customers=_customers(request),
                                     initial={"max_no_of_machines": product.default_max_machines})
    if request.method == "POST" and form.is_valid():
        try:
            keys = _create_keys(request, product, form.cleaned_data)
        except DomainError as error:
            add_domain_error(form, error)
        else:
            messages.success(request, f"Created {len(keys)} key(s).")
            if len(keys) == 1:
                return redirect("vendor_portal:key_detail", key_id=keys[0].pk)
            return redirect("vendor_portal:key_list", product_id=product.pk)
    return render(request, "vendor_portal/key_create.html", {"form": form, "product": product})


def _create_keys(request: VendorRequest, product: Product, data: dict[str, Any]
                 ) -> list[LicenseKey]:
    new_customer = NewCustomer(
        name=data["new_customer_name"], email=data["new_customer_email"],
        company_name=data["new_customer_company"]) if data["has_new_customer"] else None
    spec = services.KeySpec(
        period=data["period"], features=[data[f] for f in FEATURE_FIELDS],
        notes=data["notes"], internal_note=data["internal_note"], block=data["block"],
        customer=data["customer"],
        max_no_of_machines=data["max_no_of_machines"], trial_activation=data["trial_activation"],
        allowed_machines=data["allowed_machines"],
        automatic_activation=data["automatic_activation"],
    )
    return keys_issue(product=product, actor=Actor.for_user(request.user), spec=spec,
                      count=data["count"], new_customer=new_customer,
                      template_name=data["template_name"] if data["save_as_template"] else "",
                      template_notes=data["template_notes"]).keys


@vendor_member("read")
def key_detail(request: VendorRequest, key_id: int) -> HttpResponse:
    """The key, and its devices a page at a time, searched by friendly name, machine code
    or IP address (`format=csv`: every device that matches)."""
    key = access_key(request.membership, key_id)
    search = SearchForm(request.GET)
    query = search.cleaned_data["q"].strip() if search.is_valid() else ""
    devices = selectors.key_devices(key=key, query=query)
    if request.GET.get("format") == "csv":
        return _devices_csv(key, devices)
    page = paginate(request, devices, DEVICES_PER_PAGE)
    page.object_list = selectors.attach_machine_data_objects(key=key, devices=page.object_list)
    return render(request, "vendor_portal/key_detail.html", {
        "key": key, "product": key.product, "extend_form": ExtendForm(), "query": query,
        "page": page, **selectors.key_detail(key=key),
        "subscription": commerce_selectors.key_subscription(key=key),
    })


def _devices_csv(key: LicenseKey, devices: QuerySet[Activation]) -> HttpResponse:
    return csv_response(
        f"devices-key-{key.pk}.csv",
        ["Machine code", "Friendly name", "IP", "Activated", "Floating", "Floating until"],
        ([a.machine_code, a.friendly_name, a.ip or "", a.time.isoformat(), a.floating,
          a.floating_expires.isoformat() if a.floating_expires else ""]
         for a in devices.iterator()),
    )


@vendor_member("write")
def key_edit(request: VendorRequest, key_id: int) -> HttpResponse:
    key = access_key(request.membership, key_id, level="write")
    initial = {name: getattr(key, name) for name in KEY_EDIT_FIELDS}
    initial["customer"] = key.customer
    form = KeyEditForm(request.POST or None, product=key.product, customers=_customers(request),
                       initial=initial)
    if request.method == "POST" and form.is_valid():
        fields = {name: form.cleaned_data[name] for name in form.fields}
        try:
            services.key_update(key=key, actor=Actor.for_user(request.user), **fields)
        except DomainError as error:
            add_domain_error(form, error)
        else:
            messages.success(request, "Key saved.")
            return redirect("vendor_portal:key_detail", key_id=key.pk)
    return render(request, "vendor_portal/key_edit.html", {"form": form, "key": key,
                                                           "product": key.product})


@require_POST
@vendor_member("write")
def key_block(request: VendorRequest, key_id: int) -> HttpResponse:
    key = access_key(request.membership, key_id, level="write")
    blocked = request.POST.get("block") == "1"
    services.key_set_blocked(key=key, actor=Actor.for_user(request.user), blocked=blocked)
    messages.success(request, "Key blocked." if blocked else "Key unblocked.")
    return redirect("vendor_portal:key_detail", key_id=key.pk)


@vendor_member("write")
def key_extend(request: VendorRequest, key_id: int) -> HttpResponse:
    key = access_key(request.membership, key_id, level="write")
    form = ExtendForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.key_extend(key=key, actor=Actor.for_user(request.user),
                                days=form.cleaned_data["days"])
        except DomainError as error:
            add_domain_error(form, error)
        else:
            messages.success(request, f"Key now expires on {key.expires:%Y-%m-%d}.")
            return redirect("vendor_portal:key_detail", key_id=key.pk)
    return render(request, "vendor_portal/key_extend.html", {"form": form, "key": key,
                                                             "product": key.product})


@require_POST
@vendor_member("write")
def activation_deactivate(request: VendorRequest, key_id: int, activation_id: int) -> HttpResponse:
    key = access_key(request.membership, key_id, level="write")
    activation = access_activation(request.membership, key, activation_id, level="write")
    services.activation_release(activation=activation, actor=Actor.for_user(request.user))
    messages.success(request, f"Device {activation.friendly_name or activation.machine_code} "
                              "deactivated; its seat is free.")
    return redirect("vendor_portal:key_detail", key_id=key.pk)


def _devices_url(key: LicenseKey, data: dict[str, Any]) -> str:
    """The key's page at the device list's search and page a deactivation came from."""
    params = {name: data[name] for name in ("q", "page") if data.get(name)}
    url = reverse("vendor_portal:key_detail", args=[key.pk])
    return f"{url}?{urlencode(params)}#devices-section" if params else f"{url}#devices-section"


@require_POST
@vendor_member("write")
def key_devices_deactivate(request: VendorRequest, key_id: int) -> HttpResponse:
    key = access_key(request.membership, key_id, level="write")
    form = DevicesDeactivateForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(str(e) for errors in form.errors.values()
                                        for e in errors))
        return redirect(_devices_url(key, {"q": request.POST.get("q", "")[:200]}))
    data = form.cleaned_data
    if not data["activation"]:
        messages.warning(request, "Select the devices to deactivate.")
        return redirect(_devices_url(key, data))
    count = activations_release_for_key(key=key, activation_ids=data["activation"],
                                        actor=Actor.for_user(request.user))
    if count:
        messages.success(request, f"{count} device{'' if count == 1 else 's'} deactivated; "
                                  f"{'its seat is' if count == 1 else 'their seats are'} free.")
    else:
        messages.warning(request, "None of the selected devices is activated any more.")
    return redirect(_devices_url(key, data))


@vendor_member("read")
def key_log(request: VendorRequest, key_id: int) -> HttpResponse:
    key = access_key(request.membership, key_id)
    entries = ObjectLogEntry.objects.for_vendor(request.vendor).for_object(key)
    return render(request, "vendor_portal/key_log.html", {
        "key": key, "product": key.product, "page": paginate(request, entries, 50),
    })
