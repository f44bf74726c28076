from django.apps import AppConfig


class ActivationFormsConfig(AppConfig):
    name = "apps.activation_forms"
    label = "activation_forms"
