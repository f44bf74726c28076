"""Broadcast messages: post, list (by channel, paginated) and withdraw what the vendor's
applications fetch with message/GetMessages."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages as flash
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from apps.access import VendorRequest, access_message, vendor_member
from apps.audit.log import Actor
from apps.core.errors import DomainError
from apps.licensing.models import Message
from apps.licensing.services import message_create, message_remove

from ..forms.messages import MessageForm
from .common import add_domain_error, paginate


def _list_page(request: VendorRequest, form: MessageForm) -> HttpResponse:
    channel = request.GET.get("channel", "").strip()
    listed = Message.objects.for_vendor(request.vendor).order_by("-created", "-id")
    if channel:
        listed = listed.filter(channel=channel)
    channels = (Message.objects.for_vendor(request.vendor).exclude(channel="")
                .order_by("channel").values_list("channel", flat=True).distinct())
    return render(request, "vendor_portal/message_list.html", {
        "page": paginate(request, listed), "form": form, "channel": channel,
        "channels": list(channels)})


@vendor_member("read")
def message_list(request: VendorRequest) -> HttpResponse:
    return _list_page(request, MessageForm())


@require_POST
@vendor_member("write")
def message_create_view(request: VendorRequest) -> HttpResponse:
    form = MessageForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            message_create(vendor=request.vendor, actor=Actor.for_user(request.user),
                           content=data["content"], channel=data["channel"])
        except DomainError as error:
            add_domain_error(form, error)
        else:
            flash.success(request, "Message broadcast.")
            query = urlencode({"channel": data["channel"]}) if data["channel"] else ""
            return redirect(reverse("vendor_portal:message_list") + (f"?{query}" if query
                                                                      else ""))
    return _list_page(request, form)


@require_POST
@vendor_member("write")
def message_remove_view(request: VendorRequest, message_id: int) -> HttpResponse:
    """Remove a message. A second click (a double submit) finds it gone: the list says so
    rather than a 404 page. Another vendor's id gets the very same answer, revealing nothing."""
    try:
        message = access_message(request.membership, message_id, level="write")
    except Http404:
        flash.info(request, "That message was already removed.")
        return redirect("vendor_portal:message_list")
    message_remove(message=message, actor=Actor.for_user(request.user))
    flash.success(request, "Message removed: applications no longer receive it.")
    return redirect("vendor_portal:message_list")
