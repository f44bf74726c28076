from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from apps.accounts.access import customer_member


@customer_member("read")
def license_list(request: HttpRequest) -> HttpResponse:
    return render(request, "customer_portal/license_list.html", {})
