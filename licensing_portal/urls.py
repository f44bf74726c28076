from django.contrib import admin
from django.urls import include, path

from apps.core.health import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("", include("apps.api.urls")),
    path("accounts/", include("allauth.urls")),
    path("f/", include("apps.activation_forms.urls")),
    path("portal/", include("apps.customer_portal.urls")),
    path("reseller/", include("apps.reseller_portal.urls")),
    path("django-admin/", admin.site.urls),
    path("", include("apps.vendor_portal.urls")),
]
