"""Resellers (vendor side): invitations, issuance rights, their keys and log, billing."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.db.models import QuerySet
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from apps.access import VendorRequest, access_reseller, access_right, vendor_member
from apps.accounts.models import Reseller
from apps.audit.log import Actor
from apps.core.csvexport import csv_response
from apps.core.errors import DomainError
from apps.licensing import selectors_resellers as selectors
from apps.licensing.models import IssuanceRight, LicenseTemplate
from apps.licensing.services.resellers import (
    billing_report,
    reseller_invitation_send,
    right_grant,
    right_update,
)
from apps.licensing.services.resellers import (
    reseller_invitation_resend as resend_invitation,
)

from ..forms import DateRangeForm, ResellerInviteForm, RightChangeForm, RightGrantForm
from .common import add_domain_error, invitation_sent, paginate, token_url_template


@vendor_member("read")
def reseller_list(request: VendorRequest) -> HttpResponse:
    return render(request, "vendor_portal/reseller_list.html",
                  {"resellers": selectors.reseller_list(vendor=request.vendor)})


def _accept_url_template(request: VendorRequest) -> str:
    return token_url_template(request, "reseller_portal:accept")


def _sent(request: VendorRequest, reseller: Reseller, link: str, *,
          resent: bool = False) -> HttpResponse:
    return invitation_sent(
        request, email=reseller.email, url=link, expires_at=reseller.invite_expires_at,
        what=f"resell {request.vendor.name}'s software as {reseller.name}",
        back_url=reverse("vendor_portal:reseller_detail", args=[reseller.pk]),
        back_label=reseller.name,
        resend_url=reverse("vendor_portal:reseller_invitation_resend", args=[reseller.pk]),
        resent=resent)


@vendor_member("write")
def reseller_invite_view(request: VendorRequest) -> HttpResponse:
    form = ResellerInviteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            reseller, link = reseller_invitation_send(
                vendor=request.vendor, actor=request.user,
                accept_url_template=_accept_url_template(request), **form.cleaned_data)
        except DomainError as error:
            add_domain_error(form, error)
        else:
            return _sent(request, reseller, link)
    return render(request, "vendor_portal/reseller_invite.html", {"form": form})


@require_POST
@vendor_member("write")
def reseller_invitation_resend(request: VendorRequest, reseller_id: int) -> HttpResponse:
    reseller = access_reseller(request.membership, reseller_id, level="write")
    try:
        link = resend_invitation(reseller=reseller, actor=request.user,
                                 accept_url_template=_accept_url_template(request))
    except DomainError as error:
        messages.error(request, error.message)
        return redirect("vendor_portal:reseller_detail", reseller_id=reseller.pk)
    reseller.refresh_from_db()
    return _sent(request, reseller, link, resent=True)


def _templates(request: VendorRequest) -> QuerySet[LicenseTemplate]:
    return LicenseTemplate.objects.for_vendor(request.vendor).select_related("product")


@vendor_member("read")
def reseller_detail(request: VendorRequest, reseller_id: int) -> HttpResponse:
    reseller = access_reseller(request.membership, reseller_id)
    return render(request, "vendor_portal/reseller_detail.html", {
        "reseller": reseller, "rights": selectors.reseller_rights(reseller=reseller),
        "keys": paginate(request, selectors.reseller_keys(reseller=reseller)),
        "grant_form": RightGrantForm(templates=_templates(request)), "now": timezone.now(),
    })


@vendor_member("read")
def reseller_log(request: VendorRequest, reseller_id: int) -> HttpResponse:
    reseller = access_reseller(request.membership, reseller_id)
    return render(request, "vendor_portal/reseller_log.html", {
        "reseller": reseller,
        "page": paginate(request, selectors.reseller_log(reseller=reseller), 50)})


def _end_of(day: dt.date | None) -> dt.datetime | None:
    """A right valid until a date runs to the start of that day (the vendor's time zone)."""
    if day is None:
        return None
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


@vendor_member("write")
def right_grant_view(request: VendorRequest, reseller_id: int) -> HttpResponse:
    reseller = access_reseller(request.membership, reseller_id, level="write")
    form = RightGrantForm(request.POST or None, templates=_templates(request))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            right_grant(reseller=reseller, template=data["template"], quota=data["quota"],
                        valid_until=_end_of(data["valid_until"]), name=data["name"],
                        actor=Actor.for_user(request.user))
        except DomainError as error:
            add_domain_error(form, error)
        else:
            messages.success(request, f"Granted {data['quota']} licenses of "
                                      f"“{data['template']}”.")
            return redirect("vendor_portal:reseller_detail", reseller_id=reseller.pk)
    return render(request, "vendor_portal/reseller_grant.html", {"form": form,
                                                              "reseller": reseller})


RIGHT_CHANGES = {"pause": IssuanceRight.PAUSED, "resume": IssuanceRight.ACTIVE,
                 "stop": IssuanceRight.STOPPED}


@require_POST
@vendor_member("write")
def right_change(request: VendorRequest, right_id: int) -> HttpResponse:
    right = access_right(request.membership, right_id, level="write")
    form = RightChangeForm(request.POST)
    try:
        if not form.is_valid():
            raise DomainError(" ".join(str(e) for errs in form.errors.values() for e in errs))
        action = form.cleaned_data["action"]
        fields = ({"quota": form.cleaned_data["quota"]} if action == "quota"
                  else {"status": RIGHT_CHANGES[action]})
        right_update(right=right, actor=Actor.for_user(request.user), **fields)
        messages.success(request, f"Right “{right}”: {right.issued} of {right.quota} issued, "
                                  f"{right.get_status_display().lower()}.")
    except DomainError as error:
        messages.error(request, error.message)
    return redirect("vendor_portal:reseller_detail", reseller_id=right.reseller_id)


@vendor_member("read")
def billing(request: VendorRequest) -> HttpResponse:
    form = DateRangeForm(request.GET or None)
    since = until = None
    if form.is_valid():
        since = _end_of(form.cleaned_data["since"])
        until_day = form.cleaned_data["until"]
        until = _end_of(until_day + dt.timedelta(days=1)) if until_day else None
    rows = billing_report(vendor=request.vendor, since=since, until=until)
    if request.GET.get("format") == "csv":
        return csv_response(
            "billing.csv", ["Reseller", "Company", "Month", "Template", "Licenses issued"],
            ([r["reseller__name"], r["reseller__company"], f"{r['month']:%Y-%m}",
              r["template__name"], r["count"]] for r in rows))
    return render(request, "vendor_portal/billing_report.html", {
        "form": form, "rows": rows, "total": sum(r["count"] for r in rows),
        "query": request.GET.urlencode()})
