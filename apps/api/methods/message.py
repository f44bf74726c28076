"""message/* methods: in-app messages a vendor broadcasts on channels (Cryptolens' Message
API; app.cryptolens.io/docs/api/v3/GetMessages, CreateMessage, RemoveMessage; .NET
`MessageObject` {Id, Content, Created (unix seconds), Channel})."""

from __future__ import annotations

import datetime as dt
from typing import Any

from apps.core.errors import DomainError
from apps.licensing.license_payload import unix
from apps.licensing.models import Message
from apps.licensing.services.messages import (
    MAX_CHANNEL,
    MAX_CONTENT,
    message_create,
    message_remove,
)

from .. import access, errors
from ..access import Reach
from ..context import ApiContext
from ..errors import ApiError
from ..registry import Param, api_method

# The error of all three methods' pages for a Time that is not a unix timestamp.
TIME_FORMAT = "The timestamp in the Time parameter does not have the correct format."
# RemoveMessage of an id that is not one of the vendor's messages (inferred: the page lists
# no errors; worded like the other "Could not find the ..." errors).
MESSAGE_NOT_FOUND = "Could not find the message."
# The newest so many messages at most per call (Cryptolens names no limit).
MAX_MESSAGES = 1000
LAST_UNIX_SECOND = 253_402_300_799  # 9999-12-31T23:59:59Z

P_CHANNEL = Param("Channel", "string", "The channel, e.g. \"stable\" (at most 100 "
                  "characters).", "")


def _time(ctx: ApiContext) -> dt.datetime | None:
    """Time: unix seconds; 0 or absent is no time."""
    raw = ctx.params.raw("Time")
    if raw is None:
        return None
    try:
        seconds = int(raw.strip())
    except ValueError:
        raise ApiError(TIME_FORMAT) from None
    if not 0 <= seconds <= LAST_UNIX_SECOND:
        raise ApiError(TIME_FORMAT)
    return dt.datetime.fromtimestamp(seconds, tz=dt.UTC) if seconds else None


def message_json(message: Message) -> dict[str, Any]:
    return {"id": message.pk, "content": message.content, "created": unix(message.created),
            "channel": message.channel}


@api_method(
    "message.GetMessages", reach=Reach.BROADCAST,
    summary="The vendor's broadcast messages, newest first: of one channel (all channels "
            "without Channel), created strictly after Time. Any token with this permission "
            "may read them, whatever its locks (they are broadcast to every copy).",
    params=(Param("Channel", "string", "Only this channel's messages; all without it.", ""),
            Param("Time", "int", "Unix seconds: only messages created after it (e.g. the "
                  "application's last look); 0 for all.", "0")),
    returns=f"messages: [{{id, content, created (unix seconds), channel}}], at most "
            f"{MAX_MESSAGES}",
    errors=(errors.UNABLE_TO_AUTHENTICATE, errors.ACCESS_DENIED, errors.INCORRECT_INPUT,
            TIME_FORMAT),
)
def get_messages(ctx: ApiContext) -> dict[str, Any]:
    since = _time(ctx)
    messages = Message.objects.for_vendor(ctx.vendor)
    if ctx.params.has("Channel"):
        messages = messages.filter(channel=ctx.params.str("Channel", max_length=MAX_CHANNEL))
    if since is not None:
        messages = messages.filter(created__gt=since)
    return {"messages": [message_json(m) for m in messages.order_by("-created", "-id")
                         [:MAX_MESSAGES]]}


@api_method(
    "message.CreateMessage", reach=Reach.VENDOR,
    summary="Broadcast a message on a channel to every copy of the vendor's applications.",
    params=(Param("Content", "string", "The message, e.g. a note about an update and where "
                  "to download it (at most 10000 characters).", ""),
            P_CHANNEL,
            Param("Time", "int", "Unix seconds the message is dated; now without it.", "0")),
    returns="messageId",
    errors=(errors.UNABLE_TO_AUTHENTICATE, errors.ACCESS_DENIED, errors.INCORRECT_INPUT,
            TIME_FORMAT),
)
def create_message(ctx: ApiContext) -> dict[str, Any]:
    content = ctx.params.str("Content", max_length=MAX_CONTENT)
    channel = ctx.params.str("Channel", max_length=MAX_CHANNEL)
    created = _time(ctx)
    try:
        message = message_create(vendor=ctx.vendor, actor=ctx.actor, content=content,
                                 channel=channel, created=created)
    except DomainError:
        raise ApiError(errors.INCORRECT_INPUT) from None
    return {"messageId": message.pk}


@api_method(
    "message.RemoveMessage", reach=Reach.VENDOR,
    summary="Withdraw one of the vendor's messages: applications no longer receive it.",
    params=(Param("Id", "int", "The message's id (messageId of CreateMessage)."),),
    returns="nothing beyond result and message",
    errors=(errors.UNABLE_TO_AUTHENTICATE, errors.ACCESS_DENIED, errors.INCORRECT_INPUT,
            MESSAGE_NOT_FOUND),
)
def remove_message(ctx: ApiContext) -> dict[str, Any]:
    message_id = ctx.params.int("Id", 0, minimum=0)
    if not message_id:
        raise ApiError(errors.INCORRECT_INPUT)
    message = access.message(ctx.token, message_id)
    if message is None:
        raise ApiError(MESSAGE_NOT_FOUND)
    message_remove(message=message, actor=ctx.actor)
    return {}
