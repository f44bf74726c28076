from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from apps.accounts.access import vendor_member


@vendor_member("read")
def machine_code_tools(request: HttpRequest) -> HttpResponse:
    return render(request, "vendor_portal/machine_code_tools.html", {})
