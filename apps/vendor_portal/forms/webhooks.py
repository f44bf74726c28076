"""Forms of the webhook pages: an endpoint, a secret rotation, a resend since a time."""

from __future__ import annotations

from django import forms
from django.forms.boundfield import BoundWidget

from apps.webhooks.services import EVENT_TYPES

# Checkbox groups of the endpoint form: a heading and the event-name prefixes it gathers.
# An event of no group (a type added later) is listed under "Other".
EVENT_GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Keys", ("key.",)),
    ("Devices", ("device.",)),
    ("Floating licenses", ("floating.",)),
    ("Customers and resellers", ("customer.", "reseller.")),
    ("Orders and subscriptions", ("order.", "subscription.")),
    ("Anomalies and license servers", ("anomaly.", "license_server.")),
    ("Testing", ("webhook.",)),
)


def _group_of(event_type: str) -> str:
    for label, prefixes in EVENT_GROUPS:
        if event_type.startswith(prefixes):
            return label
    return "Other"


class EndpointForm(forms.Form):
    url = forms.CharField(label="URL", widget=forms.URLInput(attrs={
        "placeholder": "https://example.com/webhooks/licensing"}),
        help_text="Where the portal POSTs each event (https only).")
    description = forms.CharField(max_length=200, required=False)
    # Not required here: the service says "Choose at least one event." itself.
    events = forms.MultipleChoiceField(
        choices=[(t, t) for t in EVENT_TYPES], required=False,
        widget=forms.CheckboxSelectMultiple)

    def event_groups(self) -> list[tuple[str, list[tuple[BoundWidget, str]]]]:
        """The event checkboxes by group, each with what the event reports."""
        groups: dict[str, list[tuple[BoundWidget, str]]] = {}
        for widget in self["events"]:
            event_type = widget.data["value"]
            groups.setdefault(_group_of(event_type), []).append(
                (widget, EVENT_TYPES[event_type]))
        order = [label for label, _ in EVENT_GROUPS] + ["Other"]
        return sorted(groups.items(), key=lambda item: order.index(item[0]))


class EndpointEditForm(EndpointForm):
    enabled = forms.BooleanField(required=False, help_text=(
        "A disabled endpoint gets nothing; enabling it again clears the failure record."))


class RotateSecretForm(forms.Form):
    overlap_hours = forms.IntegerField(
        min_value=0, max_value=168, initial=24, label="Overlap (hours)",
        help_text="How long the old secret also signs each event (0 to 168; 0: it stops "
                  "at once).")


class ResendSinceForm(forms.Form):
    since = forms.DateTimeField(
        label="Resend everything since",
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
