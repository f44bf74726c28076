from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from apps.access import VendorRequest, access_signing_key, vendor_member
from apps.audit.log import Actor
from apps.audit.models import ObjectLogEntry
from apps.core.csvexport import csv_response
from apps.core.errors import DomainError
from apps.licensing import selectors, services
from apps.licensing.models import SigningKey
from apps.licensing.selectors import OBJECT_LOG_COLUMNS, object_log_rows
from apps.licensing.signing import fingerprint, public_key_xml

from ..forms.reports import ObjectLogFilterForm
from .common import paginate

LOG_OBJECT_TYPES = [
    ("", "Everything"), ("licensing.licensekey", "Keys"), ("licensing.product", "Products"),
    ("licensing.customer", "Customers"), ("licensing.accesstoken", "Access tokens"),
    ("accounts.membership", "Members"), ("accounts.invitation", "Invitations"),
    ("licensing.licensetemplate", "License templates"), ("accounts.reseller", "Resellers"),
    ("licensing.issuanceright", "Issuance rights"), ("licensing.portallink", "Portal links"),
    ("licensing.activationform", "Activation forms"), ("licensing.signingkey", "Signing keys"),
]


@vendor_member("read")
def security(request: VendorRequest) -> HttpResponse:
    keys = list(SigningKey.objects.for_vendor(request.vendor).listed().order_by("-created"))
    signing_key = next((key for key in keys if key.is_active), None)
    return render(request, "vendor_portal/security.html", {
        "signing_key": signing_key,
        "public_key_xml": public_key_xml(signing_key.public_key_pem) if signing_key else "",
        "previous_keys": [(key, fingerprint(key.public_key_pem), public_key_xml(key.public_key_pem))
                          for key in keys if not key.is_active],
        "fingerprint": fingerprint(signing_key.public_key_pem) if signing_key else "",
    })


@require_POST
@vendor_member("owner")
def signing_key_rotate(request: VendorRequest) -> HttpResponse:
    services.signing_key_rotate(vendor=request.vendor, actor=Actor.for_user(request.user))
    messages.success(request, "New signing key added: it signs every license from now on. "
                              "Put its public key in your software.")
    return redirect("vendor_portal:security")


@require_POST
@vendor_member("owner")
def signing_key_retire(request: VendorRequest, signing_key_id: int) -> HttpResponse:
    key = access_signing_key(request.membership, signing_key_id)
    try:
        services.signing_key_retire(key=key, actor=Actor.for_user(request.user))
        messages.success(request, "The key is retired.")
    except DomainError as error:
        messages.error(request, error.message)
    return redirect("vendor_portal:security")


@vendor_member("read")
def object_log(request: VendorRequest) -> HttpResponse:
    form = ObjectLogFilterForm(request.GET, object_types=LOG_OBJECT_TYPES,
                               actors=selectors.object_log_actors(vendor=request.vendor))
    valid = form.is_valid()
    entries = (selectors.object_log(vendor=request.vendor, **form.filters()) if valid
               else ObjectLogEntry.objects.none())
    if valid and request.GET.get("export") == "csv":
        return csv_response("object-log.csv", OBJECT_LOG_COLUMNS, object_log_rows(entries))
    return render(request, "vendor_portal/object_log.html", {
        "page": paginate(request, entries, 50), "form": form})
