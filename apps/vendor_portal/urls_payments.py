"""Selling through Stripe: settings, payment forms, subscription prices, orders and the
metered use of a key."""

from django.urls import path

from .views import orders, payments

urlpatterns = [
    path("settings/payments/", payments.stripe_settings, name="stripe_settings"),
    path("settings/payments/save/", payments.stripe_settings_save, name="stripe_settings_save"),
    path("payment-forms/", payments.payment_form_list, name="payment_form_list"),
    path("payment-forms/new/", payments.payment_form_create, name="payment_form_create"),
    path("payment-forms/<int:form_id>/edit/", payments.payment_form_edit,
         name="payment_form_edit"),
    path("subscription-prices/", payments.price_mapping_list, name="price_mapping_list"),
    path("subscription-prices/new/", payments.price_mapping_create,
         name="price_mapping_create"),
    path("subscription-prices/<int:mapping_id>/remove/", payments.price_mapping_remove_view,
         name="price_mapping_remove"),
    path("orders/", orders.order_list, name="order_list"),
    path("orders/subscriptions/", orders.subscription_list, name="subscription_list"),
    path("keys/<int:key_id>/usage/", orders.key_usage, name="key_usage"),
]
