from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from apps.access import (
    SESSION_VENDOR_KEY,
    VendorRequest,
    choose_vendor,
    memberships_of,
    vendor_member,
)
from apps.core.errors import DomainError
from apps.licensing import selectors
from apps.licensing.services.vendors import vendor_create

from ..forms import OrganisationForm
from .common import add_domain_error


@vendor_member("read")
def dashboard(request: VendorRequest) -> HttpResponse:
    return render(request, "vendor_portal/dashboard.html", {
        "counts": selectors.dashboard_counts(vendor=request.vendor),
        "products": selectors.product_list(vendor=request.vendor),
        "recent_keys": selectors.recent_keys(vendor=request.vendor),
        "recent_log": selectors.object_log(vendor=request.vendor)[:10],
        "memberships": memberships_of(request.user),
    })


@require_POST
@vendor_member("read")
def switch_vendor(request: VendorRequest, vendor_id: int) -> HttpResponse:
    choose_vendor(request, vendor_id)
    return redirect("vendor_portal:dashboard")


def organisation_create(request: HttpRequest) -> HttpResponse:
    """For a logged-in person who belongs to no vendor yet: create one and become its owner."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    form = OrganisationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            vendor = vendor_create(owner=request.user, name=form.cleaned_data["organisation"])
        except DomainError as error:
            add_domain_error(form, error)
        else:
            request.session[SESSION_VENDOR_KEY] = vendor.pk
            messages.success(request, f"Organisation “{vendor.name}” created.")
            return redirect("vendor_portal:dashboard")
    return render(request, "vendor_portal/organisation_create.html", {"form": form})
