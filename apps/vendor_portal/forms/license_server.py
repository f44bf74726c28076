"""The form for issuing a license-server configuration."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from django import forms
from django.db.models import QuerySet
from django.utils import timezone

from apps.core.forms import DayField, model_choice_field

if TYPE_CHECKING:
    from apps.licensing.models import Customer


def _default_valid_until() -> dt.date:
    return timezone.now().date() + dt.timedelta(days=365)


class LicenseServerConfigurationForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="E.g. the customer's site.")
    customer: forms.ModelChoiceField[Customer] = forms.ModelChoiceField(
        queryset=None, required=False, help_text="Whose server this is (optional).")
    valid_until = DayField(
        initial=_default_valid_until,
        help_text="After this day the server stops handing out floating seats offline.")
    keys = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Keys whose floating seats the server may hand out offline, one per line "
                  "(KEY, or <product id>:KEY). The seat count is each key's maximum number "
                  "of machines. Leave empty for a relay and cache only.")

    def __init__(self, *args: Any, customers: QuerySet[Customer], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        model_choice_field(self, "customer").queryset = customers

    def clean_valid_until(self) -> dt.datetime:
        """The end of the chosen day, in UTC."""
        day = self.cleaned_data["valid_until"]
        return dt.datetime.combine(day, dt.time(23, 59, 59), tzinfo=dt.UTC)
