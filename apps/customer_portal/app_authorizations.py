"""Applications a person of the customer authorized to read the customer's licenses
(Cryptolens' user account authorization; the API side is apps/api/methods/user_account.py).

/User/AuthorizeApp/ is where the .NET client (UserAccountAuth/AuthMethods.cs, CreateAuthRequest)
sends the browser: it forwards, query and all, to the portal's approval page."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from apps.access import (
    CustomerRequest,
    access_authorizing_membership,
    access_customer_app_authorization,
    customer_member,
)
from apps.audit.log import Actor
from apps.core.errors import DomainError
from apps.licensing.models import AppAuthorization
from apps.licensing.services.app_authorizations import (
    CLAIM_MINUTES,
    app_authorization_approve,
    app_authorization_revoke,
    authorize_request_parse,
)


def authorize_app_redirect(request: HttpRequest) -> HttpResponse:
    """Public: Cryptolens' address of the approval page, kept so the client works unchanged."""
    query = request.META.get("QUERY_STRING", "")
    url = reverse("customer_portal:app_authorize")
    return HttpResponseRedirect(f"{url}?{query}" if query else url)


@customer_member("read")
def app_authorize(request: CustomerRequest) -> HttpResponse:
    """Show what the application asks for; approve (stores the approval) or refuse (stores
    nothing). The query stays in the URL, so the form posts back to the same address."""
    try:
        asked = authorize_request_parse(request.GET.dict())
    except DomainError as error:
        return render(request, "customer_portal/app_authorize_invalid.html",
                      {"reason": error.message}, status=400)
    found = access_authorizing_membership(request, asked.token_id)
    if found is None:
        return render(request, "customer_portal/app_authorize_invalid.html", {
            "reason": "This application does not belong to a vendor whose customer you are."},
            status=404)
    token, membership = found
    # The page speaks for the customer of the token's vendor, whichever one the portal shows.
    request.customer_membership, request.customer = membership, membership.customer
    if request.method == "POST":
        if request.POST.get("decision") != "approve":
            messages.info(request, f"You refused “{asked.app_name}”. It gets nothing.")
            return redirect("customer_portal:app_authorization_list")
        try:
            app_authorization_approve(request=asked, membership=membership, token=token,
                                      user=request.user)
        except DomainError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, f"“{asked.app_name}” is authorized. You can close this "
                                      "window and go back to the application.")
            return redirect("customer_portal:app_authorization_list")
    return render(request, "customer_portal/app_authorize.html", {
        "asked": asked, "customer": membership.customer, "vendor": token.vendor,
        "claim_minutes": CLAIM_MINUTES})


@customer_member("read")
def app_authorization_list(request: CustomerRequest) -> HttpResponse:
    return render(request, "customer_portal/app_authorization_list.html", {
        "authorizations": AppAuthorization.objects.for_customer(request.customer)
        .select_related("user").order_by("-created", "-id")[:200]})


@require_POST
@customer_member("read")
def app_authorization_revoke_view(request: CustomerRequest, authorization_id: int
                                  ) -> HttpResponse:
    authorization = access_customer_app_authorization(request.customer_membership,
                                                      authorization_id)
    app_authorization_revoke(authorization=authorization, actor=Actor.for_user(request.user))
    messages.success(request, f"“{authorization.app_name}” is revoked: its token no longer "
                              "works.")
    return redirect("customer_portal:app_authorization_list")
