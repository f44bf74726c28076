import os

import django
from django.core.handlers.wsgi import WSGIHandler

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "licensing_portal.settings")
django.setup(set_prefix=False)

from licensing_portal.handlers import Application, api_handler  # noqa: E402

# get_wsgi_application() is django.setup() plus WSGIHandler(); the Web API's calls get a
# handler with a middleware stack of their own (licensing_portal/handlers.py).
application = Application(portal=WSGIHandler(), api=api_handler())
