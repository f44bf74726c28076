"""The license server's wheel, which the vendor dashboard offers for download: built from the
`license-server/` source into settings.LICENSE_SERVER_WHEEL_DIR by `manage.py
build_license_server_wheel` (run by `make setup` and on every deploy); see apps.core.wheels."""

from apps.core.wheels import ClientPackage

LICENSE_SERVER = ClientPackage(
    title="the license server", distribution="licensing-portal-license-server",
    source_folder="license-server", package="license_server",
    folder_setting="LICENSE_SERVER_WHEEL_DIR", command="build_license_server_wheel")
