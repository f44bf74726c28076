"""The vendor's broadcast messages page: post, list by channel (paginated), remove; what the
Web API's message/GetMessages then answers."""

from __future__ import annotations

import datetime as dt
import re

from django.test import Client
from django.urls import reverse

from apps.audit.log import Actor
from apps.audit.models import ObjectLogEntry
from apps.licensing.models import Message
from apps.licensing.services import message_create, token_create

LIST = reverse("vendor_portal:message_list")
CREATE = reverse("vendor_portal:message_create")
SYSTEM = Actor.for_system("test")
ALREADY_REMOVED = "That message was already removed."


def _remove_url(message: Message) -> str:
    return reverse("vendor_portal:message_remove", args=[message.pk])


def test_owner_broadcasts_a_message(tenant, owner_client):
    response = owner_client.post(CREATE, {"content": "Version 2.0 is out", "channel": "stable"})

    assert response.status_code == 302
    assert response["Location"] == f"{LIST}?channel=stable"
    message = Message.objects.get()
    assert (message.vendor, message.content, message.channel) == (
        tenant.vendor, "Version 2.0 is out", "stable")
    entry = ObjectLogEntry.objects.for_object(message).get(action="message created")
    assert entry.actor_label == tenant.owner.email
    page = owner_client.get(response["Location"])
    assert "Version 2.0 is out" in page.content.decode()


def test_a_message_without_content_is_refused_on_the_form(tenant, owner_client):
    response = owner_client.post(CREATE, {"content": "", "channel": "stable"})

    assert response.status_code == 200
    assert response.context["form"].errors["content"]
    response = owner_client.post(CREATE, {"content": "x", "channel": "c" * 101})
    assert response.context["form"].errors["channel"]
    assert not Message.objects.exists()


def test_the_list_filters_by_channel_and_pages_newest_first(tenant, owner_client):
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    for n in range(27):
        message_create(vendor=tenant.vendor, actor=SYSTEM, content=f"stable news {n}",
                       channel="stable", created=start + dt.timedelta(hours=n))
    message_create(vendor=tenant.vendor, actor=SYSTEM, content="beta news", channel="beta",
                   created=start)

    first = owner_client.get(LIST, {"channel": "stable"})
    assert [m.content for m in first.context["page"]][:2] == ["stable news 26",
                                                            "stable news 25"]
    assert first.context["page"].paginator.count == 27
    assert first.context["channels"] == ["beta", "stable"]
    second = owner_client.get(LIST, {"channel": "stable", "page": 2})
    assert [m.content for m in second.context["page"]] == ["stable news 1", "stable news 0"]
    everything = owner_client.get(LIST)
    assert everything.context["page"].paginator.count == 28


def test_owner_removes_a_message_and_applications_no_longer_get_it(tenant, owner_client):
    token = token_create(vendor=tenant.vendor, actor=SYSTEM, name="app",
                         permissions=["message.GetMessages"])[1]
    message = message_create(vendor=tenant.vendor, actor=SYSTEM, content="recalled")

    response = owner_client.post(_remove_url(message))

    assert response.status_code == 302
    assert not Message.objects.exists()
    assert ObjectLogEntry.objects.filter(action="message removed",
                                         object_id=str(message.pk)).exists()
    body = Client().post("/api/message/GetMessages", {"token": token}).json()
    assert body["result"] == 0 and body["messages"] == []


def test_read_only_member_reads_but_may_not_post_or_remove(tenant, read_only_client):
    message = message_create(vendor=tenant.vendor, actor=SYSTEM, content="kept")

    page = read_only_client.get(LIST)
    assert page.status_code == 200 and "kept" in page.content.decode()
    assert CREATE not in page.content.decode()  # no form to post with
    assert read_only_client.post(CREATE, {"content": "nope"}).status_code == 403
    assert read_only_client.post(_remove_url(message)).status_code == 403
    assert list(Message.objects.values_list("content", flat=True)) == ["kept"]


def test_another_vendor_neither_sees_nor_removes_the_messages(tenant, other_tenant,
                                                              other_vendor_client):
    ours = message_create(vendor=tenant.vendor, actor=SYSTEM, content="ours only")

    assert "ours only" not in other_vendor_client.get(LIST).content.decode()
    # The same answer as for a message that does not exist (or no longer does): nothing told.
    response = other_vendor_client.post(_remove_url(ours), follow=True)
    assert response.redirect_chain == [(LIST, 302)]
    assert [str(m) for m in response.context["messages"]] == [ALREADY_REMOVED]
    assert Message.objects.filter(pk=ours.pk).exists()
    assert not ObjectLogEntry.objects.filter(action="message removed").exists()
    other_vendor_client.post(CREATE, {"content": "theirs"})
    assert Message.objects.get(content="theirs").vendor == other_tenant.vendor


def test_removing_a_removed_message_again_says_so_on_the_list(tenant, owner_client):
    message = message_create(vendor=tenant.vendor, actor=SYSTEM, content="twice")
    owner_client.post(_remove_url(message))  # the first click of a double submit

    response = owner_client.post(_remove_url(message), follow=True)

    assert response.redirect_chain == [(LIST, 302)]
    # Both clicks' notes, as a double submit shows them: the first one's, then this one.
    assert [str(m) for m in response.context["messages"]][-1] == ALREADY_REMOVED
    assert ObjectLogEntry.objects.filter(action="message removed").count() == 1


def test_a_read_only_member_is_refused_even_for_a_missing_message(tenant, read_only_client):
    response = read_only_client.post(reverse("vendor_portal:message_remove", args=[999999]))
    assert response.status_code == 403


def test_after_a_refused_post_the_filter_and_the_pages_go_to_the_list(tenant, owner_client):
    for n in range(30):
        message_create(vendor=tenant.vendor, actor=SYSTEM, content=f"news {n}")

    response = owner_client.post(CREATE, {"content": "", "channel": "stable"})

    assert response.status_code == 200  # shown at /messages/new/, which answers POST only
    html = response.content.decode()
    search = re.search(r'<form method="get"[^>]*role="search"[^>]*>', html)
    assert search and f'action="{LIST}"' in search.group(0)
    pages = re.findall(r'<nav class="pagination".*?</nav>', html, re.S)
    assert pages and re.findall(r'href="([^"]*)"', pages[0]) == [f"{LIST}?page=2"]
    assert owner_client.get(f"{LIST}?page=2").status_code == 200
