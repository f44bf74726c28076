from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from apps.accounts.access import vendor_member
from apps.core.csvexport import csv_response
from apps.licensing import selectors
from apps.licensing.models import ObjectLogEntry, SigningKey
from apps.licensing.selectors import OBJECT_LOG_COLUMNS, object_log_rows
from apps.licensing.signing import public_key_xml

from ..forms.reports import ObjectLogFilterForm
from .common import paginate

LOG_OBJECT_TYPES = [
    ("", "Everything"), ("licensing.licensekey", "Keys"), ("licensing.product", "Products"),
    ("licensing.customer", "Customers"), ("licensing.accesstoken", "Access tokens"),
    ("accounts.membership", "Members"), ("accounts.invitation", "Invitations"),
    ("licensing.licensetemplate", "License templates"), ("accounts.reseller", "Resellers"),
    ("licensing.issuanceright", "Issuance rights"), ("accounts.portallink", "Portal links"),
    ("licensing.activationform", "Activation forms"),
]


@vendor_member("read")
def security(request: HttpRequest) -> HttpResponse:
    signing_key = SigningKey.objects.filter(vendor=request.vendor).first()
    return render(request, "vendor_portal/security.html", {
        "signing_key": signing_key,
        "public_key_xml": public_key_xml(signing_key.public_key_pem) if signing_key else "",
    })


@vendor_member("read")
def object_log(request: HttpRequest) -> HttpResponse:
    form = ObjectLogFilterForm(request.GET, object_types=LOG_OBJECT_TYPES,
                               actors=selectors.object_log_actors(vendor=request.vendor))
    valid = form.is_valid()
    entries = (selectors.object_log(vendor=request.vendor, **form.filters()) if valid
               else ObjectLogEntry.objects.none())
    if valid and request.GET.get("export") == "csv":
        return csv_response("object-log.csv", OBJECT_LOG_COLUMNS, object_log_rows(entries))
    query = request.GET.copy()
    query.pop("page", None)
    query.pop("export", None)
    return render(request, "vendor_portal/object_log.html", {
        "page": paginate(request, entries, 50), "form": form, "query": query.urlencode(),
    })
