from __future__ import annotations

from typing import Any

from django import forms

from apps.commerce.models import PaymentForm, PaymentFormOption
from apps.commerce.money import format_money


class OptionField(forms.ModelChoiceField):
    currency = ""

    def label_from_instance(self, obj: PaymentFormOption) -> str:
        return f"{obj.label}: {format_money(obj.amount, self.currency)}"


class BuyForm(forms.Form):
    option = OptionField(queryset=PaymentFormOption.objects.none(),
                                    widget=forms.RadioSelect, empty_label=None,
                                    label="What you buy")
    email = forms.EmailField(max_length=100, label="E-mail",
                             help_text="Your license key is sent here.")
    name = forms.CharField(max_length=100, required=False, label="Your name")
    company = forms.CharField(max_length=100, required=False, label="Company")
    vat_id = forms.CharField(max_length=40, required=False, label="VAT id")

    def __init__(self, *args: Any, page: PaymentForm, one_time: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if one_time:  # a paymentform/CreateSession link has its own price
            del self.fields["option"]
        else:
            field = self.fields["option"]
            assert isinstance(field, OptionField)
            field.queryset = page.options.all()
            field.currency = page.currency
            first = page.options.first()
            field.initial = first.pk if first else None
        if not page.collect_company:
            del self.fields["company"]
        if not page.collect_vat_id:
            del self.fields["vat_id"]
