"""The vendor's side of the customer portal: who of a customer's staff may log in, the
invitation links that let them join, and vendor-wide sign-up links.

A link's token is shown once, on the response that created it; only its digest is stored."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from apps.access import (
    VendorRequest,
    access_customer,
    access_customer_member,
    access_portal_link,
    vendor_member,
)
from apps.core.errors import DomainError
from apps.licensing.models import PortalLink
from apps.licensing.services import portal

from ..forms import PortalInvitationForm, PortalSignupLinkForm, PortalUserForm
from .common import add_domain_error, paginate


def _created(request: HttpRequest, link: PortalLink, token: str) -> HttpResponse:
    url = request.build_absolute_uri(reverse("customer_portal:join", kwargs={"token": token}))
    return render(request, "vendor_portal/portal_link_created.html", {
        "link": link, "url": url, "grants_deactivation": portal.link_grants_deactivation(link)})


@vendor_member("write")
def customer_invitation_create(request: VendorRequest, customer_id: int) -> HttpResponse:
    customer = access_customer(request.membership, customer_id, level="write")
    form = PortalInvitationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            link, token = portal.portal_link_create(
                vendor=request.vendor, actor=request.user, customer=customer,
                **form.cleaned_data)
        except DomainError as error:
            add_domain_error(form, error)
        else:
            return _created(request, link, token)
    return render(request, "vendor_portal/portal_link_form.html",
                  {"form": form, "customer": customer})


@vendor_member("read")
def portal_link_list(request: VendorRequest) -> HttpResponse:
    links = (PortalLink.objects.filter(vendor=request.vendor, customer__isnull=True)
             .select_related("created_by"))
    return render(request, "vendor_portal/portal_link_list.html",
                  {"page": paginate(request, links), "form": PortalSignupLinkForm()})


@vendor_member("write")
def portal_link_create(request: VendorRequest) -> HttpResponse:
    form = PortalSignupLinkForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            link, token = portal.portal_link_create(
                vendor=request.vendor, actor=request.user, **form.cleaned_data)
        except DomainError as error:
            add_domain_error(form, error)
        else:
            return _created(request, link, token)
    return render(request, "vendor_portal/portal_link_form.html", {"form": form})


@require_POST
@vendor_member("write")
def portal_link_revoke(request: VendorRequest, link_id: int) -> HttpResponse:
    link = access_portal_link(request.membership, link_id, level="write")
    portal.portal_link_revoke(link=link, actor=request.user)
    messages.success(request, f"“{link}” revoked: it lets nobody join any more.")
    if link.customer_id:
        return redirect("vendor_portal:customer_detail", customer_id=link.customer_id)
    return redirect("vendor_portal:portal_link_list")


@require_POST
@vendor_member("write")
def portal_user_permission(request: VendorRequest, member_id: int) -> HttpResponse:
    member = access_customer_member(request.membership, member_id, level="write")
    form = PortalUserForm(request.POST)
    form.is_valid()  # a lone optional checkbox is always valid
    portal.customer_membership_update(
        membership=member, actor=request.user,
        can_manage_activations=form.cleaned_data["can_manage_activations"])
    if member.may_deactivate:
        messages.success(request, f"{member.user.email} may deactivate devices; activation "
                                  f"management is on for {member.customer}.")
    else:
        messages.success(request, f"{member.user.email} may no longer deactivate devices.")
    return redirect("vendor_portal:customer_detail", customer_id=member.customer_id)


@require_POST
@vendor_member("write")
def portal_user_remove(request: VendorRequest, member_id: int) -> HttpResponse:
    member = access_customer_member(request.membership, member_id, level="write")
    portal.customer_membership_remove(membership=member, actor=request.user)
    messages.success(request, f"{member.user.email} can no longer log in to "
                              f"{member.customer}'s portal.")
    return redirect("vendor_portal:customer_detail", customer_id=member.customer_id)
