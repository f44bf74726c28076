"""`python manage.py build_license_server_wheel`: build the license server's wheel, which the
vendor dashboard offers for download, from `license-server/` into LICENSE_SERVER_WHEEL_DIR.

Offline (setuptools from this environment). `make setup` runs it; run it on every deploy too,
after `pip install`. It needs no database."""

from apps.core.wheel_command import BuildWheelCommand
from apps.license_server.wheel import LICENSE_SERVER


class Command(BuildWheelCommand):
    help = "Build the license server's wheel offered in the vendor dashboard."
    package = LICENSE_SERVER
