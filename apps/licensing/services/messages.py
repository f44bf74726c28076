"""Messages a vendor broadcasts to every copy of its application (Cryptolens' `message/*`:
"Version 2.0 is out"), posted from the Web API or the vendor portal."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from apps.accounts.models import Vendor
from apps.audit.log import Actor, log_change
from apps.core.errors import DomainError
from apps.licensing.models import Message

MAX_CONTENT = 10000
MAX_CHANNEL = 100


@transaction.atomic
def message_create(*, vendor: Vendor, actor: Actor, content: str, channel: str = "",
                   created: dt.datetime | None = None) -> Message:
    """Broadcast `content` on `channel` ("" is no channel), dated `created` (default now:
    Cryptolens' CreateMessage "If no time is specified, we will set it to the time when this
    message was sent"). Applications fetch messages newer than their last look."""
    if len(content) > MAX_CONTENT:
        raise DomainError("The message cannot be more than 10000 characters.", field="content")
    if len(channel) > MAX_CHANNEL:
        raise DomainError("The channel cannot be more than 100 characters.", field="channel")
    message = Message.objects.create(vendor=vendor, content=content, channel=channel,
                                     created=created or timezone.now())
    log_change(vendor=vendor, actor=actor, obj=message, action="message created",
               changes={"channel": [None, channel], "content": [None, content]})
    return message


@transaction.atomic
def message_remove(*, message: Message, actor: Actor) -> None:
    """Withdraw a message: applications no longer receive it."""
    deleted, _ = Message.objects.filter(pk=message.pk).delete()
    if deleted:
        log_change(vendor=message.vendor, actor=actor, obj=message, action="message removed",
                   changes={"channel": [message.channel, None],
                            "content": [message.content, None]})
