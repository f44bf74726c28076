"""`python manage.py build_sdk_signer_wheel`: build the SDK signer's wheel, which the SDK
licensing pages offer for download, from `sdk-signer/` into SDK_SIGNER_WHEEL_DIR.

Offline (setuptools from this environment). `make setup` runs it; run it on every deploy too,
after `pip install`. It needs no database."""

from apps.core.wheel_command import BuildWheelCommand
from apps.sdk_licensing.wheel import SDK_SIGNER


class Command(BuildWheelCommand):
    help = "Build the SDK signer's wheel offered on the SDK licensing pages."
    package = SDK_SIGNER
