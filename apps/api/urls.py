from django.urls import path, re_path

from . import views

app_name = "api"
urlpatterns = [
    # .NET sends /api//key/activate/, Python /api/key/activate and /api//key/UnblockKey:
    # tolerate repeated and trailing slashes, and never redirect.
    re_path(r"^api/+(?P<controller>[A-Za-z]+)/+(?P<method>[A-Za-z]+)/*$", views.dispatch,
            name="dispatch"),
    # Any case of the prefix too; (?i) is not reversible in Django's resolver.
    re_path(r"^[Aa][Pp][Ii]/+(?P<controller>[A-Za-z]+)/+(?P<method>[A-Za-z]+)/*$",
            views.dispatch),
    path("docs/api/", views.reference, name="reference"),
]
