from django.urls import path

from . import views

app_name = "storefront"
urlpatterns = [
    path("pay/<str:public_id>/", views.payment_form, name="payment_form"),
    path("order/<str:token>/", views.order_status, name="order"),
    path("stripe/webhook/<str:webhook_path>/", views.stripe_webhook, name="stripe_webhook"),
]
