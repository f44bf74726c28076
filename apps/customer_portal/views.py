"""The customer portal: a customer's licenses and devices, for the people of that customer.

Every view declares its rule with `@customer_member(...)` and reaches the customer's objects
only through `apps.access`; `join` is public, its token being the credential."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from apps.access import (
    CustomerRequest,
    access_customer_activation_ids,
    access_customer_app_user,
    access_customer_device,
    access_customer_key,
    choose_customer,
    customer_member,
)
from apps.audit.log import Actor
from apps.commerce.gateway import redirect_origins
from apps.commerce.services import billing_portal_url, customer_has_subscription
from apps.core.charts import csv_for
from apps.core.errors import DomainError
from apps.core.pagination import paginate
from apps.core.security_headers import allow_form_action
from apps.licensing import selectors
from apps.licensing.license_files import FORMATS, license_file
from apps.licensing.models import Activation
from apps.licensing.services import app_user_remove as remove_app_user
from apps.licensing.services import portal
from apps.licensing.services.activations import activations_release_for_customer
from apps.reports import charts
from apps.reports.floating import floating_usage

from .forms import DeactivateForm, FloatingUsageForm, SearchForm

PAGE_SIZE = 100


@customer_member("read")
def license_list(request: CustomerRequest) -> HttpResponse:
    customer = request.customer
    page = paginate(request, selectors.customer_key_list(customer=customer), PAGE_SIZE)
    # The customer-wide cap counts node-locked devices on all keys, as Activate does.
    devices_used = Activation.objects.filter(key__customer=customer, floating=False).count() \
        if customer.max_no_of_devices else None
    has_billing = customer_has_subscription(customer)
    response = render(request, "customer_portal/license_list.html", {
        "page": page, "devices_used": devices_used, "has_billing": has_billing})
    # The billing button's answer redirects to Stripe's billing portal.
    return allow_form_action(response, redirect_origins()) if has_billing else response


@require_POST
@customer_member("read")
def billing_portal(request: CustomerRequest) -> HttpResponse:
    """On to Stripe's customer billing portal for the customer's subscriptions (invoices,
    payment method, cancelling), back to the licenses afterwards."""
    back = request.build_absolute_uri(reverse("customer_portal:license_list"))
    try:
        url = billing_portal_url(customer=request.customer, return_url=back)
    except DomainError as error:
        messages.error(request, error.message)
        return redirect("customer_portal:license_list")
    if url is None:
        messages.error(request, "You have no subscription to manage.")
        return redirect("customer_portal:license_list")
    return redirect(url)


@customer_member("read")
def license_detail(request: CustomerRequest, key_id: int) -> HttpResponse:
    key = access_customer_key(request.customer_membership, key_id)
    return render(request, "customer_portal/license_detail.html", {
        "key": key, "devices": list(key.activations.order_by("floating", "time", "id")),
        "seats_used": key.activations.filter(floating=False).count()})


@customer_member("read")
def device_license_file(request: CustomerRequest, key_id: int, activation_id: int
                        ) -> HttpResponse:
    """The signed license file (.skm) of one of the customer's devices, for computers that
    work offline. Any portal user may fetch it: the device already holds its seat, so the
    file spends nothing and changes nothing (a GET). A blocked key gets no file, as Activate
    refuses it."""
    key = access_customer_key(request.customer_membership, key_id)
    device = access_customer_device(request.customer_membership, key, activation_id)
    file_format = request.GET.get("format", "")
    if file_format in dict(FORMATS) and not key.block:
        made = license_file(key=key, current=device, file_format=file_format)
        response = HttpResponse(made.content, content_type=made.content_type)
        response["Content-Disposition"] = f'attachment; filename="{made.filename}"'
        return response
    return render(request, "customer_portal/license_file.html",
                  {"key": key, "device": device, "formats": FORMATS})


@customer_member("read")
def device_list(request: CustomerRequest) -> HttpResponse:
    search = SearchForm(request.GET)
    query = search.cleaned_data["q"].strip() if search.is_valid() else ""
    page = paginate(request, selectors.customer_device_search(
        customer=request.customer, query=query), PAGE_SIZE)
    return render(request, "customer_portal/device_list.html", {"page": page, "query": query})


@customer_member("read")
def floating_usage_view(request: CustomerRequest) -> HttpResponse:
    """Concurrent floating seats of the customer's own keys: the vendor's report, narrowed."""
    floating = selectors.customer_report_keys(customer=request.customer)
    form = FloatingUsageForm(request.GET, keys=[(k.pk, f"{k.product.name} · {k.key}")
                                                      for k in floating])
    context = {"form": form}
    if not form.is_valid():
        return render(request, "customer_portal/floating_usage.html", context)
    data = form.cleaned_data
    chosen = [k for k in floating if data["key"] in (None, k.pk)]
    usage = floating_usage(vendor=request.customer.vendor, start=data["start"], end=data["end"],
                           keys=[(k.product_id, k.key) for k in chosen],
                           resolution=data["resolution"])
    chart = charts.floating_chart(usage, limit=chosen[0].max_no_of_machines
                                  if len(chosen) == 1 else None)
    return csv_for(request, [chart]) or render(request, "customer_portal/floating_usage.html", {
        **context, "chart": chart, "usage": usage,
        "at_limit": charts.duration(usage.seconds_at_or_over_limit),
        "key_rows": [(k, charts.duration(k.seconds_at_or_over_limit)) for k in usage.keys]})


def _back(data: dict) -> str:
    """Where a deactivation returns to: the license page it came from, or the search."""
    if data.get("key"):
        return reverse("customer_portal:license_detail", args=[data["key"]])
    params = {name: data[name] for name in ("q", "page") if data.get(name)}
    url = reverse("customer_portal:device_list")
    return f"{url}?{urlencode(params)}" if params else url


@require_POST
@customer_member("deactivate")
def device_deactivate(request: CustomerRequest) -> HttpResponse:
    form = DeactivateForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(str(e) for errors in form.errors.values()
                                        for e in errors))
        return redirect(_back({"q": request.POST.get("q", "")[:200]}))
    if not form.cleaned_data["activation"]:
        messages.warning(request, "Select the devices to deactivate.")
        return redirect(_back(form.cleaned_data))
    ids = access_customer_activation_ids(request.customer_membership,
                                         form.cleaned_data["activation"])
    count = activations_release_for_customer(customer=request.customer, activation_ids=ids,
                                             actor=Actor.for_user(request.user))
    if not count:
        messages.warning(request, "None of the selected devices is activated any more.")
        return redirect(_back(form.cleaned_data))
    messages.success(request, f"{count} device{'' if count == 1 else 's'} deactivated; "
                              f"{'its seat is' if count == 1 else 'their seats are'} free.")
    return redirect(_back(form.cleaned_data))


@require_POST
@customer_member("read")
def switch_customer(request: CustomerRequest, membership_id: int) -> HttpResponse:
    membership = choose_customer(request, membership_id)
    messages.success(request, f"You are now working for {membership.customer} "
                              f"({membership.customer.vendor.name}).")
    return redirect("customer_portal:license_list")


def join(request: HttpRequest, token: str) -> HttpResponse:
    """Public: the token in the path is the credential. Anonymous visitors sign up or log
    in first; the token waits in the session, so signing up joins the portal at once."""
    link = portal.portal_link_for_token(token)
    if link is None:
        return render(request, "customer_portal/join_invalid.html", status=404)
    if not request.user.is_authenticated:
        request.session[portal.SESSION_PORTAL_TOKEN] = token
    elif request.method == "POST":
        try:
            membership = portal.portal_join(link=link, user=request.user)
        except DomainError as error:
            messages.error(request, error.message)
        else:
            request.session.pop(portal.SESSION_PORTAL_TOKEN, None)
            choose_customer(request, membership.pk)
            messages.success(request, f"Welcome to {link.vendor.name}'s customer portal.")
            return redirect("customer_portal:license_list")
    here = request.get_full_path()
    return render(request, "customer_portal/join.html", {
        "link": link, "grants_deactivation": portal.link_grants_deactivation(link),
        "signup_url": f"{reverse('account_signup')}?"
                      f"{urlencode({'next': reverse('customer_portal:license_list')})}",
        "login_url": f"{reverse('account_login')}?{urlencode({'next': here})}",
    })


# --- Users of the vendor's application (userauth) associated with the customer ---------------

@customer_member("read")
def app_user_list(request: CustomerRequest) -> HttpResponse:
    return render(request, "customer_portal/app_user_list.html", {
        "app_users": request.customer.app_users.order_by("username", "id")})


@require_POST
@customer_member("deactivate")
def app_user_remove(request: CustomerRequest, app_user_id: int) -> HttpResponse:
    user = access_customer_app_user(request.customer_membership, app_user_id)
    remove_app_user(user=user, actor=Actor.for_user(request.user))
    messages.success(request, f"User “{user.username}” removed; it can no longer log in.")
    return redirect("customer_portal:app_user_list")
