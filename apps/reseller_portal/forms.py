"""Forms of the reseller portal. They validate; services decide and save."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet

from apps.core.forms import model_choice_field
from apps.licensing.models import Customer


class SearchForm(forms.Form):
    q = forms.CharField(required=False, max_length=200)


class IssueKeyForm(forms.Form):
    """The customer a key is issued for, chosen among the reseller's own and shared ones."""

    customer = forms.ModelChoiceField(
        queryset=Customer.objects.none(), required=False,
        empty_label="No customer (a standalone key)",
        help_text="Your customers, and those the vendor's resellers share.")

    def __init__(self, *args: Any, customers: QuerySet[Customer], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        model_choice_field(self, "customer").queryset = customers


class CustomerForm(forms.Form):
    name = forms.CharField(max_length=100, required=False)
    email = forms.EmailField(label="E-mail", max_length=100, required=False)
    company_name = forms.CharField(label="Company", max_length=100, required=False)
    shared = forms.BooleanField(
        label="Share with the vendor's other resellers", required=False,
        help_text="They may then issue keys for this customer too. The vendor always sees it.")


class LicenseFileForm(forms.Form):
    """A license file for one device (activated first if needed), or, left empty, for all."""

    machine_code = forms.CharField(required=False, max_length=128)
    friendly_name = forms.CharField(required=False, max_length=255, label="Device name")
