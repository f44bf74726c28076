"""The form to broadcast a message to the vendor's applications."""

from __future__ import annotations

from django import forms

from apps.licensing.services.messages import MAX_CHANNEL, MAX_CONTENT


class MessageForm(forms.Form):
    content = forms.CharField(
        max_length=MAX_CONTENT, widget=forms.Textarea(attrs={"rows": 3}),
        help_text="What every copy of your application receives, e.g. “Version 2.0 is out: "
                  "https://example.com/download”.")
    channel = forms.CharField(
        max_length=MAX_CHANNEL, required=False,
        help_text="Applications ask for one channel (e.g. stable, beta) or all of them.")
