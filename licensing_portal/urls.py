from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("", include("apps.api.urls")),
    path("accounts/", include("allauth.urls")),
    path("django-admin/", admin.site.urls),
    path("", include("apps.vendor_portal.urls")),
]
