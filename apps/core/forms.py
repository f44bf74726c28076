"""Forms shared by every portal's reports: a UTC date range and what a report covers."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.utils import timezone

MAX_RANGE_DAYS = 366
DEFAULT_RANGE_DAYS = 30


def day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)


class ReportRangeForm(forms.Form):
    """A UTC date range, the last 30 days by default, at most a year."""

    since = forms.DateField(required=False, label="From (UTC)",
                            widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, label="To (UTC, inclusive)",
                            widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self) -> dict:
        data = super().clean()
        today = timezone.now().astimezone(dt.UTC).date()
        until = data.get("until") or today
        since = data.get("since") or until - dt.timedelta(days=DEFAULT_RANGE_DAYS - 1)
        if since > until:
            raise forms.ValidationError("“From” must not be after “To”.")
        if (until - since).days >= MAX_RANGE_DAYS:
            raise forms.ValidationError(f"Choose at most {MAX_RANGE_DAYS} days.")
        data["start"], data["end"] = day_start(since), day_start(until + dt.timedelta(days=1))
        data["since"], data["until"] = since, until
        return data


class ReportScopeForm(ReportRangeForm):
    """What a vendor's report covers: everything, a product, a customer's keys or one key."""

    product = forms.TypedChoiceField(required=False, coerce=int, empty_value=None,
                                     label="Product", choices=[])
    customer = forms.TypedChoiceField(required=False, coerce=int, empty_value=None,
                                      label="Customer", choices=[])
    key = forms.CharField(required=False, max_length=23, label="Key",
                          widget=forms.TextInput(attrs={"placeholder": "AAAAA-BBBBB-…"}))
    field_order = ["product", "customer", "key", "since", "until"]

    def __init__(self, *args, products: list[tuple[int, str]],
                 customers: list[tuple[int, str]], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["product"].choices = [("", "All products"), *products]
        self.fields["customer"].choices = [("", "All customers"), *customers]

    def clean_key(self) -> str:
        return self.cleaned_data["key"].strip().upper()


class FloatingReportForm(ReportScopeForm):
    resolution = forms.ChoiceField(choices=[("hour", "Hour"), ("day", "Day")], required=False,
                                   label="Peak per")

    def clean_resolution(self) -> str:
        return self.cleaned_data["resolution"] or "hour"
