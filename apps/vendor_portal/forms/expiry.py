"""The product's expiry settings: notices to customers, blocking of expired keys."""

from __future__ import annotations

from django import forms


class ProductExpiryForm(forms.Form):
    expiry_notices_enabled = forms.BooleanField(
        required=False, label="E-mail customers about expiring keys",
        help_text="Off until you switch it on. Each key's customer (if it has an e-mail "
                  "address) gets a reminder on each day below and a notice when the key "
                  "expires, naming your company, the product, the key, its expiry date and a "
                  "renewal link (an active payment form for this product, if you have one).")
    # Checked by the service (apps.licensing.services.expiry.parse_notice_days).
    expiry_notice_days = forms.CharField(
        required=False, max_length=100, label="Reminder days before expiry",
        help_text="Comma-separated, e.g. 30, 7, 1: at most 5 different numbers from 1 to 365. "
                  "Empty: only the notice at expiry.")
    block_expired = forms.BooleanField(
        required=False, label="Block expired licenses",
        help_text="Within an hour after a key expires, block it. Left alone: keys of Stripe "
                  "subscriptions (the subscription manages their expiry) and trial-activation "
                  "keys no device has activated. Off by default.")
