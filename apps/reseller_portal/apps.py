from django.apps import AppConfig


class ResellerPortalConfig(AppConfig):
    name = "apps.reseller_portal"
    label = "reseller_portal"
