from django.urls import path  # noqa: F401

app_name = "activation_forms"
urlpatterns: list = []
