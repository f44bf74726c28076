"""Forms of the anomaly pages: the findings filter and the per-vendor detector settings."""

from __future__ import annotations

from django import forms

from apps.anomalies.models import SENSITIVITY_CHOICES, Finding

KIND_CHOICES = [("", "Any"), ("key", "Key"), ("ip", "IP")]


class FindingFilterForm(forms.Form):
    status = forms.ChoiceField(required=False, choices=[("", "Any"), *Finding.Status.choices])
    severity = forms.ChoiceField(required=False,
                                 choices=[("", "Any"), *Finding.Severity.choices])
    subject_kind = forms.ChoiceField(required=False, choices=KIND_CHOICES, label="Kind")
    q = forms.CharField(required=False, max_length=64, label="Key or IP")

    def filters(self) -> dict:
        data = self.cleaned_data
        return {"status": data["status"], "severity": data["severity"],
                "subject_kind": data["subject_kind"], "query": data["q"]}


class AnomalySettingsForm(forms.Form):
    sensitivity = forms.TypedChoiceField(coerce=float, choices=SENSITIVITY_CHOICES,
                                         help_text="Applies from the next training.")
    enabled = forms.BooleanField(required=False, label="Score new Web API calls")
    email_digest = forms.BooleanField(
        required=False, label="E-mail owners and admins about new high-severity findings")
    retrain_nightly = forms.BooleanField(required=False, label="Retrain every night")
