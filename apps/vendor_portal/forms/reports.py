"""Filter forms of the vendor's object log, Web API log and reports."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.utils import timezone

from apps.core.forms import DayField, IdField, choice_field, day_start
from apps.usage.weblog_io import STATE_GROUPS


class ObjectLogFilterForm(forms.Form):
    q = forms.CharField(required=False, max_length=200, label="Search")
    type = forms.ChoiceField(required=False, label="Kind", choices=[])
    object_id = forms.CharField(required=False, max_length=64, widget=forms.HiddenInput)
    actor = forms.ChoiceField(required=False, label="Who", choices=[])
    since = DayField(required=False, label="From")
    until = DayField(required=False, label="To")

    def __init__(self, *args: Any, object_types: list[tuple[str, str]],
                 actors: list[tuple[str, int | None, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choice_field(self, "type").choices = object_types
        kinds = {"user": "person", "token": "access token", "system": "system"}
        choice_field(self, "actor").choices = [("", "Anyone")] + [
            (f"{kind}:{pk or ''}", f"{label} ({kinds.get(kind, kind)})")
            for kind, pk, label in actors]

    def filters(self) -> dict:
        data = self.cleaned_data
        actor = None
        if data["actor"]:
            kind, _, pk = data["actor"].partition(":")
            actor = (kind, int(pk) if pk else None)
        return {
            "object_type": data["type"], "object_id": data["object_id"].strip(),
            "query": data["q"], "actor": actor,
            "since": day_start(data["since"]) if data["since"] else None,
            "until": day_start(data["until"] + dt.timedelta(days=1)) if data["until"] else None,
        }


def _asked_id(value: Any) -> int | None:
    try:
        return IdField(required=False).clean(value)
    except forms.ValidationError:
        return None


class WebApiLogFilterForm(forms.Form):
    # A select of the vendor's products by name; the log keeps plain ids, so the value is one.
    product_id = forms.TypedChoiceField(required=False, label="Product", coerce=int,
                                        empty_value=None, choices=[])
    key = forms.CharField(required=False, max_length=64)
    machine_code = forms.CharField(required=False, max_length=128, label="Machine code")
    friendly_name = forms.CharField(required=False, max_length=255, label="Friendly name")
    state_group = forms.ChoiceField(required=False, label="State", choices=[("", "Any")] + [
        (value, label) for value, (label, _) in STATE_GROUPS.items()])
    ip = forms.GenericIPAddressField(required=False, label="IP")
    since = DayField(required=False, label="From")
    until = DayField(required=False, label="To")
    country = forms.CharField(required=False, max_length=2, label="Country",
                              widget=forms.TextInput(attrs={"size": 3, "placeholder": "SE"}))
    # Exact instants (Unix seconds), for links from reports and findings; not on the form.
    start = forms.IntegerField(required=False, min_value=0, max_value=2**37,
                               widget=forms.HiddenInput)
    end = forms.IntegerField(required=False, min_value=0, max_value=2**37,
                             widget=forms.HiddenInput)
    before = IdField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, products: dict[int, str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices: list[tuple[int | str, str]] = [("", "Any")]
        choices += [(pk, name) for pk, name in products.items()]
        # A link from a report may name a product since deleted: the log outlives products,
        # so its id stays a choice rather than an error.
        asked = _asked_id(self.data.get("product_id"))
        if asked is not None and asked not in products:
            choices.append((asked, f"Product {asked} (deleted or unknown)"))
        choice_field(self, "product_id").choices = choices

    def clean_country(self) -> str:
        country = self.cleaned_data["country"].strip().upper()
        if country and not (len(country) == 2 and country.isascii() and country.isalpha()):
            raise forms.ValidationError("Enter a two-letter country code, e.g. SE.")
        return country

    def filters(self) -> dict:
        """The search's keyword arguments: dates become the start of the day in the site's
        time zone, "To" includes its whole day, and start/end narrow to exact instants."""
        data = {name: value for name, value in self.cleaned_data.items()
                if name not in ("before", "start", "end")}
        for name, days in (("since", 0), ("until", 1)):
            if data[name] is not None:
                day = dt.datetime.combine(data[name] + dt.timedelta(days=days), dt.time())
                data[name] = timezone.make_aware(day)
        for name, bound in (("start", "since"), ("end", "until")):
            value = self.cleaned_data.get(name)
            if value is not None:  # end is inclusive: every row of its last second
                instant = dt.datetime.fromtimestamp(value + (name == "end"), tz=dt.UTC)
                if data[bound] is None or (instant > data[bound]) == (name == "start"):
                    data[bound] = instant
        return data
