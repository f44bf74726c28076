"""The renewal link of an expiry notice: the public page of an active payment form that sells
a template of the key's product. Passed down to apps.licensing.services.expiry, which may not
know about payment forms (a lower layer)."""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse

from apps.licensing.models import LicenseKey

from .models import PaymentForm


def renewal_url_for(key: LicenseKey) -> str:
    """The absolute URL of the newest active payment form for the key's product; "" if none."""
    form = (PaymentForm.objects.filter(template__product_id=key.product_id, active=True)
            .order_by("-created", "-id").first())
    if form is None:
        return ""
    path = reverse("storefront:payment_form", args=[form.public_id])
    return settings.PORTAL_BASE_URL.rstrip("/") + path
