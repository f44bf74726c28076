"""Small helpers shared by the vendor portal's views."""

from __future__ import annotations

from django import forms
from django.core.paginator import Page, Paginator
from django.http import HttpRequest

from apps.core.csvexport import csv_response  # noqa: F401  (used by the views)
from apps.core.errors import DomainError

PAGE_SIZE = 25


def paginate(request: HttpRequest, queryset, per_page: int = PAGE_SIZE) -> Page:
    return Paginator(queryset, per_page).get_page(request.GET.get("page"))


def add_domain_error(form: forms.Form, error: DomainError) -> None:
    """Show a service's refusal on the form, on its field when the form has that field."""
    field = error.field if error.field in form.fields else None
    form.add_error(field, error.message)
