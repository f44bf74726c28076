"""Small helpers shared by the vendor portal's views."""

from __future__ import annotations

from django import forms

from apps.core.csvexport import csv_response  # noqa: F401  (used by the views)
from apps.core.errors import DomainError
from apps.core.pagination import paginate  # noqa: F401  (used by the views)


def add_domain_error(form: forms.Form, error: DomainError) -> None:
    """Show a service's refusal on the form, on its field when the form has that field."""
    field = error.field if error.field in form.fields else None
    form.add_error(field, error.message)
