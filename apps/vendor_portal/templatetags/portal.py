from django import forms, template

register = template.Library()


@register.filter
def pick(form: forms.Form, names: str) -> list[forms.BoundField]:
    """The form's bound fields named in a comma-separated list, in that order."""
    return [form[name.strip()] for name in names.split(",") if name.strip()]


@register.filter
def get_item(mapping: dict, key: str):
    return mapping.get(key)
