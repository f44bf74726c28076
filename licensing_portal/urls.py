from allauth.account.decorators import secure_admin_login
from django.contrib import admin
from django.urls import include, path, re_path

from apps.core.health import healthz
from apps.customer_portal.app_authorizations import authorize_app_redirect

# The admin's own login form would skip two-factor authentication and allauth's lockout:
# anonymous visitors are sent to allauth's login (MFA and rate limits included) instead, and
# logged-in users who are not staff are refused.
admin.site.login = secure_admin_login(admin.site.login)  # type: ignore[method-assign]

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    # Where the .NET client sends the browser to authorize an application (Cryptolens'
    # address, AuthMethods.cs: DOMAIN + "User/AuthorizeApp/?..."): on to the customer portal.
    re_path(r"^[Uu]ser/[Aa]uthorize[Aa]pp/?$", authorize_app_redirect,
            name="user_authorize_app"),
    path("", include("apps.api.urls")),
    path("accounts/", include("allauth.urls")),
    path("f/", include("apps.activation_forms.urls")),
    path("", include("apps.storefront.urls")),
    path("portal/", include("apps.customer_portal.urls")),
    path("reseller/", include("apps.reseller_portal.urls")),
    path("django-admin/", admin.site.urls),
    path("", include("apps.vendor_portal.urls")),
]
