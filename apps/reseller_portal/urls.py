from django.urls import path  # noqa: F401

app_name = "reseller_portal"
urlpatterns: list = []
