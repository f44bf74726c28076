from django.urls import path, re_path

from . import views
from .methods import licenseserver

app_name = "api"
urlpatterns = [
    # License servers upload their journal here (apps.license_server); not a Web API method.
    re_path(r"^api/license-server/upload-log/?$", licenseserver.upload_log,
            name="license_server_upload"),
    # .NET sends /api//key/activate/, Python /api/key/activate and /api//key/UnblockKey:
    # tolerate repeated and trailing slashes, and never redirect.
    re_path(r"^api/+(?P<controller>[A-Za-z]+)/+(?P<method>[A-Za-z]+)/*$", views.dispatch,
            name="dispatch"),
    # Any case of the prefix too; (?i) is not reversible in Django's resolver.
    re_path(r"^[Aa][Pp][Ii]/+(?P<controller>[A-Za-z]+)/+(?P<method>[A-Za-z]+)/*$",
            views.dispatch),
    path("docs/api/", views.reference, name="reference"),
]
