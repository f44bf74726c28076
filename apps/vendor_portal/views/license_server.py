"""License-server configurations: list, issue (the signed file is shown once), detail with
the server's public key and the vendor public key the server pins, revoke; and the license
server's wheel, offered next to them."""

from __future__ import annotations

import base64

from django.conf import settings
from django.contrib import messages
from django.http import FileResponse, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from apps.access import VendorRequest, access_license_server_configuration, vendor_member
from apps.audit.log import Actor
from apps.core.errors import DomainError
from apps.license_server.models import LicenseServerConfiguration
from apps.license_server.selectors import vendor_public_key_xml
from apps.license_server.services import (
    license_server_configuration_create,
    license_server_configuration_revoke,
    public_key_xml,
    resolve_keys,
)
from apps.license_server.wheel import LICENSE_SERVER
from apps.licensing.models import Customer

from ..forms.license_server import LicenseServerConfigurationForm
from .common import add_domain_error, client_wheel


@vendor_member("read")
def license_server_list(request: VendorRequest) -> HttpResponse:
    configurations = (LicenseServerConfiguration.objects.for_vendor(request.vendor)
                      .select_related("customer").prefetch_related("keys"))
    return render(request, "vendor_portal/license_server_list.html",
                  {"configurations": configurations, **_wheel()})


@vendor_member("write")
def license_server_create(request: VendorRequest) -> HttpResponse:
    form = LicenseServerConfigurationForm(
        request.POST or None, customers=Customer.objects.for_vendor(request.vendor))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            configuration, text = license_server_configuration_create(
                vendor=request.vendor, actor=Actor.for_user(request.user), name=data["name"],
                customer=data["customer"], valid_until=data["valid_until"],
                keys=resolve_keys(vendor=request.vendor, lines=data["keys"]),
                portal_url=settings.LICENSE_SERVER_PORTAL_URL
                or request.build_absolute_uri("/").rstrip("/"))
        except DomainError as error:
            add_domain_error(form, error)
        else:
            # The file holds the server's private key: shown on this response only.
            return render(request, "vendor_portal/license_server_created.html", {
                "configuration": configuration, "file_text": text,
                "file_b64": base64.b64encode(text.encode()).decode(),
                "public_key_xml": public_key_xml(configuration),
                **_vendor_key(configuration), **_wheel()})
    return render(request, "vendor_portal/license_server_form.html", {"form": form})


@vendor_member("read")
def license_server_detail(request: VendorRequest, configuration_id: int) -> HttpResponse:
    configuration = access_license_server_configuration(request.membership, configuration_id)
    return render(request, "vendor_portal/license_server_detail.html", {
        "configuration": configuration,
        "keys": configuration.keys.select_related("product"),
        "public_key_xml": public_key_xml(configuration), **_vendor_key(configuration),
        **_wheel()})


def _vendor_key(configuration: LicenseServerConfiguration) -> dict[str, str]:
    """The key the customer pins in the license server (it never trusts the one in the file)."""
    xml = vendor_public_key_xml(configuration)
    return {"vendor_key_xml": xml, "vendor_key_b64": base64.b64encode(xml.encode()).decode()}


def _wheel() -> dict[str, str]:
    """The license server's wheel offered beside the configuration files, or how to build it."""
    wheel = LICENSE_SERVER.built()
    return {"server_wheel": wheel.name if wheel else "",
            "wheel_build_command": LICENSE_SERVER.build_command}


@vendor_member("read")
def license_server_wheel(request: VendorRequest) -> HttpResponse | FileResponse:
    """The license server's wheel, or the page saying how to build it (common.client_wheel)."""
    return client_wheel(request, LICENSE_SERVER, "vendor_portal/license_server_wheel_missing.html",
                        _wheel())


@require_POST
@vendor_member("write")
def license_server_revoke(request: VendorRequest, configuration_id: int) -> HttpResponse:
    configuration = access_license_server_configuration(request.membership, configuration_id,
                                                        level="write")
    license_server_configuration_revoke(configuration=configuration,
                                        actor=Actor.for_user(request.user))
    messages.success(request, f"Configuration “{configuration.name}” revoked.")
    return redirect("vendor_portal:license_server_list")
