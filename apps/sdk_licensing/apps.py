from django.apps import AppConfig


class SdkLicensingConfig(AppConfig):
    name = "apps.sdk_licensing"
    label = "sdk_licensing"
    verbose_name = "SDK licensing"
