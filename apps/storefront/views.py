"""Public pages of payments: a payment form (no login; no JavaScript but Stripe's own page),
the buyer's order page, and the vendor's Stripe webhook address."""

from __future__ import annotations

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from apps.commerce.gateway import redirect_origins
from apps.commerce.models import PaymentForm
from apps.commerce.money import format_money
from apps.commerce.services import (
    Buyer,
    checkout_start,
    form_session_for,
    order_for_token,
    webhook_receive,
)
from apps.core import ratelimit
from apps.core.errors import DomainError
from apps.core.net import client_ip
from apps.core.ratelimit import Limit
from apps.core.security_headers import allow_form_action

from .forms import BuyForm

# Stripe signs each delivery; the body is at most a few tens of kB.
MAX_WEBHOOK_BYTES = 1_000_000


@never_cache
@require_http_methods(["GET", "POST"])
def payment_form(request: HttpRequest, public_id: str) -> HttpResponse:
    page = (PaymentForm.objects.select_related("vendor", "template__product")
            .filter(public_id=public_id, active=True).first())
    if page is None:
        raise Http404
    session_id = request.GET.get("sessionId", "")[:64]
    one_time = form_session_for(page, session_id)
    if session_id and one_time is None:
        return render(request, "storefront/link_used.html", {"page": page,
                      "vendor": page.vendor}, status=410)
    form = BuyForm(request.POST or None, page=page, one_time=one_time is not None)
    if request.method == "POST" and form.is_valid():
        retry_after = _retry_after(request)
        if retry_after:
            form.add_error(None, "Too many orders from your address. Please try again in a "
                                 f"few minutes ({-(-retry_after // 60)} min).")
        else:
            data = form.cleaned_data
            order_url = request.build_absolute_uri(
                reverse("storefront:order", args=["TOKEN"])).replace("TOKEN", "{token}")
            back = request.build_absolute_uri(request.get_full_path())
            try:
                _, url = checkout_start(
                    form=page, option=data.get("option"), form_session=one_time,
                    buyer=Buyer(email=data["email"], name=data.get("name", ""),
                                company=data.get("company", ""),
                                vat_id=data.get("vat_id", "")),
                    return_url=order_url, cancel_url=back)
            except DomainError as error:
                form.add_error(error.field if error.field in form.fields else None,
                               error.message)
            else:
                return redirect(url)
    response = render(request, "storefront/payment_form.html", {
        "page": page, "vendor": page.vendor, "form": form, "one_time": one_time,
        "one_time_price": format_money(one_time.amount, one_time.currency) if one_time else "",
        "taking_orders": hasattr(page.vendor, "stripe_account")})
    return allow_form_action(response, redirect_origins())


def _retry_after(request: HttpRequest) -> int:
    limit, window = settings.PAYMENT_FORM_RATE_LIMIT_PER_IP
    ip = client_ip(request)
    return ratelimit.hit([Limit(f"pay-ip:{ip}", limit, window)]) if ip else 0


@never_cache
def order_status(request: HttpRequest, token: str) -> HttpResponse:
    """The buyer's page after Stripe: the key once the payment is confirmed (by Stripe's
    webhook), never before; until then it says so and reloads itself."""
    order = order_for_token(token)
    if order is None:
        raise Http404
    paid = order.key is not None and order.status != order.PENDING
    response = render(request, "storefront/order.html", {
        "order": order, "vendor": order.vendor, "paid": paid,
        "price": format_money(order.amount, order.currency),
        "continue_url": order.form.success_url if order.form else ""})
    response["Referrer-Policy"] = "no-referrer"  # the address is the buyer's secret
    return response


@csrf_exempt
@require_POST
def stripe_webhook(request: HttpRequest, webhook_path: str) -> HttpResponse:
    if len(request.body) > MAX_WEBHOOK_BYTES:
        return HttpResponse("Too large.", status=413, content_type="text/plain")
    result = webhook_receive(webhook_path=webhook_path[:64], payload=request.body,
                             signature=request.headers.get("Stripe-Signature", ""))
    return HttpResponse(result.message, status=result.status, content_type="text/plain")
