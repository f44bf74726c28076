"""The Web API dispatcher: /api/<controller>/<Method>, Cryptolens Web API v3 on the wire.

Every answer is JSON with an integer `result` (0 ok, 1 error) and a string `message`, on
HTTP 200 (a rate-limited call may be set to 429, see API_RATE_LIMIT_HTTP_STATUS); never a
redirect, never a 500 page."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.core.exceptions import SuspiciousOperation
from django.db import InterfaceError, OperationalError, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt

from apps.core.net import client_ip
from apps.licensing.api_methods import API_METHOD_GROUPS, API_METHODS
from apps.licensing.services import token_authenticate
from apps.licensing.services.credentials import token_touch
from apps.usage import states
from apps.usage.weblog import CallRecord, web_api_log_write

from . import access, errors, ratelimit
from .context import ApiContext
from .errors import ApiError
from .params import Params
from .registry import METHODS, lookup

logger = logging.getLogger(__name__)


def envelope(body: dict | None = None, *, message: str = "", result: int = 0) -> JsonResponse:
    data = dict(body or {})
    data["result"] = result
    data["message"] = message
    return JsonResponse(data, json_dumps_params={"ensure_ascii": False})


def error(message: str) -> JsonResponse:
    return envelope(message=message, result=1)


def too_many_requests(retry_after: int) -> JsonResponse:
    """Cryptolens' error envelope, so every client shows the message. HTTP 200 by default
    (API_RATE_LIMIT_HTTP_STATUS), as Cryptolens answers all errors; Retry-After either way."""
    response = error(errors.TOO_MANY_REQUESTS)
    response.status_code = settings.API_RATE_LIMIT_HTTP_STATUS
    response["Retry-After"] = str(retry_after)
    return response


# State families (states.py) of the methods that change licenses: activation, key creation,
# deactivation, key changes, data objects.
WRITING_FAMILIES = (20, 30, 60, 70, 80)


@csrf_exempt
def dispatch(request: HttpRequest, controller: str, method: str) -> HttpResponse:
    if request.method not in ("GET", "POST"):
        return error(errors.INCORRECT_INPUT)
    entry = lookup(controller, method)
    if entry is None:
        return error(errors.UNKNOWN_METHOD)
    ip = client_ip(request)
    try:
        params = Params(request)
        token = token_authenticate(params.str("token", max_length=512))
    except ApiError as exc:
        return error(exc.message)
    except SuspiciousOperation:  # too many fields, or a body over DATA_UPLOAD_MAX_MEMORY_SIZE
        return error(errors.INCORRECT_INPUT)
    # One cache round trip per call: a bad token counts as a failed look-up, a good one
    # against its budgets (and the IP's failures are checked in the same trip). An IP over
    # its failures gets "too many requests" either way, so guessing shows nothing.
    if token is None:
        retry_after = ratelimit.record_failure(ip)
        return too_many_requests(retry_after) if retry_after else \
            error(errors.UNABLE_TO_AUTHENTICATE)
    retry_after = ratelimit.call_retry_after(ip, token.pk)
    if retry_after:
        return too_many_requests(retry_after)
    token_touch(token)
    record = CallRecord(
        vendor_id=token.vendor_id, method=entry.name, state=entry.state_family * 100 + 10,
        token_id=token.pk, ip=ip, user_agent=request.META.get("HTTP_USER_AGENT", ""),
    )
    if not any(permission in token.permissions for permission in entry.permissions):
        record.state = entry.state_family * 100 + 20
        _write_log(record)
        return error(errors.ACCESS_DENIED)
    ctx = ApiContext(request, params, token, record)
    try:
        # A key-lock -1 token runs locked to the key the call names (apps.api.access).
        ctx.token = access.check_reach(token, entry.reach, params)
        # The start-up calls' one-statement success needs no transaction around it.
        body = entry.fast(ctx) if entry.fast is not None else None
        if body is None:
            with _changes_and_log(entry.state_family, record):
                body = entry.handler(ctx)
        response = envelope(body, message=body.pop("_message", "") if body else "")
    except ApiError as exc:
        record.state = exc.state or entry.state_family * 100 + 20
        if exc.message in (errors.KEY_NOT_FOUND, errors.PRODUCT_NOT_FOUND, errors.KEY_LOCKED):
            ratelimit.record_failure(ip)
        response = error(exc.message)
    except (OperationalError, InterfaceError):
        logger.warning("Web API %s: database unavailable", entry.name)
        record.state = entry.state_family * 100 + 20
        response = error(errors.SERVICE_UNAVAILABLE)
    except Exception:
        logger.exception("Web API %s failed", entry.name)
        record.state = entry.state_family * 100 + 20
        response = error(errors.SERVER_ERROR)
    _write_log(record)
    return response


@contextmanager
def _changes_and_log(family: int, record: CallRecord) -> Iterator[None]:
    """For calls that change licenses, the change and its log row commit together: a success
    is never answered without its log row (if the log cannot be written, the change is
    undone and the client gets an error). Read-only calls skip the transaction, which would
    cost the hot GetKey path two round trips."""
    if family not in WRITING_FAMILIES:
        yield
        return
    with transaction.atomic():
        yield
        if not record.written:
            web_api_log_write(record)
            record.written = True


def _write_log(record: CallRecord) -> None:
    if record.written:
        return
    try:
        web_api_log_write(record)
    except Exception:  # the answer to the client must not depend on the log
        logger.exception("Could not write the Web API log")


# What each reach means for a locked token, on the reference page (apps.api.access).
REACH_TEXT = {
    access.Reach.KEY: "One key, named by ProductId and Key. A product lock allows keys of that "
    "product only, a key lock that key only (others: “Not enough permission and/or key not "
    "found.”); with key lock -1 the call reaches the key it names.",
    access.Reach.PRODUCT: "Creates keys in a product. A product lock allows that product only; "
    "key-locked and key lock -1 tokens are refused (“Access denied.”).",
    access.Reach.LISTING: "A listing, narrowed to the token's product or key lock. A key lock -1 "
    "token must name ProductId and Key, and sees that key only.",
    access.Reach.VENDOR: "Vendor-wide, about no key or product: key-locked and key lock -1 "
    "tokens are refused (“Access denied.”).",
    access.Reach.BROADCAST: "What you broadcast to every copy of your software: no lock "
    "narrows it.",
    access.Reach.CUSTOMER: "One customer, named by CustomerId, inside the token's locks: with a "
    "key lock (or key lock -1 and the key the call names) the customer of that key only.",
    access.Reach.USER: "A user of your software, named by Username: with a lock, users of "
    "customers inside it; a key lock -1 token needs no key for it.",
}


def reference(request: HttpRequest) -> HttpResponse:
    """The API reference page: every method, grouped by controller as on the token form, with
    its parameters, the permissions that allow it, its reach under locks, answer and errors."""
    order = {name: n for n, name in enumerate(API_METHODS)}
    group_of = {m: group for group, methods in API_METHOD_GROUPS.items() for m in methods}
    groups: dict[str, list] = {group: [] for group in API_METHOD_GROUPS}
    for method in sorted(METHODS.values(),
                         key=lambda m: (order.get(m.name, len(order)), m.name.lower())):
        groups.setdefault(group_of.get(method.permissions[0], method.controller), []).append(
            {"method": method, "reach": REACH_TEXT.get(method.reach, "")})
    return render(request, "api/reference.html", {
        "groups": {group: methods for group, methods in groups.items() if methods},
        "states": sorted(states.DESCRIPTIONS.items()),
        "errors": [errors.UNABLE_TO_AUTHENTICATE, errors.ACCESS_DENIED, errors.INCORRECT_INPUT,
                   errors.PRODUCT_NOT_FOUND, errors.KEY_NOT_FOUND, errors.KEY_LOCKED,
                   errors.UNKNOWN_METHOD, errors.TOO_MANY_REQUESTS],
        "base_url": request.build_absolute_uri("/api/"),
    })
