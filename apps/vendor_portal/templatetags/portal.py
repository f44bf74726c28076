from django import forms, template

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


@register.simple_tag(takes_context=True)
def vendor_nav(context: template.Context) -> NavPlace:
    """The current page's place in the vendor navigation: `{% vendor_nav as nav %}`."""
    return nav_place(context.get("request"), NAV_SECTIONS, MENUS)
