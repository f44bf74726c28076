from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from apps.access import VendorRequest, access_data_object, access_key, vendor_member
from apps.audit.log import Actor
from apps.core.errors import DomainError
from apps.licensing import services

from ..forms import DataObjectForm
from .common import add_domain_error


@vendor_member("write")
def data_object_add(request: VendorRequest, key_id: int) -> HttpResponse:
    key = access_key(request.membership, key_id, level="write")
    form = DataObjectForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.data_object_add(key=key, actor=Actor.for_user(request.user),
                                     **form.cleaned_data)
        except DomainError as error:
            add_domain_error(form, error)
        else:
            messages.success(request, "Data object added.")
            return redirect("vendor_portal:key_detail", key_id=key.pk)
    return render(request, "vendor_portal/data_object_form.html",
                  {"form": form, "key": key, "product": key.product})


@vendor_member("write")
def data_object_edit(request: VendorRequest, key_id: int, data_object_id: int) -> HttpResponse:
    key = access_key(request.membership, key_id, level="write")
    data_object = access_data_object(request.membership, key, data_object_id, level="write")
    form = DataObjectForm(request.POST or None, initial={
        "name": data_object.name, "string_value": data_object.string_value,
        "int_value": data_object.int_value,
    })
    if request.method == "POST" and form.is_valid():
        try:
            services.data_object_update(data_object=data_object,
                                        actor=Actor.for_user(request.user), **form.cleaned_data)
        except DomainError as error:
            add_domain_error(form, error)
        else:
            messages.success(request, "Data object saved.")
            return redirect("vendor_portal:key_detail", key_id=key.pk)
    return render(request, "vendor_portal/data_object_form.html",
                  {"form": form, "key": key, "product": key.product, "data_object": data_object})


@require_POST
@vendor_member("write")
def data_object_delete(request: VendorRequest, key_id: int, data_object_id: int) -> HttpResponse:
    key = access_key(request.membership, key_id, level="write")
    data_object = access_data_object(request.membership, key, data_object_id, level="write")
    services.data_object_remove(data_object=data_object, actor=Actor.for_user(request.user))
    messages.success(request, f"Data object “{data_object.name}” removed.")
    return redirect("vendor_portal:key_detail", key_id=key.pk)
