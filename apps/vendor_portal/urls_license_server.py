from django.urls import path

from .views import license_server

urlpatterns: list = [
    path("", license_server.license_server_list, name="license_server_list"),
    path("new/", license_server.license_server_create, name="license_server_create"),
    path("wheel/", license_server.license_server_wheel, name="license_server_wheel"),
    path("<int:configuration_id>/", license_server.license_server_detail,
         name="license_server_detail"),
    path("<int:configuration_id>/revoke/", license_server.license_server_revoke,
         name="license_server_revoke"),
]
