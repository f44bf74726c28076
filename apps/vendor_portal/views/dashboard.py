from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from apps.accounts.access import choose_vendor, memberships_of, vendor_member
from apps.licensing import selectors


@vendor_member("read")
def dashboard(request: HttpRequest) -> HttpResponse:
    return render(request, "vendor_portal/dashboard.html", {
        "counts": selectors.dashboard_counts(vendor=request.vendor),
        "products": selectors.product_list(vendor=request.vendor),
        "recent_keys": selectors.recent_keys(vendor=request.vendor),
        "recent_log": selectors.object_log(vendor=request.vendor)[:10],
        "memberships": memberships_of(request.user),
    })


@require_POST
@vendor_member("read")
def switch_vendor(request: HttpRequest, vendor_id: int) -> HttpResponse:
    choose_vendor(request, vendor_id)
    return redirect("vendor_portal:dashboard")
