"""URLs whose views fail the way they do while PostgreSQL is down (test_database_unavailable)."""

from django.db import OperationalError
from django.http import HttpRequest, HttpResponse
from django.urls import path


def database_down(request: HttpRequest) -> HttpResponse:
    raise OperationalError('connection to server at "127.0.0.1", port 5432 failed: '
                           "Connection refused")


urlpatterns = [
    path("api/key/Activate", database_down),
    path("vendor/", database_down),
]
