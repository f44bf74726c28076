from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render

from apps.access import VendorRequest, vendor_member
from apps.licensing.machine_code_scripts import SCRIPTS


@vendor_member("read")
def machine_code_tools(request: VendorRequest) -> HttpResponse:
    return render(request, "vendor_portal/machine_code_tools.html",
                  {"scripts": list(SCRIPTS.values())})


@vendor_member("read")
def machine_code_script(request: VendorRequest, name: str) -> HttpResponse:
    script = SCRIPTS.get(name)
    if script is None:
        raise Http404
    response = HttpResponse(script.content(), content_type=script.content_type)
    response["Content-Disposition"] = f'attachment; filename="{script.name}"'
    return response


@vendor_member("read")
def tools_index(request: VendorRequest) -> HttpResponse:
    """/tools/ itself: the Tools page has one tool so far, the machine-code scripts."""
    return redirect("vendor_portal:machine_code_tools")
