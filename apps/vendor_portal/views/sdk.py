"""SDK licensing, per product: the developer machines that signed applications with the
product's SDK (revoke one, or allow it again) and the signatures each made, with their
application fingerprints (CSV too)."""

from __future__ import annotations

from django.contrib import messages
from django.db.models import QuerySet
from django.http import FileResponse, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from apps.access import VendorRequest, access_developer_machine, access_product, vendor_member
from apps.audit.log import Actor
from apps.licensing.models import Product
from apps.sdk_licensing import selectors
from apps.sdk_licensing.models import DeveloperMachine, SdkCertificate
from apps.sdk_licensing.services import developer_machine_restore, developer_machine_revoke
from apps.sdk_licensing.wheel import SDK_SIGNER

from ..forms import SearchForm
from .common import client_wheel, csv_response, paginate


def _query(request: VendorRequest) -> str:
    search = SearchForm(request.GET)
    return search.cleaned_data["q"].strip() if search.is_valid() else ""


def _machine_id(request: VendorRequest) -> int | None:
    """`?machine=<id>`; anything but a plain number (or a number past any id) filters
    nothing."""
    value = request.GET.get("machine", "")
    return int(value) if value.isascii() and value.isdigit() and len(value) <= 18 else None


@vendor_member("read")
def sdk_machine_list(request: VendorRequest, product_id: int) -> HttpResponse:
    product = access_product(request.membership, product_id)
    query = _query(request)
    page = paginate(request, selectors.machine_list(product=product, query=query))
    page.object_list = selectors.attach_keys_used(page.object_list)
    return render(request, "vendor_portal/sdk_machine_list.html", {
        "product": product, "page": page, "query": query,
        "signed_any": bool(query) or page.paginator.count > 0,
        "portal_url": request.build_absolute_uri("/").rstrip("/"), **_wheel()})


def _wheel() -> dict[str, str]:
    """The SDK signer's wheel offered in the set-up box, or how to build it."""
    wheel = SDK_SIGNER.built()
    return {"signer_wheel": wheel.name if wheel else "",
            "wheel_build_command": SDK_SIGNER.build_command}


@vendor_member("read")
def sdk_signer_wheel(request: VendorRequest) -> HttpResponse | FileResponse:
    """The SDK signer's wheel (`sdk-sign` and the verifier), or the page saying how to build
    it (common.client_wheel)."""
    return client_wheel(request, SDK_SIGNER, "vendor_portal/sdk_signer_wheel_missing.html",
                        _wheel())


@vendor_member("read")
def sdk_certificate_list(request: VendorRequest, product_id: int) -> HttpResponse:
    """The product's signatures, newest first; `machine` narrows them to one developer
    machine, `q` searches, `format=csv` exports every match."""
    product = access_product(request.membership, product_id)
    machine_id = _machine_id(request)
    machine = None if machine_id is None else \
        access_developer_machine(request.membership, product, machine_id)
    query = _query(request)
    certificates = selectors.certificate_list(product=product, machine=machine, query=query)
    if request.GET.get("format") == "csv":
        return _certificates_csv(product, machine, certificates)
    return render(request, "vendor_portal/sdk_certificate_list.html", {
        "product": product, "machine": machine, "query": query,
        "page": paginate(request, certificates)})


def _certificates_csv(product: Product, machine: DeveloperMachine | None,
                      certificates: QuerySet[SdkCertificate]) -> HttpResponse:
    name = f"sdk-signatures-product-{product.pk}{f'-machine-{machine.pk}' if machine else ''}"
    return csv_response(
        f"{name}.csv",
        ["Signed at (UTC)", "Machine code", "Friendly name", "Key", "Application",
         "Fingerprint", "Algorithm", "License expires (UTC)", "IP", "Certificate ID"],
        ([c.signed_at.isoformat(), c.machine.machine_code, c.machine.friendly_name,
          c.key_string, c.application_name, c.fingerprint, c.algorithm,
          c.license_expires.isoformat() if c.license_expires else "", c.ip or "", c.pk]
         for c in certificates.iterator()),
    )


def _back(request: VendorRequest, machine: DeveloperMachine) -> HttpResponse:
    """Back to the page the button was on: the machine's signatures, or the machine list."""
    if request.POST.get("back") == "signatures":
        url = reverse("vendor_portal:sdk_certificate_list", args=[machine.product_id])
        return redirect(f"{url}?machine={machine.pk}")
    return redirect("vendor_portal:sdk_machine_list", product_id=machine.product_id)


@require_POST
@vendor_member("write")
def sdk_machine_revoke(request: VendorRequest, product_id: int, machine_id: int
                       ) -> HttpResponse:
    product = access_product(request.membership, product_id, level="write")
    machine = access_developer_machine(request.membership, product, machine_id, level="write")
    if machine.revoked:  # a second click, or another member was first
        messages.info(request, f"“{machine}” was already revoked.")
        return _back(request, machine)
    seats = developer_machine_revoke(machine=machine, actor=Actor.for_user(request.user))
    kept = (f" Its seat on the key stays taken ({seats}): free it on the key's page to let "
            f"the developer sign on another machine." if seats else "")
    messages.success(request, f"Revoked “{machine}”: it can sign no more applications. "
                              f"Certificates it already made stay valid until their license "
                              f"expires.{kept}")
    return _back(request, machine)


@require_POST
@vendor_member("write")
def sdk_machine_restore(request: VendorRequest, product_id: int, machine_id: int
                        ) -> HttpResponse:
    product = access_product(request.membership, product_id, level="write")
    machine = access_developer_machine(request.membership, product, machine_id, level="write")
    if not machine.revoked:
        messages.info(request, f"“{machine}” may already sign.")
        return _back(request, machine)
    developer_machine_restore(machine=machine, actor=Actor.for_user(request.user))
    messages.success(request, f"“{machine}” may sign again.")
    return _back(request, machine)
