"""License files and bulk activation on a key's page."""

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render

from apps.access import VendorRequest, access_key, vendor_member
from apps.audit.log import Actor
from apps.core.errors import DomainError
from apps.licensing.license_files import FORMATS, license_file
from apps.licensing.services.offline import activation_add, bulk_activate, bulk_preview
from apps.licensing.services.seats import Device

from ..forms import BulkActivationForm, LicenseFileForm
from .common import add_domain_error

PREVIEW_ROWS = 500


def _file_response(file) -> HttpResponse:
    response = HttpResponse(file.content, content_type=file.content_type)
    response["Content-Disposition"] = f'attachment; filename="{file.filename}"'
    return response


@vendor_member("write")
def license_file_download(request: VendorRequest, key_id: int) -> HttpResponse:
    """Make a license file: for one device (activated first if needed) or for all devices."""
    key = access_key(request.membership, key_id, level="write")
    form = LicenseFileForm(request.POST or None, formats=FORMATS,
                           initial={"machine_code": request.GET.get("machine_code", "")})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            current = None
            if data["machine_code"]:
                current, _ = activation_add(
                    key=key, device=Device(data["machine_code"], data["friendly_name"]),
                    actor=Actor.for_user(request.user), by_vendor=True)
        except DomainError as error:
            add_domain_error(form, error)
        else:
            return _file_response(license_file(key=key, current=current,
                                               file_format=data["file_format"]))
    return render(request, "vendor_portal/license_file.html",
                  {"form": form, "key": key, "product": key.product})


@vendor_member("write")
def bulk_activation(request: VendorRequest, key_id: int) -> HttpResponse:
    """Paste or upload machine codes, preview line by line, then commit all at once."""
    key = access_key(request.membership, key_id, level="write")
    form = BulkActivationForm(request.POST or None, request.FILES or None)
    preview = None
    if request.method == "POST" and form.is_valid():
        text, new_limit = form.cleaned_data["lines"], form.cleaned_data["new_limit"]
        try:
            if request.POST.get("action") == "commit":
                done = bulk_activate(key=key, text=text, new_limit=new_limit,
                                     actor=Actor.for_user(request.user))
                messages.success(request, f"Activated {len(done.to_activate)} device(s).")
                return redirect("vendor_portal:key_detail", key_id=key.pk)
            preview = bulk_preview(key=key, text=text, new_limit=new_limit)
        except DomainError as error:
            messages.error(request, error.message)
            if request.POST.get("action") == "commit":
                preview = _safe_preview(key, text, new_limit)
        # The pasted lines go back into the form, so Commit posts exactly what was previewed.
        form = BulkActivationForm(initial={"lines": text, "new_limit": new_limit})
    return render(request, "vendor_portal/bulk_activation.html", {
        "form": form, "key": key, "product": key.product, "preview": preview,
        "rows": _rows(preview),
    })


def _safe_preview(key, text: str, new_limit):
    try:
        return bulk_preview(key=key, text=text, new_limit=new_limit)
    except DomainError:
        return None


def _rows(preview) -> list:
    """The lines worth showing: every problem line first, then new ones, at most 500."""
    if preview is None:
        return []
    problems = [line for line in preview.lines if line.status != "new"]
    fresh = [line for line in preview.lines if line.status == "new"]
    return (problems + fresh)[:PREVIEW_ROWS]
