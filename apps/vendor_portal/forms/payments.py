"""Forms of the vendor's payment pages: the Stripe account, payment forms with their prices,
subscription prices and the order filters. They validate and convert; services decide."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.db.models import QuerySet

from apps.commerce.models import Order, StripeAccount
from apps.commerce.money import decimals, to_minor
from apps.commerce.selectors import SUBSCRIPTION_STATUSES
from apps.commerce.services import MAX_OPTIONS, OptionSpec
from apps.core.forms import model_choice_field
from apps.licensing.models import LicenseTemplate

SECRET_WIDGET = {"autocomplete": "off", "spellcheck": "false"}


class StripeAccountForm(forms.Form):
    secret_key = forms.CharField(
        label="Secret key", required=False, max_length=255, strip=True,
        widget=forms.PasswordInput(attrs=SECRET_WIDGET))
    webhook_secret = forms.CharField(
        label="Webhook signing secret", required=False, max_length=255, strip=True,
        widget=forms.PasswordInput(attrs=SECRET_WIDGET))
    grace_days = forms.IntegerField(
        label="Grace period (days)", min_value=0, max_value=60, initial=3,
        help_text="After a subscription's paid period ends (or a renewal fails), its key "
                  "keeps working this many days while Stripe retries the payment.")
    on_refund = forms.ChoiceField(label="When a payment is refunded or disputed",
                                  choices=StripeAccount.ON_REFUND, widget=forms.RadioSelect,
                                  initial=StripeAccount.ON_REFUND_BLOCK)
    on_payment_failed = forms.ChoiceField(label="When a subscription payment fails",
                                          choices=StripeAccount.ON_FAILED,
                                          widget=forms.RadioSelect,
                                          initial=StripeAccount.ON_FAILED_EXPIRE)

    def __init__(self, *args: Any, account: StripeAccount | None = None, **kwargs: Any) -> None:
        if account is not None:
            kwargs.setdefault("initial", {
                "grace_days": account.grace_days, "on_refund": account.on_refund,
                "on_payment_failed": account.on_payment_failed})
        super().__init__(*args, **kwargs)
        # Only the hints of stored secrets are ever shown; the inputs start empty.
        if account is not None and account.secret_key_hint:
            self.fields["secret_key"].help_text = (
                f"Stored: {account.secret_key_hint}. Leave empty to keep it.")
        else:
            self.fields["secret_key"].help_text = (
                "From Stripe's Dashboard › Developers › API keys: sk_live_… (or sk_test_… to "
                "try things out, or a restricted key rk_…).")
        if account is not None and account.webhook_secret_hint:
            self.fields["webhook_secret"].help_text = (
                f"Stored: {account.webhook_secret_hint}. Leave empty to keep it.")
        else:
            self.fields["webhook_secret"].help_text = (
                "whsec_…, shown by Stripe once you add the webhook endpoint below. Until it "
                "is set, Stripe's events are refused.")


class TemplateChoiceField(forms.ModelChoiceField):
    """One of the vendor's templates (the queryset is set per form), named with its
    product; another vendor's id is "Select a valid choice"."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(queryset=LicenseTemplate.objects.none(), label="License template",
                         **kwargs)

    def label_from_instance(self, obj: LicenseTemplate) -> str:
        return f"{obj.product.name}: {obj.name}"


class PaymentFormForm(forms.Form):
    title = forms.CharField(max_length=100, help_text="The heading of the public page.")
    template = TemplateChoiceField(
        help_text="Each paid order gets a new key made from this template.")
    currency = forms.CharField(min_length=3, max_length=3, initial="usd",
                               help_text="A three-letter ISO code: usd, eur, gbp…")
    description = forms.CharField(max_length=2000, required=False,
                                  widget=forms.Textarea(attrs={"rows": 3}),
                                  help_text="Shown above the prices.")
    collect_company = forms.BooleanField(required=False, label="Ask for a company name")
    collect_vat_id = forms.BooleanField(required=False, label="Ask for a VAT id")
    success_url = forms.URLField(
        max_length=500, required=False, label="Success page", assume_scheme="https",
        help_text="Optional: where buyers land after paying. Empty: a page of this portal that "
                  "shows the new key.")
    active = forms.BooleanField(required=False, initial=True, label="Taking orders",
                                help_text="Untick to close the form: its page then sells "
                                          "nothing. Orders already paid stay as they are.")

    def __init__(self, *args: Any, templates: QuerySet[LicenseTemplate], editing: bool = False,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        model_choice_field(self, "template").queryset = templates
        if not editing:  # a new form takes orders; it is closed on its edit page
            del self.fields["active"]

    def clean_currency(self) -> str:
        return str(self.cleaned_data["currency"]).strip().lower()


class PriceRowForm(forms.Form):
    """One price of a form, in major units (49.00; 1200 for yen). A row left empty is
    skipped. Its range is the service's to check, in the form's currency."""

    label = forms.CharField(max_length=100, required=False,
                            widget=forms.TextInput(attrs={"aria-label": "Label"}))
    price = forms.DecimalField(max_digits=12, decimal_places=2, min_value=Decimal("0.01"),
                               required=False,
                               widget=forms.NumberInput(attrs={"aria-label": "Price"}))
    seats = forms.IntegerField(min_value=0, max_value=100_000, required=False,
                               widget=forms.NumberInput(attrs={"aria-label": "Seats"}))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        label, price = (data.get("label") or "").strip(), data.get("price")
        if self.errors or (not label and price is None and data.get("seats") is None):
            return data
        if not label:
            self.add_error("label", "Each price needs a label (“1 seat”).")
        if price is None:
            self.add_error("price", "Enter the price, e.g. 49.00.")
        return data

    def option(self, currency: str) -> OptionSpec | None:
        """The row as the service takes it (the price in the currency's smallest unit), or
        None for an empty row; a price with more decimals than the currency has is an error
        on the row."""
        data = self.cleaned_data
        if not (data.get("label") or "").strip() or data.get("price") is None:
            return None
        amount = to_minor(data["price"], currency)
        if amount is None:  # two decimals are checked above: only yen and the like get here
            self.add_error("price", f"{currency.upper()} prices have no decimals."
                           if not decimals(currency) else "Enter at most two decimals.")
            return None
        return OptionSpec(label=data["label"].strip(), amount=amount,
                          seats=data.get("seats") or 0)


class BasePriceFormSet(forms.BaseFormSet):
    def clean(self) -> None:
        super().clean()
        if not self.management_form.is_valid() or any(self.errors):
            return  # already said: this would hide it
        if not any((row.cleaned_data.get("label") or "").strip() for row in self.forms):
            raise forms.ValidationError("Add at least one price.")

    def options(self, currency: str) -> list[OptionSpec] | None:
        """The prices in `currency`'s smallest unit; None when a row does not fit the
        currency (the row then shows why)."""
        rows = [(row, row.option(currency)) for row in self.forms if row.is_valid()]
        if any(row.errors for row, _ in rows):
            return None
        return [option for _, option in rows if option is not None]


PRICES_PREFIX = "prices"


def price_formset(data: Any = None, *, initial: list[dict[str, Any]] | None = None
                  ) -> BasePriceFormSet:
    """The price rows: those given, plus empty ones (three, up to the limit)."""
    initial = initial or []
    blank = max(0, min(3, MAX_OPTIONS - len(initial)))
    formset_class = forms.formset_factory(PriceRowForm, formset=BasePriceFormSet, extra=blank,
                                          max_num=MAX_OPTIONS, validate_max=True)
    formset = formset_class(data, initial=initial, prefix=PRICES_PREFIX)
    assert isinstance(formset, BasePriceFormSet)
    return formset


class PriceMappingForm(forms.Form):
    price_id = forms.CharField(
        label="Stripe price id", max_length=255,
        help_text="From the price's page in Stripe's Dashboard, e.g. price_1PqRsTuVwXyZ.")
    template = TemplateChoiceField(
        help_text="A subscription's first paid invoice issues a key from it.")
    meter_event_name = forms.CharField(
        label="Meter event name", max_length=100, required=False,
        help_text="Only for a metered (usage-based) price: the event name of its Stripe meter, "
                  "to which subscription/RecordUsage reports use.")

    def __init__(self, *args: Any, templates: QuerySet[LicenseTemplate], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        model_choice_field(self, "template").queryset = templates


class OrderFilterForm(forms.Form):
    status = forms.ChoiceField(required=False, choices=[("", "Any status"), *Order.STATUSES])
    q = forms.CharField(required=False, max_length=200)


class SubscriptionFilterForm(forms.Form):
    status = forms.ChoiceField(required=False,
                               choices=[("", "Any status"), *SUBSCRIPTION_STATUSES])
    q = forms.CharField(required=False, max_length=200)
