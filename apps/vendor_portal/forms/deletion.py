"""Confirming a deletion: a product that has keys needs its name typed and the number of keys
the person was shown (the service refuses when that number changed meanwhile)."""

from __future__ import annotations

from typing import Any

from django import forms


class ProductDeleteForm(forms.Form):
    confirmed_keys = forms.IntegerField(min_value=0, widget=forms.HiddenInput)
    confirm_name = forms.CharField(
        required=False, max_length=200, label="Type the product's name to confirm",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}))

    def __init__(self, *args: Any, product_name: str, key_count: int, **kwargs: Any) -> None:
        kwargs["initial"] = {"confirmed_keys": key_count}
        super().__init__(*args, **kwargs)
        self.product_name = product_name
        if not key_count:  # nothing but the product itself goes: a button is enough
            del self.fields["confirm_name"]

    def clean_confirm_name(self) -> str:
        typed = self.cleaned_data["confirm_name"].strip()
        if typed != self.product_name.strip():
            raise forms.ValidationError(f"Type “{self.product_name}” exactly to delete it "
                                        "with its keys.")
        return typed
