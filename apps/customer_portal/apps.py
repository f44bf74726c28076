from django.apps import AppConfig


class CustomerPortalConfig(AppConfig):
    name = "apps.customer_portal"
    label = "customer_portal"
