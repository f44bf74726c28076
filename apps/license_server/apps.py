from django.apps import AppConfig


class LicenseServerConfig(AppConfig):
    name = "apps.license_server"
    label = "license_server"
    verbose_name = "License server"
