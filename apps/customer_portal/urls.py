from django.urls import path

from . import views

app_name = "customer_portal"
urlpatterns = [
    path("", views.license_list, name="license_list"),
]
