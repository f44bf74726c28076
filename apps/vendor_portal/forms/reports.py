"""Filter forms of the vendor's object log and reports."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms

from apps.core.forms import DayField, choice_field, day_start


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
