"""Form pieces shared by every portal: a day field and an id field that arithmetic and SQL
cannot overflow, a UTC date range for reports and what a report covers."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.utils import timezone

MAX_RANGE_DAYS = 366
DEFAULT_RANGE_DAYS = 30
# The days a form accepts. Python's dates run from year 1 to 9999-12-31 and the pages add a
# day ("To" is inclusive), a month (monthly charts) or subtract a default range (30 days before
# "To"): these bounds keep every such step inside. No licence or log predates 1970.
FIRST_DAY = dt.date(1970, 1, 1)
LAST_DAY = dt.date(9998, 12, 31)
# Row ids are PostgreSQL bigints (BigAutoField); a larger number overflows the statement.
MAX_ID = 2**63 - 1


def day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)


# Form.fields holds plain Fields for the type checker: these give a declared choice field its
# own type, to set its choices or queryset when the form is made.

def choice_field(form: forms.BaseForm, name: str) -> forms.ChoiceField:
    field = form.fields[name]
    assert isinstance(field, forms.ChoiceField), name
    return field


def model_choice_field(form: forms.BaseForm, name: str) -> forms.ModelChoiceField[Any]:
    field = form.fields[name]
    assert isinstance(field, forms.ModelChoiceField), name
    return field


def cleaned(data: dict[str, Any] | None) -> dict[str, Any]:
    """What `super().clean()` returned: Form.clean always returns cleaned_data."""
    assert data is not None
    return data


class DayField(forms.DateField):
    """A calendar day between FIRST_DAY and LAST_DAY, as a date picker."""

    default_error_messages = {
        "out_of_range": f"Enter a date from {FIRST_DAY.isoformat()} to {LAST_DAY.isoformat()}.",
    }

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("widget", forms.DateInput(attrs={
            "type": "date", "min": FIRST_DAY.isoformat(), "max": LAST_DAY.isoformat()}))
        super().__init__(**kwargs)

    def validate(self, value: dt.date | None) -> None:
        super().validate(value)
        if value is not None and not FIRST_DAY <= value <= LAST_DAY:
            raise forms.ValidationError(self.error_messages["out_of_range"],
                                        code="out_of_range")


class IdField(forms.IntegerField):
    """A row id: 1 to the largest bigint."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(**kwargs)


class IdListField(forms.Field):
    """Several row ids posted under one name (one checkbox per row), at most `max_count`
    of them, sorted and without repeats."""

    widget = forms.MultipleHiddenInput

    def __init__(self, *, max_count: int = 1000, noun: str = "", **kwargs: Any) -> None:
        self.max_count = max_count
        self.noun = noun  # "devices": "Select at most 500 devices at once."
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> list[int]:
        if not value:
            return []
        if not isinstance(value, list | tuple):
            value = [value]
        try:
            ids = [int(item) for item in value]
        except (TypeError, ValueError):
            raise forms.ValidationError("The selection is not valid.") from None
        if not all(1 <= pk <= MAX_ID for pk in ids):  # past a bigint, the lookup fails
            raise forms.ValidationError("The selection is not valid.")
        if len(ids) > self.max_count:
            what = f" {self.noun}" if self.noun else ""
            raise forms.ValidationError(f"Select at most {self.max_count}{what} at once.")
        return sorted(set(ids))


class ReportRangeForm(forms.Form):
    """A UTC date range, the last 30 days by default, at most a year."""

    since = DayField(required=False, label="From (UTC)")
    until = DayField(required=False, label="To (UTC, inclusive)")

    def clean(self) -> dict[str, Any]:
        data = cleaned(super().clean())
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

    def __init__(self, *args: Any, products: list[tuple[int, str]],
                 customers: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choice_field(self, "product").choices = [("", "All products"), *products]
        choice_field(self, "customer").choices = [("", "All customers"), *customers]

    def clean_key(self) -> str:
        return self.cleaned_data["key"].strip().upper()


class FloatingReportForm(ReportScopeForm):
    resolution = forms.ChoiceField(choices=[("hour", "Hour"), ("day", "Day")], required=False,
                                   label="Peak per")

    def clean_resolution(self) -> str:
        return self.cleaned_data["resolution"] or "hour"
