"""The SDK signer's wheel (sdk-signer/: `sdk-sign` and the offline verifier), which the
vendor's SDK developers page offers for download: the vendor gives it to developers and
embeds its verifier in the SDK. Built into settings.SDK_SIGNER_WHEEL_DIR by `manage.py
build_sdk_signer_wheel` (run by `make setup` and on every deploy); see apps.core.wheels."""

from __future__ import annotations

from apps.core.wheels import ClientPackage

SDK_SIGNER = ClientPackage(
    title="the SDK signer", distribution="licensing-portal-sdk-signer", source_folder="sdk-signer",
    package="sdk_signer", folder_setting="SDK_SIGNER_WHEEL_DIR",
    command="build_sdk_signer_wheel")
