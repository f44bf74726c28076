"""Permission-matrix rows for selling through Stripe: the Stripe settings, payment forms,
subscription prices, orders and subscriptions, and a key's metered usage."""

from __future__ import annotations

from apps.audit.log import Actor
from apps.commerce.models import PaymentForm, PriceMapping
from apps.commerce.price_mappings import price_mapping_save
from apps.commerce.services import OptionSpec, payment_form_create
from apps.licensing.models import LicenseTemplate
from tests.matrix import LOGIN

from .vendor_matrix import (
    NOT_ALLOWED,
    READ_OBJECT,
    WRITE_OBJECT_PAGE,
    WRITE_OBJECT_POST,
    WRITE_PAGE,
    Row,
    World,
)

# Another vendor's owner posts the tenant's template id: a form error (200) on his own page,
# nothing saved.
OWN_TEMPLATE_POST = (LOGIN, 302, 302, 403, 200)
SAVED_BY_TENANT_ONLY = (False, True, True, False, False)


def _template(w: World) -> LicenseTemplate:
    return LicenseTemplate.objects.get_or_create(product=w.tenant.product,
                                                 name="Matrix template")[0]


def _payment_form(w: World) -> dict:
    """A payment form of the tenant (made once, outside the rolled-back requests)."""
    form = PaymentForm.objects.filter(vendor=w.tenant.vendor).first() or payment_form_create(
        vendor=w.tenant.vendor, actor=Actor.for_system("matrix"), template=_template(w),
        title="Matrix form", currency="eur", options=[OptionSpec("1 seat", 4900)])
    return {"form_id": form.pk}


def _mapping(w: World) -> dict:
    mapping = PriceMapping.objects.filter(vendor=w.tenant.vendor).first() or price_mapping_save(
        vendor=w.tenant.vendor, actor=Actor.for_system("matrix"), price_id="price_matrix1",
        template=_template(w))
    return {"mapping_id": mapping.pk}


def _form_data(w: World) -> dict:
    return {"title": "Pro licence", "template": _template(w).pk, "currency": "usd",
            "active": "on", "prices-TOTAL_FORMS": 1, "prices-INITIAL_FORMS": 0,
            "prices-0-label": "1 seat", "prices-0-price": "49.00", "prices-0-seats": ""}


ROWS: dict[str, Row] = {
    "stripe_settings": Row(),
    # Owners only, like signing keys; another vendor's owner sets up his own account.
    "stripe_settings_save": Row(get=NOT_ALLOWED, post=(LOGIN, 302, 403, 403, 302),
                                data=lambda w: {"secret_key": "sk_test_matrix12345",
                                                "grace_days": 3, "on_refund": "block",
                                                "on_payment_failed": "expire"}),
    "payment_form_list": Row(),
    "payment_form_create": Row(get=WRITE_PAGE, post=OWN_TEMPLATE_POST, data=_form_data,
                               writes=SAVED_BY_TENANT_ONLY),
    "payment_form_edit": Row(kwargs=_payment_form, get=WRITE_OBJECT_PAGE,
                             post=WRITE_OBJECT_POST, data=_form_data),
    "price_mapping_list": Row(),
    "price_mapping_create": Row(get=NOT_ALLOWED, post=OWN_TEMPLATE_POST,
                                writes=SAVED_BY_TENANT_ONLY,
                                data=lambda w: {"price_id": "price_matrix2",
                                                "template": _template(w).pk}),
    # Another vendor's id is answered like a removed one: back to his own list, nothing
    # removed.
    "price_mapping_remove": Row(kwargs=_mapping, get=NOT_ALLOWED,
                                post=(LOGIN, 302, 302, 403, 302), writes=SAVED_BY_TENANT_ONLY),
    "order_list": Row(),
    "subscription_list": Row(),
    "key_usage": Row(kwargs=lambda w: {"key_id": w.tenant.key.pk}, get=READ_OBJECT),
}
