"""Forms of the customer portal. They validate; services decide and save."""

from __future__ import annotations

from typing import Any

from django import forms

from apps.core.forms import IdField, IdListField, ReportRangeForm, choice_field

# One request frees at most this many devices: a page of search results, with room to spare.
MAX_DEVICES_PER_REQUEST = 1000


class SearchForm(forms.Form):
    q = forms.CharField(required=False, max_length=200)


class DeactivateForm(forms.Form):
    """Devices to free, and where to go back: the search (q, page) or a license's page."""

    activation = IdListField(required=False, max_count=MAX_DEVICES_PER_REQUEST, noun="devices")
    q = forms.CharField(required=False, max_length=200)
    page = forms.IntegerField(required=False, min_value=1)
    key = IdField(required=False)


class FloatingUsageForm(ReportRangeForm):
    """One of the customer's keys (or all of them) and a date range."""

    key = forms.TypedChoiceField(required=False, coerce=int, empty_value=None, label="License",
                                 choices=[])
    resolution = forms.ChoiceField(choices=[("hour", "Hour"), ("day", "Day")], required=False,
                                   label="Peak per")
    field_order = ["key", "since", "until", "resolution"]

    def __init__(self, *args: Any, keys: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choice_field(self, "key").choices = [("", "All licenses"), *keys]

    def clean_resolution(self) -> str:
        return self.cleaned_data["resolution"] or "hour"
