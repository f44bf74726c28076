from django.apps import AppConfig


class VendorPortalConfig(AppConfig):
    name = "apps.vendor_portal"
    label = "vendor_portal"
