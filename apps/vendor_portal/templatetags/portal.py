from django import forms, template
from django.apps import apps
from django.utils.text import capfirst

from apps.commerce.money import format_money
from apps.core.navigation import NavPlace, nav_place
from apps.vendor_portal.navigation import MENUS, NAV_SECTIONS

register = template.Library()


@register.filter
def pick(form: forms.Form, names: str) -> list[forms.BoundField]:
    """The form's bound fields named in a comma-separated list, in that order."""
    return [form[name.strip()] for name in names.split(",") if name.strip()]


@register.filter
def get_item(mapping: dict, key: str):
    return mapping.get(key)


@register.filter
def object_kind(object_type: str | None) -> str:
    """An object-log entry's kind in words ("License key" for "licensing.licensekey"): the
    model's own verbose name; a kind no model has any more stays as it was stored."""
    if not object_type:  # e.g. a filter link that names an object but no kind
        return "object"
    app_label, _, model_name = str(object_type).partition(".")
    try:
        model = apps.get_model(app_label, model_name)
    except (LookupError, ValueError):
        return object_type
    return str(capfirst(model._meta.verbose_name))


@register.filter
def money(amount: int | None, currency: str = "") -> str:
    """An amount kept in the currency's smallest unit, as people read it: "49.00 USD",
    "1,200 JPY"."""
    if amount is None:
        return "—"
    return format_money(amount, currency)


@register.simple_tag(takes_context=True)
def vendor_nav(context: template.Context) -> NavPlace:
    """The current page's place in the vendor navigation: `{% vendor_nav as nav %}`."""
    return nav_place(context.get("request"), NAV_SECTIONS, MENUS)
