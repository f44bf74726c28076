"""The portal's WSGI application (licensing_portal.wsgi: the Web API on its own middleware
stack) plus /bench/: the floor, a plain Django view that only signs, served with no project
middleware at all."""

import os

import django
from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchsite.settings")
django.setup(set_prefix=False)

from licensing_portal.wsgi import application as portal_application  # noqa: E402


class BareHandler(WSGIHandler):
    def load_middleware(self, is_async: bool = False) -> None:
        stack = settings.MIDDLEWARE
        settings.MIDDLEWARE = []
        try:
            super().load_middleware(is_async)
        finally:
            settings.MIDDLEWARE = stack


_bare = BareHandler()


def application(environ, start_response):
    if environ.get("PATH_INFO", "").startswith("/bench/"):
        return _bare(environ, start_response)
    return portal_application(environ, start_response)
