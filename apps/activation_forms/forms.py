"""The public activation form. Fields are lenient on purpose: the service checks the values,
so that every attempt, even an empty one, is logged and counted."""

from __future__ import annotations

from django import forms

from apps.licensing.models import MAX_MACHINE_CODE_LENGTH


class ActivationRequestForm(forms.Form):
    key = forms.CharField(
        label="License key", required=False,
        widget=forms.TextInput(attrs={
            "required": True, "maxlength": 64, "placeholder": "ABCDE-FGHIJ-KLMNO-PQRST",
            "autocomplete": "off", "spellcheck": "false", "autocapitalize": "characters",
            "class": "mono",
        }),
    )
    machine_code = forms.CharField(
        label="Machine code", required=False,
        widget=forms.TextInput(attrs={
            "required": True, "maxlength": MAX_MACHINE_CODE_LENGTH, "autocomplete": "off",
            "spellcheck": "false", "class": "mono",
        }),
    )
    friendly_name = forms.CharField(
        label="Device name", required=False,
        help_text="Optional: a name that tells this computer apart, e.g. LAB-PC-3.",
        widget=forms.TextInput(attrs={"maxlength": 255}),
    )

    def __init__(self, *args, ask_friendly_name: bool = False, machine_code_help: str = "",
                 **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.validators = []  # even a NUL character is the service's to refuse and log
        # The expected format next to the field; checked by the service, not by the browser
        # (no `pattern` attribute), so that a malformed code is logged and counted too.
        self.fields["machine_code"].help_text = machine_code_help
        if machine_code_help:
            self.fields["machine_code"].widget.attrs["aria-describedby"] = "machine_code_help"
        if not ask_friendly_name:
            del self.fields["friendly_name"]
