"""Users of the vendor's application (Web API userauth): the vendor-wide list, where users of
no customer show too, and the remove / reset-password actions it shares with the customer
page's "Application users" section."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from apps.access import VendorRequest, access_app_user, vendor_member
from apps.audit.log import Actor
from apps.licensing import selectors, services

from ..forms import SearchForm
from .common import paginate


@vendor_member("read")
def app_user_list(request: VendorRequest) -> HttpResponse:
    search = SearchForm(request.GET)
    query = search.cleaned_data["q"] if search.is_valid() else ""
    without_customer = request.GET.get("without_customer") == "1"
    users = selectors.app_user_list(vendor=request.vendor, query=query,
                                    without_customer=without_customer)
    return render(request, "vendor_portal/app_user_list.html", {
        "page": paginate(request, users), "query": query,
        "without_customer": without_customer})


@require_POST
@vendor_member("write")
def app_user_remove(request: VendorRequest, app_user_id: int) -> HttpResponse:
    user = access_app_user(request.membership, app_user_id)
    services.app_user_remove(user=user, actor=Actor.for_user(request.user))
    messages.success(request, f"User “{user.username}” removed; it can no longer log in.")
    # Back where the button was: the list (back=list), else the customer's users section.
    if request.POST.get("back") != "list" and user.customer_id:
        return redirect(reverse("vendor_portal:customer_detail", args=[user.customer_id])
                        + "#app-users")
    return redirect("vendor_portal:app_user_list")


@require_POST
@vendor_member("write")
def app_user_reset_password(request: VendorRequest, app_user_id: int) -> HttpResponse:
    """Make a password reset token and show it once, for the vendor to pass on: the user sets
    a new password with it (ChangePassword) within a day; it works once."""
    user = access_app_user(request.membership, app_user_id)
    token = services.app_user_reset_token_create(user=user, actor=Actor.for_user(request.user))
    response = render(request, "vendor_portal/app_user_reset_token.html",
                      {"app_user": user, "token": token,
                       "from_list": request.POST.get("back") == "list"})
    response["Cache-Control"] = "no-store"
    return response
