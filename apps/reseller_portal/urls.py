from django.urls import path

from . import views

app_name = "reseller_portal"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("switch/<int:reseller_id>/", views.switch_reseller, name="switch_reseller"),
    path("rights/<int:right_id>/issue/", views.key_issue, name="key_issue"),
    path("keys/", views.key_list, name="key_list"),
    path("keys/<int:key_id>/", views.key_detail, name="key_detail"),
    path("keys/<int:key_id>/license-file/", views.license_file_download, name="license_file"),
    path("customers/", views.customer_list, name="customer_list"),
    path("customers/new/", views.customer_create, name="customer_create"),
    path("accept/<str:token>/", views.accept, name="accept"),
]
