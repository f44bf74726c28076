from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from apps.accounts.access import vendor_member
from apps.licensing import selectors
from apps.licensing.models import SigningKey
from apps.licensing.signing import public_key_xml

from ..forms import SearchForm
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
    search = SearchForm(request.GET)
    query = search.cleaned_data["q"] if search.is_valid() else ""
    object_type = request.GET.get("type", "")
    entries = selectors.object_log(vendor=request.vendor, object_type=object_type, query=query)
    return render(request, "vendor_portal/object_log.html", {
        "page": paginate(request, entries, 50), "query": query, "object_type": object_type,
        "object_types": LOG_OBJECT_TYPES,
    })
