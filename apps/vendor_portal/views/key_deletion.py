"""Deleting a license key: a confirmation page that says what goes and what stays, then POST."""

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render

from apps.access import VendorRequest, access_key, vendor_member
from apps.audit.log import Actor
from apps.core.errors import DomainError
from apps.licensing.services.deletion import key_delete as delete_key
from apps.licensing.services.deletion import key_deletion_plan


@vendor_member("write")
def key_delete(request: VendorRequest, key_id: int) -> HttpResponse:
    key = access_key(request.membership, key_id, level="write")
    if request.method == "POST":
        try:
            done = delete_key(key=key, actor=Actor.for_user(request.user))
        except DomainError as error:
            messages.error(request, error.message)
            return redirect("vendor_portal:key_delete", key_id=key.pk)
        else:
            gone = ", ".join(str(c) for c in done.removed)
            messages.success(request, f"Key {key.key} deleted{f' with {gone}' if gone else ''}.")
            return redirect("vendor_portal:key_list", product_id=key.product_id)
    return render(request, "vendor_portal/key_delete.html", {
        "key": key, "product": key.product, "plan": key_deletion_plan(key=key)})
