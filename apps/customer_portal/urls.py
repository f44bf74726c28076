from django.urls import path

from . import app_authorizations, views

app_name = "customer_portal"
urlpatterns = [
    path("", views.license_list, name="license_list"),
    path("licenses/<int:key_id>/", views.license_detail, name="license_detail"),
    path("licenses/<int:key_id>/devices/<int:activation_id>/license-file/",
         views.device_license_file, name="device_license_file"),
    path("billing/", views.billing_portal, name="billing_portal"),
    path("devices/", views.device_list, name="device_list"),
    path("floating-usage/", views.floating_usage_view, name="floating_usage"),
    path("devices/deactivate/", views.device_deactivate, name="device_deactivate"),
    path("users/", views.app_user_list, name="app_user_list"),
    path("users/<int:app_user_id>/remove/", views.app_user_remove, name="app_user_remove"),
    # Applications a person of the customer authorized (.NET UserAccount.GetLicenseKeys).
    path("authorize-app/", app_authorizations.app_authorize, name="app_authorize"),
    path("applications/", app_authorizations.app_authorization_list,
         name="app_authorization_list"),
    path("applications/<int:authorization_id>/revoke/",
         app_authorizations.app_authorization_revoke_view, name="app_authorization_revoke"),
    path("switch/<int:membership_id>/", views.switch_customer, name="switch_customer"),
    path("join/<str:token>/", views.join, name="join"),
]
