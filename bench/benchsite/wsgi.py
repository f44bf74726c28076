"""The portal's WSGI application (licensing_portal.wsgi: the Web API on its own middleware
stack) plus /bench/: the floor, a plain Django view that only signs, served with no project
middleware at all."""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchsite.settings")
django.setup(set_prefix=False)

from licensing_portal.handlers import StackHandler  # noqa: E402
from licensing_portal.wsgi import application as portal_application  # noqa: E402

_bare = StackHandler([])


def application(environ, start_response):
    if environ.get("PATH_INFO", "").startswith("/bench/"):
        return _bare(environ, start_response)
    return portal_application(environ, start_response)
