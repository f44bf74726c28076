"""message/CreateMessage, GetMessages, RemoveMessage through the official Python client
(`licensing` 0.54: `Message.create_message` and `remove_message` are plain functions of the
class, not static methods, and are called on the class as below) against a live server."""

from __future__ import annotations

import datetime as dt

from licensing.methods import Message as MessageApi

from apps.api import errors
from apps.api.methods.message import MESSAGE_NOT_FOUND, TIME_FORMAT
from apps.audit.log import Actor
from apps.audit.models import ObjectLogEntry
from apps.licensing.api_methods import API_METHODS
from apps.licensing.models import Message
from apps.licensing.services import message_create, token_create
from tests.factories import make_key, make_vendor
from tests.licensing.keypool import pooled_signing_keys  # noqa: F401

SYSTEM = Actor.for_system("test")


def _at(unix: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(unix, tz=dt.UTC)


def test_create_message_returns_its_id_and_broadcasts_it(server):
    message_id, error = MessageApi.create_message(server.token, content="v2.0 is out",
                                                  channel="stable")

    assert error == ""
    message = Message.objects.get(pk=message_id)
    assert (message.vendor, message.content, message.channel) == (
        server.vendor, "v2.0 is out", "stable")
    assert abs((message.created - dt.datetime.now(dt.UTC)).total_seconds()) < 60
    entry = ObjectLogEntry.objects.get(object_type="licensing.message")
    assert (entry.vendor_id, entry.action, entry.actor_type) == (
        server.vendor.pk, "message created", "token")


def test_create_message_dated_by_time(server):
    message_id, _ = MessageApi.create_message(server.token, content="old news", time=1537815312)
    assert Message.objects.get(pk=message_id).created == _at(1537815312)


def test_get_messages_answers_cryptolens_message_objects(server):
    message = message_create(vendor=server.vendor, actor=SYSTEM, content="v401 is available",
                             channel="stable", created=_at(1537815312))

    messages, error = MessageApi.get_messages(server.token)

    assert error == ""
    # The GetMessages page's example:
    # {"id":13,"content":"v401 is now available…","created":1537815312,"channel":"stable"}
    assert messages == [{"id": message.pk, "content": "v401 is available",
                         "created": 1537815312, "channel": "stable"}]


def test_get_messages_filters_by_channel_and_strictly_newer_time(server):
    for content, channel, at in [("old stable", "stable", 1000), ("new stable", "stable", 2000),
                                 ("new beta", "beta", 2000), ("newest stable", "stable", 3000),
                                 ("no channel", "", 2500)]:
        message_create(vendor=server.vendor, actor=SYSTEM, content=content, channel=channel,
                       created=_at(at))

    def contents(**params) -> list[str]:
        messages, error = MessageApi.get_messages(server.token, **params)
        assert error == ""
        return [m["content"] for m in messages]

    # Newest first; of two at the same time, the later posted first.
    assert contents() == ["newest stable", "no channel", "new beta", "new stable",
                          "old stable"]
    assert contents(channel="stable") == ["newest stable", "new stable", "old stable"]
    assert contents(channel="stable", time=2000) == ["newest stable"]  # strictly greater
    assert contents(time=1999) == ["newest stable", "no channel", "new beta", "new stable"]
    assert contents(channel="nightly") == []


def test_remove_message(server):
    message_id, _ = MessageApi.create_message(server.token, content="recalled", channel="beta")

    assert MessageApi.remove_message(server.token, message_id) == (True, "")

    assert not Message.objects.filter(pk=message_id).exists()
    assert MessageApi.get_messages(server.token) == ([], "")
    assert ObjectLogEntry.objects.filter(action="message removed",
                                         object_id=str(message_id)).count() == 1
    assert MessageApi.remove_message(server.token, message_id) == (None, MESSAGE_NOT_FOUND)


def test_remove_message_without_an_id_is_incorrect_input(server):
    assert server.post("/message/RemoveMessage/") == {
        "result": 1, "message": errors.INCORRECT_INPUT}
    assert server.post("/message/RemoveMessage/", Id="seven")["message"] == \
        errors.INCORRECT_INPUT


def test_another_vendors_token_neither_sees_nor_removes_the_messages(server):
    ours = message_create(vendor=server.vendor, actor=SYSTEM, content="ours", channel="stable")
    other_vendor = make_vendor("Other messages vendor")
    theirs = message_create(vendor=other_vendor, actor=SYSTEM, content="theirs",
                            channel="stable")
    other_token = token_create(vendor=other_vendor, actor=SYSTEM, name="all",
                               permissions=API_METHODS)[1]

    assert MessageApi.get_messages(other_token) == ([
        {"id": theirs.pk, "content": "theirs", "created": int(theirs.created.timestamp()),
         "channel": "stable"}], "")
    assert MessageApi.remove_message(other_token, ours.pk) == (None, MESSAGE_NOT_FOUND)
    assert Message.objects.filter(pk=ours.pk).exists()
    assert [m["content"] for m in MessageApi.get_messages(server.token)[0]] == ["ours"]


def test_any_locked_token_reads_messages_but_a_key_locked_one_cannot_post(server):
    message_create(vendor=server.vendor, actor=SYSTEM, content="hello", channel="")
    key = make_key(server.product)
    methods = ["message.GetMessages", "message.CreateMessage", "message.RemoveMessage"]
    key_locked = server.token_for(methods, locked_key=key, product=server.product)
    key_lock_minus_one = server.token_for(methods, key_lock_required=True)
    product_locked = server.token_for(methods, product=server.product)

    for token in (key_locked, key_lock_minus_one, product_locked):
        messages, error = MessageApi.get_messages(token)
        assert (error, [m["content"] for m in messages]) == ("", ["hello"])
    for token in (key_locked, key_lock_minus_one):
        assert MessageApi.create_message(token, content="spoof") == (None, errors.ACCESS_DENIED)
    assert MessageApi.create_message(product_locked, content="from the product team")[1] == ""
    assert not Message.objects.filter(content="spoof").exists()


def test_each_method_needs_its_own_permission(server):
    message = message_create(vendor=server.vendor, actor=SYSTEM, content="kept")
    token = server.token_for(["message.GetMessages"])

    assert MessageApi.create_message(token, content="x") == (None, errors.ACCESS_DENIED)
    assert MessageApi.remove_message(token, message.pk) == (None, errors.ACCESS_DENIED)
    assert Message.objects.filter(pk=message.pk).exists()
    reader_less = server.token_for(["message.CreateMessage"])
    assert MessageApi.get_messages(reader_less) == (None, errors.ACCESS_DENIED)


def test_a_time_that_is_no_unix_timestamp_gets_cryptolens_error(server):
    for method in ("/message/GetMessages", "/message/CreateMessage"):
        for bad in ("yesterday", "-5", "1.5", "99999999999999"):
            assert server.post(method, Content="x", Time=bad) == {
                "result": 1, "message": TIME_FORMAT}, (method, bad)
    assert not Message.objects.exists()


def test_too_long_content_or_channel_is_incorrect_input(server):
    assert MessageApi.create_message(server.token, content="x" * 10001) == (
        None, errors.INCORRECT_INPUT)
    assert MessageApi.create_message(server.token, content="x", channel="c" * 101) == (
        None, errors.INCORRECT_INPUT)
    assert MessageApi.create_message(server.token, content="x" * 10000,
                                     channel="c" * 100)[1] == ""
    assert Message.objects.count() == 1
