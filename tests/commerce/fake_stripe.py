"""A local fake of the Stripe API that the official `stripe` package can be pointed at in tests.

    fake = FakeStripe().start()
    client = stripe.StripeClient("sk_test_fake", base_addresses={"api": fake.base_url},
                                 max_network_retries=0)
    session = client.v1.checkout.sessions.create(params={...})
    events = fake.complete_checkout(session.id)    # what Stripe would send to the webhook
    fake.stop()

It speaks Stripe's v1 wire format (https://docs.stripe.com/api): form-encoded request bodies in
bracket notation (`line_items[0][price_data][unit_amount]=1000`), query strings for GET and
DELETE, JSON responses, `{"error": {"type", "message", "param", "code"}}` error bodies with
Stripe's HTTP statuses (400 bad parameters, 401 bad key, 404 unknown object or URL, 503 when
told to be down). Objects have the shape of API version `stripe.api_version` (2026-10-28.endive
with stripe 16.1): subscription periods live on the subscription items, an invoice names its
subscription under `parent.subscription_details.subscription` (there is no top-level
`invoice.subscription` any more), and so on.

What it does not do, it refuses loudly rather than ignoring: a parameter Stripe does not know
is `Received unknown parameter: ...` as on Stripe, and a parameter Stripe knows but this fake
does not implement (trials, setup mode, embedded checkout, ...) is a 400 that names the fake.

Only the standard library is used for serving; all state sits behind one lock.
"""

from __future__ import annotations

import base64
import calendar
import copy
import hashlib
import hmac
import html
import json
import re
import secrets
import string
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

import stripe
from stripe.params import (
    CustomerCreateParams,
    PriceCreateParams,
    ProductCreateParams,
    SubscriptionCancelParams,
    SubscriptionUpdateParams,
)
from stripe.params.billing import MeterCreateParams, MeterEventCreateParams
from stripe.params.billing_portal import SessionCreateParams as PortalSessionCreateParams
from stripe.params.checkout import SessionCreateParams as CheckoutSessionCreateParams

API_VERSION: str = stripe.api_version
"""The API version the installed package speaks; every event carries it as `api_version`."""

DEFAULT_API_KEY = "sk_test_fake"

Json = dict[str, Any]

# The package's params TypedDicts also carry its request options; those never reach the wire.
_REQUEST_OPTIONS = frozenset({
    "api_key", "content_type", "headers", "idempotency_key", "max_network_retries",
    "stripe_account", "stripe_context", "stripe_version",
})


def _stripe_params(typed_dict: type) -> frozenset[str]:
    """The top-level parameters Stripe accepts on an endpoint, read from the package's own
    params TypedDict, so that an unknown one can be refused the way Stripe refuses it."""
    return frozenset(typed_dict.__annotations__) - _REQUEST_OPTIONS


_SESSION_PARAMS = _stripe_params(CheckoutSessionCreateParams)
_PRICE_PARAMS = _stripe_params(PriceCreateParams)
_PRODUCT_PARAMS = _stripe_params(ProductCreateParams)
_CUSTOMER_PARAMS = _stripe_params(CustomerCreateParams)
_METER_PARAMS = _stripe_params(MeterCreateParams)
_METER_EVENT_PARAMS = _stripe_params(MeterEventCreateParams)
_PORTAL_PARAMS = _stripe_params(PortalSessionCreateParams)
_SUBSCRIPTION_UPDATE_PARAMS = _stripe_params(SubscriptionUpdateParams)
_SUBSCRIPTION_CANCEL_PARAMS = _stripe_params(SubscriptionCancelParams)
_RETRIEVE_PARAMS = frozenset({"expand"})

_ALNUM = string.ascii_letters + string.digits
_ZERO_DECIMAL = frozenset({
    "bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "vuv",
    "xaf", "xof", "xpf",
})
_INTERVALS = ("day", "week", "month", "year")
_FORMULAS = ("count", "last", "sum")


def _new_id(prefix: str, length: int = 24) -> str:
    """A Stripe-looking id: the object's prefix and random letters and digits. Checkout
    Session ids are as long as Stripe's (66 characters), so a column too short shows."""
    return prefix + "".join(secrets.choice(_ALNUM) for _ in range(length))


# --------------------------------------------------------------------------- wire format


class StripeApiError(Exception):
    """An error answered the way Stripe answers it: an HTTP status and an `error` object."""

    def __init__(self, status: int, message: str, *, param: str | None = None,
                 code: str | None = None, type_: str = "invalid_request_error") -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.param = param
        self.code = code
        self.type = type_

    def body(self) -> Json:
        """The JSON body: `{"error": {...}}` with only the keys Stripe would send."""
        error: Json = {"type": self.type, "message": self.message}
        if self.param is not None:
            error["param"] = self.param
        if self.code is not None:
            error["code"] = self.code
            error["doc_url"] = f"https://stripe.com/docs/error-codes/{self.code.replace('_', '-')}"
        return {"error": error}


def _missing(param: str) -> StripeApiError:
    return StripeApiError(400, f"Missing required param: {param}.", param=param,
                          code="parameter_missing")


def _unsupported(param: str, where: str, what: str | None = None) -> StripeApiError:
    """Stripe knows this parameter but the fake does not implement it: say so, don't ignore."""
    return StripeApiError(
        400, f"FakeStripe does not implement `{what or param}` on {where}; extend "
        "tests/commerce/fake_stripe.py if the code under test needs it.", param=param)


_KEY_RE = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")
_PART_RE = re.compile(r"\[([^\[\]]*)\]")


def parse_params(pairs: Iterable[tuple[str, str]]) -> Json:
    """Turn Stripe's bracket notation into nested dicts and lists, as Stripe reads it.

    `a[b]=1` is `{"a": {"b": "1"}}`; a hash whose keys are exactly 0..n-1 is a list, so
    `line_items[0][price]=p` is `{"line_items": [{"price": "p"}]}`; `a[]=x&a[]=y` appends.
    Values stay strings (Stripe coerces per parameter; see `_int` and `_bool`). A key used both
    as a value and as a hash is a 400, as on Stripe.
    """
    root: Json = {}
    for key, value in pairs:
        match = _KEY_RE.match(key)
        parts = [match.group(1), *_PART_RE.findall(match.group(2))] if match else [key]
        node = root
        for depth, part in enumerate(parts):
            name = part if part != "" else str(len(node))
            if depth == len(parts) - 1:
                if isinstance(node.get(name), dict):
                    raise StripeApiError(400, f"Invalid hash: {key} was also sent as a hash",
                                         param=key)
                node[name] = value
            else:
                child = node.setdefault(name, {})
                if not isinstance(child, dict):
                    raise StripeApiError(400, f"Invalid hash: {key} was also sent as a value",
                                         param=key)
                node = child
    result = _listify(root)
    assert isinstance(result, dict)
    return result


def _listify(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    items = {key: _listify(value) for key, value in node.items()}
    if items and set(items) == {str(i) for i in range(len(items))}:
        return [items[str(i)] for i in range(len(items))]
    return items


def _sub(path: str, name: str | int) -> str:
    """The bracketed name of a nested parameter, as Stripe reports it in `param`."""
    return f"{path}[{name}]" if path else str(name)


def _check_keys(params: Any, allowed: Iterable[str], path: str, where: str,
                unsupported: Iterable[str] = ()) -> Json:
    """Stripe's `Received unknown parameter: x`, and the fake's refusal of what it lacks."""
    if not isinstance(params, dict):
        raise StripeApiError(400, f"Invalid object: {path}", param=path or None)
    allowed, unsupported = set(allowed), set(unsupported)
    for key in params:
        if key not in allowed:
            raise StripeApiError(400, f"Received unknown parameter: {_sub(path, key)}",
                                 param=_sub(path, key), code="parameter_unknown")
        if key in unsupported:
            raise _unsupported(_sub(path, key), where)
    return params


def _str(params: Json, name: str, path: str = "", *, required: bool = False,
         max_length: int = 5000) -> str | None:
    value = params.get(name)
    if value is None or value == "":
        if required:
            raise _missing(_sub(path, name))
        return None
    if not isinstance(value, str):
        raise StripeApiError(400, f"Invalid string: {_sub(path, name)}", param=_sub(path, name))
    if len(value) > max_length:
        raise StripeApiError(
            400, f"Invalid string: {value[:20]}...; must be at most {max_length} characters",
            param=_sub(path, name))
    return value


def _int(params: Json, name: str, path: str = "", *, required: bool = False,
         minimum: int | None = None) -> int | None:
    """Stripe's integer coercion: `Invalid integer: abc` (parameter_invalid_integer)."""
    value = params.get(name)
    if value is None or value == "":
        if required:
            raise _missing(_sub(path, name))
        return None
    if not isinstance(value, str) or not re.fullmatch(r"-?\d+", value):
        raise StripeApiError(400, f"Invalid integer: {value}", param=_sub(path, name),
                             code="parameter_invalid_integer")
    number = int(value)
    if minimum is not None and number < minimum:
        raise StripeApiError(
            400, f"Invalid {_sub(path, name)}: must be greater than or equal to {minimum}",
            param=_sub(path, name))
    return number


def _bool(params: Json, name: str, path: str = "") -> bool | None:
    """Stripe's boolean coercion: only `true` and `false`."""
    value = params.get(name)
    if value is None or value == "":
        return None
    if value not in ("true", "false"):
        raise StripeApiError(400, f"Invalid boolean: {value}", param=_sub(path, name))
    return value == "true"


def _enum(params: Json, name: str, choices: Iterable[str], path: str = "", *,
          required: bool = False) -> str | None:
    value = _str(params, name, path, required=required)
    choices = tuple(choices)
    if value is not None and value not in choices:
        listed = (", ".join(choices[:-1]) + f"{',' if len(choices) > 2 else ''} or "
                  f"{choices[-1]}") if len(choices) > 1 else choices[0]
        raise StripeApiError(400, f"Invalid {_sub(path, name)}: must be one of {listed}",
                             param=_sub(path, name))
    return value


def _url(params: Json, name: str, *, required: bool = False) -> str | None:
    value = _str(params, name, required=required)
    if value is not None and not re.match(r"^https?://[^\s/]+", value):
        raise StripeApiError(400, "Not a valid URL", param=name, code="url_invalid")
    return value


def _metadata(value: Any, path: str) -> dict[str, str]:
    """Stripe's metadata rules: a hash of strings, at most 50 keys, keys up to 40 characters,
    values up to 500. An empty value unsets a key (see `_merge_metadata`)."""
    if value is None or value == "":
        return {}
    if isinstance(value, list):  # metadata[0]=x parses as a list; Stripe keeps it a hash
        value = {str(i): v for i, v in enumerate(value)}
    if not isinstance(value, dict):
        raise StripeApiError(400, f"Invalid object: {path}", param=path)
    if len(value) > 50:
        raise StripeApiError(400, "Invalid metadata: metadata can have up to 50 keys",
                             param=path)
    for key, item in value.items():
        if not isinstance(item, str):
            raise StripeApiError(400, f"Invalid string: {_sub(path, key)}",
                                 param=_sub(path, key))
        if len(key) > 40:
            raise StripeApiError(400, "Metadata keys can have up to 40 characters",
                                 param=_sub(path, key))
        if len(item) > 500:
            raise StripeApiError(400, "Metadata values can have up to 500 characters",
                                 param=_sub(path, key))
    return dict(value)


def _merge_metadata(current: dict[str, str], update: Any, path: str) -> dict[str, str]:
    """An update merges keys and drops those sent empty, as Stripe's `metadata[k]=` does;
    `metadata=` (empty) clears them all."""
    if update == "":
        return {}
    merged = dict(current)
    for key, value in _metadata(update, path).items():
        if value == "":
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


# --------------------------------------------------------------------------- webhooks


def sign(payload: bytes | str, secret: str, timestamp: int | None = None) -> str:
    """The `Stripe-Signature` header Stripe sends with a webhook:
    `t=<unix time>,v1=<hex HMAC-SHA256 keyed by the endpoint secret over "<t>.<payload>">`."""
    if timestamp is None:
        timestamp = int(time.time())
    body = payload.decode("utf-8") if isinstance(payload, bytes) else payload
    digest = hmac.new(secret.encode("utf-8"), f"{timestamp}.{body}".encode(),
                      hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def encode_event(event: Mapping[str, Any]) -> bytes:
    """An event as Stripe puts it in a webhook body: JSON, two-space indented."""
    return json.dumps(event, indent=2).encode("utf-8")


def format_amount(amount: int, currency: str) -> str:
    """`1234, "eur"` -> `12.34 EUR`; zero-decimal currencies (JPY, ...) are whole units."""
    if currency.lower() in _ZERO_DECIMAL:
        return f"{amount} {currency.upper()}"
    return f"{amount / 100:.2f} {currency.upper()}"


def _add_interval(timestamp: int, interval: str, count: int) -> int:
    """`count` intervals after `timestamp`, as Stripe bills: months keep the anchor's day of
    the month, clamped to the month's last day (Jan 31 -> Feb 28 -> Mar 31)."""
    moment = datetime.fromtimestamp(timestamp, UTC)
    if interval == "day":
        moment += timedelta(days=count)
    elif interval == "week":
        moment += timedelta(weeks=count)
    else:
        months = count * (12 if interval == "year" else 1)
        year, month0 = divmod(moment.month - 1 + months, 12)
        year += moment.year
        day = min(moment.day, calendar.monthrange(year, month0 + 1)[1])
        moment = moment.replace(year=year, month=month0 + 1, day=day)
    return int(moment.timestamp())


# --------------------------------------------------------------------------- the fake


@dataclass
class _Context:
    """One authenticated API request."""

    api_key: str
    request_id: str
    idempotency_key: str | None
    method: str
    path: str


@dataclass
class _Stored:
    """A response kept for an idempotency key, with what it answered."""

    fingerprint: tuple[str, str, str]
    status: int
    body: bytes
    headers: dict[str, str]


@dataclass
class _SubscriptionState:
    """Billing state Stripe keeps but does not show: the anchor and how many periods passed."""

    anchor: int
    cycle: int = 0
    session: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


_Route = tuple[str, re.Pattern[str], str]
_ID = r"(?P<id>[A-Za-z0-9_]+)"
_ROUTES: list[_Route] = [
    (method, re.compile(f"^{pattern}$"), handler) for method, pattern, handler in [
        ("POST", "/v1/checkout/sessions", "_create_checkout_session"),
        ("GET", f"/v1/checkout/sessions/{_ID}", "_retrieve_checkout_session"),
        ("POST", f"/v1/checkout/sessions/{_ID}/expire", "_expire_checkout_session"),
        ("GET", f"/v1/checkout/sessions/{_ID}/line_items", "_list_session_line_items"),
        ("POST", "/v1/prices", "_create_price"),
        ("GET", f"/v1/prices/{_ID}", "_retrieve_price"),
        ("POST", "/v1/products", "_create_product"),
        ("GET", f"/v1/products/{_ID}", "_retrieve_product"),
        ("POST", "/v1/customers", "_create_customer"),
        ("GET", f"/v1/customers/{_ID}", "_retrieve_customer"),
        ("POST", "/v1/billing/meters", "_create_meter"),
        ("GET", f"/v1/billing/meters/{_ID}", "_retrieve_meter"),
        ("POST", "/v1/billing/meter_events", "_create_meter_event"),
        ("GET", f"/v1/subscriptions/{_ID}", "_retrieve_subscription"),
        ("POST", f"/v1/subscriptions/{_ID}", "_update_subscription"),
        ("DELETE", f"/v1/subscriptions/{_ID}", "_cancel_subscription"),
        ("POST", "/v1/billing_portal/sessions", "_create_portal_session"),
        ("GET", f"/v1/invoices/{_ID}", "_retrieve_invoice"),
        ("GET", f"/v1/payment_intents/{_ID}", "_retrieve_payment_intent"),
        ("GET", f"/v1/charges/{_ID}", "_retrieve_charge"),
        ("GET", f"/v1/events/{_ID}", "_retrieve_event"),
    ]
]


class FakeStripe:
    """Stripe's API for one test: accounts by API key, objects, idempotency, outages, the
    hosted Checkout and billing-portal pages, and the webhooks Stripe would send.

    Public state (read it, or set the switches):
      api_keys       set of accepted secret keys; each key is its own account.
      requests       every /v1 request: (method, path, parsed params, headers dict).
      down           True: every /v1 request answers 503 api_error.
      events         every event generated, oldest first (helpers also return theirs).
      webhooks       {api_key: (url, secret)}: where the hosted pages deliver events.
      webhook_url, webhook_secret: the endpoint for keys not in `webhooks`.
      hold_webhooks  True: the hosted pages queue events in `held_events` instead of
                     delivering them; `release_webhooks()` sends them.
      deliveries     (url, event type, HTTP status) for each delivery made.
      meter_events   accepted meter events: dicts of api_key, event_name, customer, value,
                     identifier, timestamp.
      clock          callable giving the time (seconds); replace it to move time.
    """

    def __init__(self, api_keys: Iterable[str] = (DEFAULT_API_KEY,), *,
                 host: str = "127.0.0.1", port: int = 0) -> None:
        self.api_keys: set[str] = set(api_keys)
        self.requests: list[tuple[str, str, Json, dict[str, str]]] = []
        self.down = False
        self.events: list[Json] = []
        self.webhooks: dict[str, tuple[str, str]] = {}
        self.webhook_url: str | None = None
        self.webhook_secret: str | None = None
        self.hold_webhooks = False
        self.held_events: list[Json] = []
        self.deliveries: list[tuple[str, str, int]] = []
        self.meter_events: list[Json] = []
        self.clock: Callable[[], float] = time.time
        self._host = host
        self._port = port
        self._lock = threading.RLock()
        self._fail_next = 0
        self._fail_status = 503
        self._objects: dict[str, Json] = {}
        self._owner: dict[str, str] = {}
        self._session_items: dict[str, list[Json]] = {}
        self._subscriptions: dict[str, _SubscriptionState] = {}
        self._idempotent: dict[tuple[str, str], _Stored] = {}
        self._meter_identifiers: set[tuple[str, str]] = set()
        self._charge_of: dict[str, str] = {}  # payment intent -> charge
        self._payment_of_invoice: dict[str, str] = {}  # invoice -> payment intent
        self._portal_return: dict[str, str | None] = {}  # customer -> latest return_url
        self._session_extra: dict[str, Json] = {}  # what a session passes on to its objects
        self.crashes: list[str] = []
        self._invoice_number = 0
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> FakeStripe:
        """Serve on host:port (port 0: a free one) in a daemon thread; returns self."""
        self._server = _Server((self._host, self._port), self)
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True,
                                        name="fake-stripe")
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FakeStripe:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:<port>`: give it to StripeClient as base_addresses["api"]."""
        if self._server is None:
            raise RuntimeError("FakeStripe is not started")
        return f"http://{self._host}:{self._server.server_address[1]}"

    def fail_next(self, count: int = 1, status: int = 503) -> None:
        """The next `count` /v1 requests answer `status` with an api_error, as an outage or
        a 5xx would; nothing is created and nothing kept for their idempotency keys."""
        with self._lock:
            self._fail_next = count
            self._fail_status = status

    # ------------------------------------------------------------------ inspection

    def get(self, object_id: str) -> Json:
        """A copy of any object the fake holds (session, price, subscription, invoice,
        payment intent, charge, customer, meter, event, ...). KeyError if unknown."""
        with self._lock:
            return copy.deepcopy(self._objects[object_id])

    def objects(self, object_type: str, api_key: str | None = None) -> list[Json]:
        """Copies of every object of one `object` type ("checkout.session", "subscription",
        ...), oldest first, optionally of one account only."""
        with self._lock:
            return [copy.deepcopy(obj) for oid, obj in self._objects.items()
                    if obj.get("object") == object_type
                    and (api_key is None or self._owner.get(oid) == api_key)]

    def _by_id(self, object_type: str) -> dict[str, Json]:
        return {obj["id"]: obj for obj in self.objects(object_type)}

    @property
    def sessions(self) -> dict[str, Json]:
        """{id: copy} of every Checkout Session (all accounts)."""
        return self._by_id("checkout.session")

    @property
    def subscriptions(self) -> dict[str, Json]:
        """{id: copy} of every subscription (all accounts)."""
        return self._by_id("subscription")

    @property
    def invoices(self) -> dict[str, Json]:
        """{id: copy} of every invoice (all accounts)."""
        return self._by_id("invoice")

    @property
    def customers(self) -> dict[str, Json]:
        """{id: copy} of every customer (all accounts)."""
        return self._by_id("customer")

    def owner(self, object_id: str) -> str:
        """The API key (account) an object belongs to."""
        with self._lock:
            return self._owner[object_id]

    def meter_total(self, event_name: str, customer: str, api_key: str | None = None) -> float:
        """The sum of the values of the accepted meter events for a customer (an int when all
        values are whole); rejected events (duplicate identifiers, bad payloads) don't count."""
        with self._lock:
            values = [e["value"] for e in self.meter_events
                      if e["event_name"] == event_name and e["customer"] == customer
                      and (api_key is None or e["api_key"] == api_key)]
        return sum(values)

    # ------------------------------------------------------------------ webhooks

    sign = staticmethod(sign)

    def signed(self, event: Mapping[str, Any], secret: str,
               timestamp: int | None = None) -> tuple[bytes, str]:
        """The body and `Stripe-Signature` header Stripe would POST for an event, for a test
        client: `client.post(url, body, content_type="application/json",
        HTTP_STRIPE_SIGNATURE=header)`."""
        payload = encode_event(event)
        return payload, sign(payload, secret, timestamp)

    def deliver(self, event: Mapping[str, Any], url: str, secret: str,
                timestamp: int | None = None) -> tuple[int, str]:
        """POST an event to a webhook endpoint as Stripe does (JSON body, Stripe-Signature
        header); returns the endpoint's HTTP status and body. Proxies are never used."""
        payload, header = self.signed(event, secret, timestamp)
        request = urllib.request.Request(url, data=payload, method="POST", headers={
            "Content-Type": "application/json; charset=utf-8",
            "Stripe-Signature": header,
            "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
        })
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            with opener.open(request, timeout=30) as response:
                status, body = response.status, response.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as error:
            status, body = error.code, error.read().decode("utf-8", "replace")
        with self._lock:
            self.deliveries.append((url, str(event.get("type")), status))
        return status, body

    def endpoint_for(self, api_key: str) -> tuple[str, str] | None:
        """The (url, secret) webhook endpoint of an account: `webhooks[api_key]`, else
        `webhook_url`/`webhook_secret` when both are set, else None."""
        if api_key in self.webhooks:
            return self.webhooks[api_key]
        if self.webhook_url and self.webhook_secret:
            return self.webhook_url, self.webhook_secret
        return None

    def send_webhooks(self, events: Iterable[Mapping[str, Any]]) -> list[tuple[int, str]]:
        """Deliver events, in order, to their account's endpoint (see `endpoint_for`);
        events of an account without one are skipped. Returns (status, body) per delivery."""
        results = []
        for event in events:
            endpoint = self.endpoint_for(self.owner(str(event["id"])))
            if endpoint is not None:
                results.append(self.deliver(event, *endpoint))
        return results

    def release_webhooks(self) -> list[tuple[int, str]]:
        """Deliver the events the hosted pages held back (`hold_webhooks`), then forget them."""
        with self._lock:
            held, self.held_events = self.held_events, []
        return self.send_webhooks(held)

    def _dispatch(self, events: list[Json]) -> None:
        if self.hold_webhooks:
            with self._lock:
                self.held_events.extend(events)
        else:
            self.send_webhooks(events)

    # ------------------------------------------------------------------ internals

    def _now(self) -> int:
        return int(self.clock())

    def _put(self, obj: Json, api_key: str) -> Json:
        self._objects[obj["id"]] = obj
        self._owner[obj["id"]] = api_key
        return obj

    def _owned(self, object_type: str, object_id: str, api_key: str, *, param: str = "id",
               status: int = 404) -> Json:
        """An object of this account, or Stripe's resource_missing: 404 for the object named
        by the URL, 400 for one named by a parameter."""
        obj = self._objects.get(object_id)
        if obj is None or obj.get("object") != object_type or self._owner[object_id] != api_key:
            raise StripeApiError(status, f"No such {object_type}: '{object_id}'", param=param,
                                 code="resource_missing")
        return obj

    def _event(self, api_key: str, event_type: str, obj: Json, *,
               previous: Json | None = None, ctx: _Context | None = None) -> Json:
        """A snapshot Event as Stripe sends it to webhook endpoints; `previous` is
        `data.previous_attributes` (the changed fields' old values) for *.updated events."""
        data: Json = {"object": copy.deepcopy(obj)}
        if previous is not None:
            data["previous_attributes"] = copy.deepcopy(previous)
        event = {
            "id": _new_id("evt_"),
            "object": "event",
            "api_version": API_VERSION,
            "created": self._now(),
            "data": data,
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": ctx.request_id if ctx else None,
                        "idempotency_key": ctx.idempotency_key if ctx else None},
            "type": event_type,
        }
        self._put(event, api_key)
        self.events.append(event)
        return copy.deepcopy(event)

    def _expand(self, obj: Json, params: Json, api_key: str) -> Json:
        """`expand[]`: replace an id with its object (same account), and a Checkout
        Session's `line_items`, which Stripe returns only when expanded."""
        expand = params.get("expand") or []
        if isinstance(expand, str):
            expand = [expand]
        if not isinstance(expand, list):
            raise StripeApiError(400, "Invalid array", param="expand")
        result = copy.deepcopy(obj)
        for path in expand:
            if path == "line_items" and obj.get("object") == "checkout.session":
                result["line_items"] = self._line_items_list(obj["id"])
                continue
            value = obj.get(path) if isinstance(path, str) else None
            if path in obj and value is None:
                continue
            if isinstance(value, str) and value in self._objects \
                    and self._owner[value] == api_key:
                result[path] = copy.deepcopy(self._objects[value])
                continue
            raise StripeApiError(400, f"This property cannot be expanded ({path}).",
                                 param="expand")
        return result

    def _retrieve(self, object_type: str, ctx: _Context, params: Json, object_id: str) -> Json:
        _check_keys(params, _RETRIEVE_PARAMS, "", ctx.path)
        return self._expand(self._owned(object_type, object_id, ctx.api_key), params,
                            ctx.api_key)

    # ------------------------------------------------------------------ HTTP: /v1

    def _authenticate(self, headers: Mapping[str, str]) -> str:
        """Stripe's authentication: `Authorization: Bearer sk_...` (or Basic with the key as
        user name); a missing or unknown key is a 401 invalid_request_error."""
        auth = headers.get("authorization", "")
        key: str | None = None
        if auth.startswith("Bearer "):
            key = auth[len("Bearer "):].strip()
        elif auth.startswith("Basic "):
            try:
                key = base64.b64decode(auth[len("Basic "):]).decode().split(":", 1)[0]
            except ValueError:
                key = None
        if not key:
            raise StripeApiError(
                401, "You did not provide an API key. You need to provide your API key in the "
                "Authorization header, using Bearer auth (e.g. 'Authorization: Bearer "
                "YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for "
                "details, or we can help at https://support.stripe.com/.")
        if key not in self.api_keys:
            masked = key[:8] + "*" * max(len(key) - 12, 0) + key[-4:] if len(key) > 12 else key
            raise StripeApiError(401, f"Invalid API Key provided: {masked}")
        return key

    def _handle_api(self, method: str, path: str, query: str, body: bytes,
                    headers: dict[str, str]) -> tuple[int, bytes, dict[str, str]]:
        """One /v1 request: record, outage, auth, idempotency, route, answer."""
        lower = {k.lower(): v for k, v in headers.items()}
        request_id = _new_id("req_", 14)
        out_headers = {"Request-Id": request_id,
                       "Stripe-Version": lower.get("stripe-version", API_VERSION)}
        idempotency_key = lower.get("idempotency-key")
        if idempotency_key:
            out_headers["Idempotency-Key"] = idempotency_key

        def answer(status: int, payload: Json) -> tuple[int, bytes, dict[str, str]]:
            if 400 <= status < 500:
                out_headers["Stripe-Should-Retry"] = "false"
            if status == 401:
                out_headers["WWW-Authenticate"] = 'Basic realm="Stripe"'
            return status, json.dumps(payload, indent=2).encode(), out_headers

        raw = body.decode("utf-8", "replace") if method == "POST" else query
        try:
            params = parse_params(parse_qsl(raw, keep_blank_values=True))
        except StripeApiError as error:
            params = {}
            bad: StripeApiError | None = error
        else:
            bad = None
        with self._lock:
            self.requests.append((method, path, copy.deepcopy(params), dict(headers)))
            failing = self.down or self._fail_next > 0
            status = 503 if self.down else self._fail_status
            if not self.down and self._fail_next > 0:
                self._fail_next -= 1
        if failing:
            return answer(status, StripeApiError(
                status, "FakeStripe is down: an error occurred with our connection to Stripe.",
                type_="api_error").body())
        try:
            api_key = self._authenticate(lower)
        except StripeApiError as error:
            return answer(error.status, error.body())
        if bad is not None:
            return answer(bad.status, bad.body())
        fingerprint = (method, path, json.dumps(params, sort_keys=True))
        with self._lock:
            if method == "POST" and idempotency_key:
                stored = self._idempotent.get((api_key, idempotency_key))
                if stored is not None:
                    if stored.fingerprint != fingerprint:
                        return answer(400, StripeApiError(
                            400, "Keys for idempotent requests can only be used with the same "
                            "parameters they were first used with. Try using a key other than "
                            f"'{idempotency_key}' if you meant to execute a different request.",
                            type_="idempotency_error").body())
                    replay = {**stored.headers, "Idempotent-Replayed": "true"}
                    return stored.status, stored.body, replay
            ctx = _Context(api_key, request_id, idempotency_key, method, path)
            try:
                status, payload = 200, self._route(ctx, params)
            except StripeApiError as error:
                status, payload = error.status, error.body()
            result = answer(status, payload)
            # Stripe saves a result once an endpoint has run; validation failures aren't kept.
            if method == "POST" and idempotency_key and status == 200:
                self._idempotent[(api_key, idempotency_key)] = _Stored(
                    fingerprint, status, result[1], dict(result[2]))
            return result

    def _route(self, ctx: _Context, params: Json) -> Json:
        for method, pattern, handler in _ROUTES:
            match = pattern.match(ctx.path)
            if match and method == ctx.method:
                result: Json = getattr(self, handler)(ctx, params, **match.groupdict())
                return result
        raise StripeApiError(
            404, f"Unrecognized request URL ({ctx.method}: {ctx.path}). Please see "
            "https://stripe.com/docs or we can help at https://support.stripe.com/.")

    # ------------------------------------------------------------------ products, prices

    def _product(self, api_key: str, name: str, *, description: str | None = None,
                 metadata: dict[str, str] | None = None) -> Json:
        now = self._now()
        return self._put({
            "id": _new_id("prod_", 14), "object": "product", "active": True, "created": now,
            "default_price": None, "description": description, "images": [],
            "livemode": False, "marketing_features": [], "metadata": metadata or {},
            "name": name, "package_dimensions": None, "shippable": None,
            "statement_descriptor": None, "tax_code": None, "type": "service",
            "unit_label": None, "updated": now, "url": None,
        }, api_key)

    def _create_product(self, ctx: _Context, params: Json) -> Json:
        """POST /v1/products: name is required."""
        _check_keys(params, _PRODUCT_PARAMS, "", "POST /v1/products",
                    unsupported={"id", "default_price_data"})
        name = _str(params, "name", required=True)
        assert name is not None
        return self._product(ctx.api_key, name, description=_str(params, "description"),
                             metadata=_metadata(params.get("metadata"), "metadata"))

    def _retrieve_product(self, ctx: _Context, params: Json, id: str) -> Json:
        return self._retrieve("product", ctx, params, id)

    def _price_spec(self, api_key: str, params: Json, path: str, *, inline: bool) -> Json:
        """Validate a price (POST /v1/prices, or `price_data` inline) without creating it."""
        where = f"{path or 'POST /v1/prices'}"
        if inline:
            _check_keys(params, {"currency", "product", "product_data", "recurring",
                                 "tax_behavior", "unit_amount", "unit_amount_decimal"},
                        path, where, unsupported={"unit_amount_decimal"})
        else:
            _check_keys(params, _PRICE_PARAMS, path, where, unsupported={
                "billing_scheme", "currency_options", "custom_unit_amount", "tiers",
                "tiers_mode", "transform_quantity", "unit_amount_decimal",
                "transfer_lookup_key"})
        currency = _str(params, "currency", path, required=True)
        assert currency is not None
        currency = currency.lower()
        if not re.fullmatch(r"[a-z]{3}", currency):
            raise StripeApiError(400, f"Invalid currency: {currency}",
                                 param=_sub(path, "currency"))
        unit_amount = _int(params, "unit_amount", path, required=True, minimum=0)
        product = _str(params, "product", path)
        product_data = params.get("product_data")
        if product is not None and product_data is not None:
            raise StripeApiError(400, "You may only specify one of these parameters: product, "
                                 "product_data.", param=_sub(path, "product"))
        if product is not None:
            self._owned("product", product, api_key, param=_sub(path, "product"), status=400)
        elif product_data is None:
            raise _missing(_sub(path, "product_data" if inline else "product"))
        else:
            pd_path = _sub(path, "product_data")
            _check_keys(product_data, {"description", "images", "metadata", "name",
                                       "tax_code", "tax_details", "unit_label", "active",
                                       "id", "statement_descriptor"}, pd_path, where)
            _str(product_data, "name", pd_path, required=True)
            _metadata(product_data.get("metadata"), _sub(pd_path, "metadata"))
        recurring = params.get("recurring")
        spec_recurring: Json | None = None
        if recurring is not None:
            r_path = _sub(path, "recurring")
            allowed = {"interval", "interval_count"} if inline else {
                "interval", "interval_count", "meter", "trial_period_days", "usage_type"}
            _check_keys(recurring, allowed, r_path, where, unsupported={"trial_period_days"})
            interval = _enum(recurring, "interval", _INTERVALS, r_path, required=True)
            count = _int(recurring, "interval_count", r_path, minimum=1) or 1
            usage_type = _enum(recurring, "usage_type", ("licensed", "metered"),
                               r_path) or "licensed"
            meter = _str(recurring, "meter", r_path)
            if usage_type == "metered" and meter is None:
                raise StripeApiError(
                    400, "Metered prices must be backed by a meter: pass "
                    f"`{_sub(r_path, 'meter')}`.", param=_sub(r_path, "meter"))
            if usage_type == "licensed" and meter is not None:
                raise StripeApiError(
                    400, "A meter can only be set on prices with `usage_type=metered`.",
                    param=_sub(r_path, "meter"))
            if meter is not None:
                self._owned("billing.meter", meter, api_key, param=_sub(r_path, "meter"),
                            status=400)
            spec_recurring = {"interval": interval, "interval_count": count, "meter": meter,
                              "trial_period_days": None, "usage_type": usage_type}
        return {"currency": currency, "unit_amount": unit_amount, "product": product,
                "product_data": product_data, "recurring": spec_recurring,
                "metadata": _metadata(params.get("metadata"), _sub(path, "metadata")),
                "nickname": _str(params, "nickname", path),
                "lookup_key": _str(params, "lookup_key", path),
                "active": _bool(params, "active", path)}

    def _make_price(self, api_key: str, spec: Json) -> Json:
        product = spec["product"]
        if product is None:
            data = spec["product_data"]
            product = self._product(api_key, data["name"],
                                    description=data.get("description") or None,
                                    metadata=_metadata(data.get("metadata"), "metadata"))["id"]
        unit_amount = spec["unit_amount"]
        return self._put({
            "id": _new_id("price_"), "object": "price",
            "active": True if spec["active"] is None else spec["active"],
            "billing_scheme": "per_unit", "created": self._now(), "currency": spec["currency"],
            "custom_unit_amount": None, "livemode": False, "lookup_key": spec["lookup_key"],
            "metadata": spec["metadata"], "nickname": spec["nickname"], "product": product,
            "recurring": spec["recurring"], "tax_behavior": "unspecified", "tiers_mode": None,
            "transform_quantity": None,
            "type": "recurring" if spec["recurring"] else "one_time",
            "unit_amount": unit_amount, "unit_amount_decimal": str(unit_amount),
        }, api_key)

    def _create_price(self, ctx: _Context, params: Json) -> Json:
        """POST /v1/prices: currency, unit_amount, product or product_data[name], and
        recurring[interval|interval_count|usage_type|meter]; a metered price needs a meter
        (legacy usage records are gone in current API versions)."""
        return self._make_price(ctx.api_key,
                                self._price_spec(ctx.api_key, params, "", inline=False))

    def _retrieve_price(self, ctx: _Context, params: Json, id: str) -> Json:
        return self._retrieve("price", ctx, params, id)

    # ------------------------------------------------------------------ customers

    def _customer(self, api_key: str, email: str | None, *, name: str | None = None,
                  metadata: dict[str, str] | None = None) -> Json:
        customer_id = _new_id("cus_", 14)
        return self._put({
            "id": customer_id, "object": "customer", "address": None, "balance": 0,
            "created": self._now(), "currency": None, "default_source": None,
            "delinquent": False, "description": None, "email": email,
            "invoice_prefix": customer_id[4:12].upper(),
            "invoice_settings": {"custom_fields": None, "default_payment_method": None,
                                 "footer": None, "rendering_options": None},
            "livemode": False, "metadata": metadata or {}, "name": name,
            "next_invoice_sequence": 1, "phone": None, "preferred_locales": [],
            "shipping": None, "tax_exempt": "none", "test_clock": None,
        }, api_key)

    def add_customer(self, email: str | None = None, *, api_key: str = DEFAULT_API_KEY,
                     name: str | None = None) -> Json:
        """Create a customer directly (as if made in the Dashboard); returns a copy."""
        with self._lock:
            return copy.deepcopy(self._customer(api_key, email, name=name))

    def _create_customer(self, ctx: _Context, params: Json) -> Json:
        """POST /v1/customers: email, name, metadata (the rest is accepted and ignored)."""
        _check_keys(params, _CUSTOMER_PARAMS, "", "POST /v1/customers")
        return self._customer(ctx.api_key, _str(params, "email", max_length=512),
                              name=_str(params, "name", max_length=256),
                              metadata=_metadata(params.get("metadata"), "metadata"))

    def _retrieve_customer(self, ctx: _Context, params: Json, id: str) -> Json:
        return self._retrieve("customer", ctx, params, id)

    # ------------------------------------------------------------------ checkout sessions

    def _create_checkout_session(self, ctx: _Context, params: Json) -> Json:
        """POST /v1/checkout/sessions, hosted mode, `payment` or `subscription`.

        Validates as Stripe does: success_url and line_items are required; each line item has
        price or price_data, and a quantity unless its price is metered (where a quantity is
        refused); one currency; payment mode takes no recurring price and subscription mode
        needs one; customer and customer_email exclude each other; subscription_data only in
        subscription mode, payment_intent_data and customer_creation only in payment mode;
        expires_at 30 minutes to 24 hours ahead.
        """
        where = "POST /v1/checkout/sessions"
        _check_keys(params, _SESSION_PARAMS, "", where, unsupported={
            "optional_items", "discounts", "currency", "return_url", "redirect_on_completion",
            "setup_intent_data", "shipping_options", "custom_fields", "payment_method_data"})
        if params.get("ui_mode") not in (None, "hosted_page"):
            raise _unsupported("ui_mode", where)
        mode = _str(params, "mode", required=True)
        if mode == "setup":
            raise _unsupported("mode", where, "mode=setup")
        _enum(params, "mode", ("payment", "setup", "subscription"), required=True)
        success_url = _url(params, "success_url", required=True)
        cancel_url = _url(params, "cancel_url")
        customer = _str(params, "customer")
        customer_email = _str(params, "customer_email", max_length=800)
        if customer is not None and customer_email is not None:
            raise StripeApiError(400, "You may only specify one of these parameters: customer, "
                                 "customer_email.", param="customer")
        if customer is not None:
            self._owned("customer", customer, ctx.api_key, param="customer", status=400)
        customer_creation = _enum(params, "customer_creation", ("always", "if_required"))
        if customer_creation is not None and mode != "payment":
            raise StripeApiError(400, "`customer_creation` can only be used in `payment` mode.",
                                 param="customer_creation")
        client_reference_id = _str(params, "client_reference_id", max_length=200)
        metadata = _metadata(params.get("metadata"), "metadata")
        now = self._now()
        expires_at = _int(params, "expires_at")
        if expires_at is None:
            expires_at = now + 24 * 3600
        elif expires_at < now + 30 * 60:
            raise StripeApiError(400, "The `expires_at` timestamp must be at least 30 minutes "
                                 "from Checkout Session creation.", param="expires_at")
        elif expires_at > now + 24 * 3600:
            raise StripeApiError(400, "The `expires_at` timestamp must be less than 24 hours "
                                 "from Checkout Session creation.", param="expires_at")

        subscription_data = params.get("subscription_data")
        sub_metadata: dict[str, str] = {}
        if subscription_data is not None:
            if mode != "subscription":
                raise StripeApiError(400, "You can not pass `subscription_data` in `payment` "
                                     "mode.", param="subscription_data")
            _check_keys(subscription_data, {
                "application_fee_percent", "billing_cycle_anchor", "billing_cycle_anchor_config",
                "billing_mode", "default_tax_rates", "description", "invoice_settings",
                "metadata", "on_behalf_of", "pending_invoice_item_interval",
                "proration_behavior", "transfer_data", "trial_end", "trial_period_days",
                "trial_settings"}, "subscription_data", where, unsupported={
                "billing_cycle_anchor", "billing_cycle_anchor_config", "trial_end",
                "trial_period_days", "trial_settings", "pending_invoice_item_interval"})
            sub_metadata = _metadata(subscription_data.get("metadata"),
                                     "subscription_data[metadata]")
        payment_intent_data = params.get("payment_intent_data")
        pi_metadata: dict[str, str] = {}
        if payment_intent_data is not None:
            if mode != "payment":
                raise StripeApiError(400, "You can not pass `payment_intent_data` in "
                                     "`subscription` mode.", param="payment_intent_data")
            _check_keys(payment_intent_data, {
                "application_fee_amount", "capture_method", "description", "metadata",
                "on_behalf_of", "receipt_email", "setup_future_usage", "shipping",
                "statement_descriptor", "statement_descriptor_suffix", "transfer_data",
                "transfer_group"}, "payment_intent_data", where,
                unsupported={"capture_method"})
            pi_metadata = _metadata(payment_intent_data.get("metadata"),
                                    "payment_intent_data[metadata]")

        line_items = params.get("line_items")
        if line_items is None or line_items == "" or line_items == []:
            raise _missing("line_items")
        if not isinstance(line_items, list):
            raise StripeApiError(400, "Invalid array", param="line_items")
        planned: list[tuple[Json | None, Json | None, int | None]] = []
        for index, item in enumerate(line_items):
            path = f"line_items[{index}]"
            _check_keys(item, {"adjustable_quantity", "dynamic_tax_rates", "metadata", "price",
                               "price_data", "quantity", "tax_rates"}, path, where)
            price_id = _str(item, "price", path)
            price_data = item.get("price_data")
            if (price_id is None) == (price_data is None):
                raise StripeApiError(400, f"You must specify either `price` or `price_data` in "
                                     f"`{path}`, but not both.", param=path)
            stored = spec = None
            if price_id is not None:
                stored = self._owned("price", price_id, ctx.api_key, param=_sub(path, "price"),
                                     status=400)
                if not stored["active"]:
                    raise StripeApiError(400, f"The price specified is inactive: {price_id}.",
                                         param=_sub(path, "price"))
                recurring = stored["recurring"]
                currency = stored["currency"]
            else:
                spec = self._price_spec(ctx.api_key, price_data, _sub(path, "price_data"),
                                        inline=True)
                recurring = spec["recurring"]
                currency = spec["currency"]
            metered = bool(recurring and recurring["usage_type"] == "metered")
            quantity = _int(item, "quantity", path, minimum=0)
            if metered and quantity is not None:
                raise StripeApiError(400, "Quantity should not be specified where usage_type is "
                                     f"`metered`. Remove quantity from `{path}`.",
                                     param=_sub(path, "quantity"))
            if not metered and quantity is None:
                raise StripeApiError(400, f"Quantity is required. Add `quantity` to `{path}`.",
                                     param=_sub(path, "quantity"), code="parameter_missing")
            if recurring and mode == "payment":
                raise StripeApiError(400, "You specified `payment` mode but passed a recurring "
                                     "price. Either switch to `subscription` mode or use only "
                                     "one-time prices.", param=path)
            if planned:
                first = planned[0][0] or planned[0][1]
                assert first is not None
                if first["currency"] != currency:
                    raise StripeApiError(400, "All line items must have the same currency.",
                                         param=path)
            planned.append((stored, spec, quantity))
        if mode == "subscription" and not any(
                (stored or spec or {}).get("recurring") for stored, spec, _ in planned):
            raise StripeApiError(400, "You must provide at least one recurring price in "
                                 "`subscription` mode when using prices.", param="line_items")

        session_id = _new_id("cs_test_", 58)
        items: list[Json] = []
        for stored, spec, quantity in planned:
            price = stored if stored is not None else self._make_price(ctx.api_key, spec or {})
            metered = bool(price["recurring"] and price["recurring"]["usage_type"] == "metered")
            amount = 0 if metered else price["unit_amount"] * (quantity or 0)
            product = self._objects[price["product"]]
            items.append({
                "id": _new_id("li_"), "object": "item", "amount_discount": 0,
                "amount_subtotal": amount, "amount_tax": 0, "amount_total": amount,
                "currency": price["currency"], "description": product["name"],
                "metadata": {}, "price": copy.deepcopy(price), "quantity": quantity,
            })
        total = sum(item["amount_total"] for item in items)
        self._session_items[session_id] = items
        self._put({
            "id": session_id, "object": "checkout.session", "after_expiration": None,
            "allow_promotion_codes": None, "amount_subtotal": total, "amount_total": total,
            "automatic_tax": {"enabled": False, "liability": None, "provider": None,
                              "status": None},
            "billing_address_collection": None, "cancel_url": cancel_url,
            "client_reference_id": client_reference_id, "client_secret": None,
            "created": now, "currency": items[0]["currency"], "custom_fields": [],
            "customer": customer,
            "customer_creation": customer_creation or (
                "if_required" if mode == "payment" else "always"),
            "customer_details": None, "customer_email": customer_email,
            "expires_at": expires_at, "invoice": None, "livemode": False, "locale": None,
            "metadata": metadata, "mode": mode, "payment_intent": None, "payment_link": None,
            "payment_method_collection": "always", "payment_method_types": ["card"],
            "payment_status": "unpaid", "recovered_from": None, "setup_intent": None,
            "status": "open", "submit_type": None, "subscription": None,
            "success_url": success_url,
            "total_details": {"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0},
            "ui_mode": "hosted_page", "url": f"{self.base_url}/pay/{session_id}",
        }, ctx.api_key)
        self._session_extra[session_id] = {
            "subscription_metadata": sub_metadata,
            "subscription_description": (subscription_data or {}).get("description") or None,
            "payment_intent_metadata": pi_metadata,
            "payment_intent_description": (payment_intent_data or {}).get("description"),
        }
        return self._expand(self._objects[session_id], params, ctx.api_key)

    def _line_items_list(self, session_id: str) -> Json:
        return {"object": "list", "data": copy.deepcopy(self._session_items[session_id]),
                "has_more": False, "url": f"/v1/checkout/sessions/{session_id}/line_items"}

    def _retrieve_checkout_session(self, ctx: _Context, params: Json, id: str) -> Json:
        """GET /v1/checkout/sessions/<id>; `expand[]=line_items` adds the line items."""
        return self._retrieve("checkout.session", ctx, params, id)

    def _list_session_line_items(self, ctx: _Context, params: Json, id: str) -> Json:
        """GET /v1/checkout/sessions/<id>/line_items (one page; no pagination)."""
        _check_keys(params, {"expand", "limit", "starting_after", "ending_before"}, "",
                    ctx.path)
        self._owned("checkout.session", id, ctx.api_key, param="session")
        return self._line_items_list(id)

    def _expire_checkout_session(self, ctx: _Context, params: Json, id: str) -> Json:
        """POST /v1/checkout/sessions/<id>/expire: only an open session can be expired; emits
        checkout.session.expired (kept in `events`, not delivered)."""
        _check_keys(params, {"expand"}, "", ctx.path)
        session = self._owned("checkout.session", id, ctx.api_key, param="session")
        if session["status"] != "open":
            raise StripeApiError(400, "Only Checkout Sessions with a status in [\"open\"] can "
                                 f"be expired. This session has status `{session['status']}`.",
                                 param="session")
        self._expire(session, ctx)
        return self._expand(session, params, ctx.api_key)

    def _expire(self, session: Json, ctx: _Context | None) -> Json:
        session.update(status="expired", url=None)
        return self._event(self._owner[session["id"]], "checkout.session.expired", session,
                           ctx=ctx)

    def expire_checkout(self, session_id: str) -> list[Json]:
        """Let an open session time out (Stripe does so at expires_at); returns
        ["checkout.session.expired"]."""
        with self._lock:
            session = self._session(session_id)
            return [self._expire(session, None)]

    def _session(self, session_id: str) -> Json:
        session = self._objects.get(session_id)
        if session is None or session.get("object") != "checkout.session":
            raise KeyError(f"No such checkout.session: {session_id!r}")
        if session["status"] != "open":
            raise ValueError(f"Checkout Session {session_id} is {session['status']}, not open")
        return session

    # ------------------------------------------------------------------ the buyer

    def complete_checkout(self, session_id: str, *, email: str | None = None) -> list[Json]:
        """The buyer pays on the hosted page. Returns the events Stripe sends, in order.

        payment mode: a PaymentIntent (pi_...) and its charge; the session becomes
        complete/paid with `payment_intent`. As on Stripe, a customer is made only when the
        session was created with `customer` or `customer_creation=always` (otherwise
        `customer` stays null and `customer_details.email` has the buyer's email). Events:
        checkout.session.completed, payment_intent.succeeded.

        subscription mode: a customer (unless given), a subscription whose items are the
        recurring line items (period from now to +1 interval of each price), its first
        invoice (billing_reason subscription_create, paid; one-time items are billed on it
        too). Events: customer.subscription.created, checkout.session.completed, invoice.paid.

        `email` is what the buyer types when the session has no customer_email or customer
        (default "buyer@example.com"). Raises KeyError for an unknown session and ValueError
        for one that is not open.
        """
        with self._lock:
            session = self._session(session_id)
            api_key = self._owner[session_id]
            extra = self._session_extra.get(session_id, {})
            customer_id = session["customer"]
            known_email = self._objects[customer_id]["email"] if customer_id else None
            buyer_email = session["customer_email"] or known_email or email \
                or "buyer@example.com"
            if customer_id is None and (session["mode"] == "subscription"
                                        or session["customer_creation"] == "always"):
                customer_id = self._customer(api_key, buyer_email)["id"]
            session.update(
                status="complete", url=None, customer=customer_id,
                customer_details={"address": None, "email": buyer_email, "name": None,
                                  "phone": None, "tax_exempt": "none", "tax_ids": []})
            if session["mode"] == "payment":
                payment_intent, _ = self._payment(
                    api_key, session["amount_total"], session["currency"], customer_id,
                    dict(extra.get("payment_intent_metadata", {})),
                    extra.get("payment_intent_description"), buyer_email)
                session.update(payment_status="paid", payment_intent=payment_intent["id"])
                return [self._event(api_key, "checkout.session.completed", session),
                        self._event(api_key, "payment_intent.succeeded", payment_intent)]
            subscription = self._new_subscription(api_key, session, customer_id, extra)
            invoice = self._objects[subscription["latest_invoice"]]
            session.update(
                subscription=subscription["id"], invoice=invoice["id"],
                payment_status="paid" if invoice["amount_paid"] else "no_payment_required")
            return [self._event(api_key, "customer.subscription.created", subscription),
                    self._event(api_key, "checkout.session.completed", session),
                    self._event(api_key, "invoice.paid", invoice)]

    def _payment(self, api_key: str, amount: int, currency: str, customer: str | None,
                 metadata: dict[str, str], description: str | None,
                 email: str | None) -> tuple[Json, Json]:
        """A succeeded PaymentIntent and its charge (which inherits the intent's metadata)."""
        now = self._now()
        intent_id, charge_id = _new_id("pi_"), _new_id("ch_")
        method = _new_id("pm_")
        charge = self._put({
            "id": charge_id, "object": "charge", "amount": amount, "amount_captured": amount,
            "amount_refunded": 0, "balance_transaction": _new_id("txn_"),
            "billing_details": {"address": None, "email": email, "name": None, "phone": None},
            "captured": True, "created": now, "currency": currency, "customer": customer,
            "description": description, "disputed": False, "failure_code": None,
            "failure_message": None, "livemode": False, "metadata": dict(metadata),
            "paid": True, "payment_intent": intent_id, "payment_method": method,
            "receipt_email": None, "refunded": False, "status": "succeeded",
        }, api_key)
        intent = self._put({
            "id": intent_id, "object": "payment_intent", "amount": amount,
            "amount_capturable": 0, "amount_received": amount, "canceled_at": None,
            "cancellation_reason": None, "capture_method": "automatic_async",
            "client_secret": f"{intent_id}_secret_{_new_id('', 24)}",
            "confirmation_method": "automatic", "created": now, "currency": currency,
            "customer": customer, "description": description, "last_payment_error": None,
            "latest_charge": charge_id, "livemode": False, "metadata": dict(metadata),
            "payment_method": method, "payment_method_types": ["card"],
            "status": "succeeded",
        }, api_key)
        self._charge_of[intent_id] = charge_id
        return intent, charge

    # ------------------------------------------------------------------ subscriptions

    def _new_subscription(self, api_key: str, session: Json, customer: str,
                          extra: Json) -> Json:
        now = self._now()
        subscription_id = _new_id("sub_")
        state = _SubscriptionState(anchor=now, session=session["id"])
        items = []
        for line in self._session_items[session["id"]]:
            price = line["price"]
            if not price["recurring"]:
                continue
            item: Json = {
                "id": _new_id("si_", 14), "object": "subscription_item",
                "billing_thresholds": None, "created": now, "current_period_end": 0,
                "current_period_start": 0, "discounts": [], "metadata": {},
                "price": copy.deepcopy(price), "subscription": subscription_id,
                "tax_rates": [],
            }
            if price["recurring"]["usage_type"] != "metered":
                item["quantity"] = line["quantity"]
            items.append(item)
        subscription = self._put({
            "id": subscription_id, "object": "subscription", "application": None,
            "billing_cycle_anchor": now, "cancel_at": None, "cancel_at_period_end": False,
            "canceled_at": None,
            "cancellation_details": {"comment": None, "feedback": None, "reason": None},
            "collection_method": "charge_automatically", "created": now,
            "currency": session["currency"], "customer": customer, "days_until_due": None,
            "default_payment_method": None, "description": extra.get("subscription_description"),
            "discounts": [], "ended_at": None,
            "items": {"object": "list", "data": items, "has_more": False,
                      "total_count": len(items),
                      "url": f"/v1/subscription_items?subscription={subscription_id}"},
            "latest_invoice": None, "livemode": False,
            "metadata": dict(extra.get("subscription_metadata", {})),
            "pause_collection": None, "pending_update": None, "schedule": None,
            "start_date": now, "status": "active", "test_clock": None, "trial_end": None,
            "trial_start": None,
        }, api_key)
        self._subscriptions[subscription_id] = state
        self._set_periods(subscription, state)
        lines = [self._line(subscription, item, item["price"], item.get("quantity"),
                            (item["current_period_start"], item["current_period_end"]))
                 for item in items if "quantity" in item]
        for line in self._session_items[session["id"]]:
            if not line["price"]["recurring"]:
                lines.append(self._line(subscription, None, line["price"], line["quantity"],
                                        (now, now)))
        invoice = self._invoice(subscription, "subscription_create", lines, (now, now),
                                paid=True)
        subscription["latest_invoice"] = invoice["id"]
        return subscription

    def _set_periods(self, subscription: Json, state: _SubscriptionState) -> None:
        """Periods live on the items (current API versions): cycle n of an item runs from
        anchor + n intervals to anchor + n+1 intervals of its price."""
        for item in subscription["items"]["data"]:
            recurring = item["price"]["recurring"]
            count = recurring["interval_count"]
            item["current_period_start"] = _add_interval(state.anchor, recurring["interval"],
                                                         count * state.cycle)
            item["current_period_end"] = _add_interval(state.anchor, recurring["interval"],
                                                       count * (state.cycle + 1))

    def _period_end(self, subscription: Json) -> int:
        return max(item["current_period_end"] for item in subscription["items"]["data"])

    def _line(self, subscription: Json, item: Json | None, price: Json,
              quantity: float | None, period: tuple[int, int]) -> Json:
        """An invoice line item; `parent` says which subscription item (or one-time invoice
        item) it bills, `pricing.price_details` which price."""
        amount = round(price["unit_amount"] * (quantity or 0))
        name = self._objects[price["product"]]["name"]
        if item is not None:
            parent: Json = {"invoice_item_details": None, "subscription_item_details": {
                "invoice_item": None, "proration": False,
                "proration_details": {"credited_items": None},
                "subscription": subscription["id"], "subscription_item": item["id"]},
                "type": "subscription_item_details"}
        else:
            parent = {"invoice_item_details": {
                "invoice_item": _new_id("ii_"), "proration": False,
                "proration_details": {"credited_items": None},
                "subscription": subscription["id"]},
                "subscription_item_details": None, "type": "invoice_item_details"}
        return {
            "id": _new_id("il_"), "object": "line_item", "amount": amount,
            "currency": price["currency"], "description": f"{quantity or 0} x {name}",
            "discount_amounts": [], "discountable": True, "discounts": [], "invoice": None,
            "livemode": False, "metadata": {}, "parent": parent,
            "period": {"end": period[1], "start": period[0]}, "pretax_credit_amounts": [],
            "pricing": {"price_details": {"price": price["id"], "product": price["product"]},
                        "type": "price_details",
                        "unit_amount_decimal": str(price["unit_amount"])},
            "quantity": quantity, "subscription": subscription["id"], "subtotal": amount,
            "taxes": [],
        }

    def _invoice(self, subscription: Json, billing_reason: str, lines: list[Json],
                 period: tuple[int, int], *, paid: bool) -> Json:
        """An invoice of a subscription. It names the subscription only under
        `parent.subscription_details` (current API versions have no `invoice.subscription`)."""
        api_key = self._owner[subscription["id"]]
        now = self._now()
        invoice_id = _new_id("in_")
        total = sum(line["amount"] for line in lines)
        for line in lines:
            line["invoice"] = invoice_id
        self._invoice_number += 1
        customer = self._objects[subscription["customer"]]
        invoice = self._put({
            "id": invoice_id, "object": "invoice", "account_country": "US",
            "account_name": "FakeStripe test account", "amount_due": total,
            "amount_overpaid": 0, "amount_paid": 0, "amount_remaining": total,
            "amount_shipping": 0, "attempt_count": 0, "attempted": False,
            "auto_advance": True, "billing_reason": billing_reason,
            "collection_method": "charge_automatically", "created": now,
            "currency": subscription["currency"], "customer": customer["id"],
            "customer_email": customer["email"], "customer_name": customer["name"],
            "description": None, "discounts": [], "due_date": None, "effective_at": now,
            "ending_balance": 0,
            "hosted_invoice_url": f"{self.base_url}/invoice/{invoice_id}",
            "invoice_pdf": f"{self.base_url}/invoice/{invoice_id}/pdf",
            "last_finalization_error": None,
            "lines": {"object": "list", "data": lines, "has_more": False,
                      "total_count": len(lines), "url": f"/v1/invoices/{invoice_id}/lines"},
            "livemode": False, "metadata": {}, "next_payment_attempt": None,
            "number": f"FAKE-{self._invoice_number:04d}",
            "parent": {"quote_details": None, "subscription_details": {
                "metadata": dict(subscription["metadata"]),
                "subscription": subscription["id"]}, "type": "subscription_details"},
            "period_end": period[1], "period_start": period[0], "starting_balance": 0,
            "status": "open",
            "status_transitions": {"finalized_at": now, "marked_uncollectible_at": None,
                                   "paid_at": None, "voided_at": None},
            "subtotal": total, "subtotal_excluding_tax": total, "total": total,
            "total_discount_amounts": [], "total_excluding_tax": total, "total_taxes": [],
            "webhooks_delivered_at": now,
        }, api_key)
        if paid:
            self._pay_invoice(invoice)
        return invoice

    def _pay_invoice(self, invoice: Json) -> None:
        api_key = self._owner[invoice["id"]]
        total = invoice["total"]
        if total > 0:
            customer = self._objects[invoice["customer"]]
            intent, _ = self._payment(api_key, total, invoice["currency"], customer["id"], {},
                                      f"Invoice {invoice['number']}", customer["email"])
            self._payment_of_invoice[invoice["id"]] = intent["id"]
        invoice.update(amount_paid=total, amount_remaining=0, attempted=True,
                       attempt_count=invoice["attempt_count"] + (1 if total > 0 else 0),
                       auto_advance=False, next_payment_attempt=None, status="paid")
        invoice["status_transitions"]["paid_at"] = self._now()

    def _subscription(self, subscription_id: str) -> Json:
        subscription = self._objects.get(subscription_id)
        if subscription is None or subscription.get("object") != "subscription":
            raise KeyError(f"No such subscription: {subscription_id!r}")
        return subscription

    def _usage(self, subscription: Json, item: Json, start: int, end: int) -> float:
        """The metered usage of an item over [start, end): the meter's formula (sum, count or
        last) over the customer's accepted meter events."""
        meter = self._objects[item["price"]["recurring"]["meter"]]
        values = [e["value"] for e in self.meter_events
                  if e["api_key"] == self._owner[subscription["id"]]
                  and e["event_name"] == meter["event_name"]
                  and e["customer"] == subscription["customer"]
                  and start <= e["timestamp"] < end]
        formula = meter["default_aggregation"]["formula"]
        if formula == "count":
            return len(values)
        if formula == "last":
            return values[-1] if values else 0
        return sum(values)

    def _cycle_invoice(self, subscription: Json, state: _SubscriptionState, *,
                       paid: bool) -> Json:
        """Move to the next period and bill it: licensed items in advance for the new period,
        metered items in arrears for the one that ended."""
        old = {item["id"]: (item["current_period_start"], item["current_period_end"])
               for item in subscription["items"]["data"]}
        state.cycle += 1
        self._set_periods(subscription, state)
        lines = []
        for item in subscription["items"]["data"]:
            if "quantity" in item:
                lines.append(self._line(subscription, item, item["price"], item["quantity"],
                                        (item["current_period_start"],
                                         item["current_period_end"])))
            else:
                start, end = old[item["id"]]
                usage = self._usage(subscription, item, start, end)
                lines.append(self._line(subscription, item, item["price"], usage, (start, end)))
        period = (min(p[0] for p in old.values()), max(p[1] for p in old.values()))
        return self._invoice(subscription, "subscription_cycle", lines, period, paid=paid)

    def renew(self, subscription_id: str) -> list[Json]:
        """The period ends and the renewal is paid. Returns the events Stripe sends.

        active: the items move to the next period and a paid invoice (subscription_cycle)
        bills it -> invoice.paid, customer.subscription.updated (previous_attributes has the
        old items and latest_invoice).
        past_due/unpaid: the open invoice is paid on retry and the subscription is active
        again -> invoice.paid, customer.subscription.updated.
        cancel_at_period_end: the subscription ends instead -> customer.subscription.deleted.
        """
        with self._lock:
            subscription = self._subscription(subscription_id)
            api_key = self._owner[subscription_id]
            state = self._subscriptions[subscription_id]
            status = subscription["status"]
            if status in ("canceled", "incomplete_expired"):
                raise ValueError(f"Subscription {subscription_id} is {status}")
            if status in ("past_due", "unpaid"):
                invoice = self._objects[subscription["latest_invoice"]]
                self._pay_invoice(invoice)
                subscription["status"] = "active"
                return [self._event(api_key, "invoice.paid", invoice),
                        self._event(api_key, "customer.subscription.updated", subscription,
                                    previous={"status": status})]
            if subscription["cancel_at_period_end"]:
                subscription.update(status="canceled", ended_at=self._period_end(subscription))
                return [self._event(api_key, "customer.subscription.deleted", subscription)]
            previous = {"items": copy.deepcopy(subscription["items"]),
                        "latest_invoice": subscription["latest_invoice"]}
            invoice = self._cycle_invoice(subscription, state, paid=True)
            subscription["latest_invoice"] = invoice["id"]
            return [self._event(api_key, "invoice.paid", invoice),
                    self._event(api_key, "customer.subscription.updated", subscription,
                                previous=previous)]

    def fail_payment(self, subscription_id: str, *, status: str = "past_due") -> list[Json]:
        """A renewal payment fails. Returns the events Stripe sends.

        active: the period still moves on (as on Stripe) and its invoice stays open ->
        invoice.payment_failed, customer.subscription.updated (status past_due, or `status`
        "unpaid"). Already past_due/unpaid: another failed retry of the open invoice ->
        invoice.payment_failed (plus customer.subscription.updated if `status` changes it).
        """
        if status not in ("past_due", "unpaid"):
            raise ValueError("status must be past_due or unpaid")
        with self._lock:
            subscription = self._subscription(subscription_id)
            api_key = self._owner[subscription_id]
            state = self._subscriptions[subscription_id]
            old_status = subscription["status"]
            previous: Json = {"status": old_status}
            if old_status == "active":
                previous.update(items=copy.deepcopy(subscription["items"]),
                                latest_invoice=subscription["latest_invoice"])
                invoice = self._cycle_invoice(subscription, state, paid=False)
                subscription["latest_invoice"] = invoice["id"]
            elif old_status in ("past_due", "unpaid"):
                invoice = self._objects[subscription["latest_invoice"]]
            else:
                raise ValueError(f"Subscription {subscription_id} is {old_status}")
            invoice.update(attempted=True, attempt_count=invoice["attempt_count"] + 1,
                           next_payment_attempt=self._now() + 3 * 86400)
            events = [self._event(api_key, "invoice.payment_failed", invoice)]
            if status != old_status:
                subscription["status"] = status
                events.append(self._event(api_key, "customer.subscription.updated",
                                          subscription, previous=previous))
            return events

    def _set_cancel_at_period_end(self, subscription: Json, value: bool) -> Json | None:
        """Set or clear cancel_at_period_end (with cancel_at, canceled_at and the reason, as
        current API versions do); returns the previous attributes, None if nothing changed."""
        if subscription["cancel_at_period_end"] == value:
            return None
        previous = {"cancel_at": subscription["cancel_at"],
                    "cancel_at_period_end": subscription["cancel_at_period_end"],
                    "canceled_at": subscription["canceled_at"],
                    "cancellation_details": copy.deepcopy(subscription["cancellation_details"])}
        subscription.update(
            cancel_at_period_end=value,
            cancel_at=self._period_end(subscription) if value else None,
            canceled_at=self._now() if value else None)
        subscription["cancellation_details"]["reason"] = \
            "cancellation_requested" if value else None
        return previous

    def _cancel_now(self, subscription: Json, ctx: _Context | None) -> Json:
        now = self._now()
        subscription.update(status="canceled", canceled_at=now, ended_at=now)
        subscription["cancellation_details"]["reason"] = "cancellation_requested"
        return self._event(self._owner[subscription["id"]], "customer.subscription.deleted",
                           subscription, ctx=ctx)

    def cancel(self, subscription_id: str, *, at_period_end: bool = True) -> list[Json]:
        """The customer cancels (as in the billing portal). at_period_end: cancel_at_period_end
        and cancel_at are set -> customer.subscription.updated (renew() then ends it);
        otherwise it ends now -> customer.subscription.deleted."""
        with self._lock:
            subscription = self._subscription(subscription_id)
            if subscription["status"] == "canceled":
                raise ValueError(f"Subscription {subscription_id} is already canceled")
            if not at_period_end:
                return [self._cancel_now(subscription, None)]
            previous = self._set_cancel_at_period_end(subscription, True)
            if previous is None:
                return []
            return [self._event(self._owner[subscription_id], "customer.subscription.updated",
                                subscription, previous=previous)]

    def _retrieve_subscription(self, ctx: _Context, params: Json, id: str) -> Json:
        """GET /v1/subscriptions/<id>."""
        return self._retrieve("subscription", ctx, params, id)

    def _update_subscription(self, ctx: _Context, params: Json, id: str) -> Json:
        """POST /v1/subscriptions/<id>: cancel_at_period_end, metadata, description,
        cancellation_details; emits customer.subscription.updated (kept in `events`)."""
        where = f"POST {ctx.path}"
        _check_keys(params, _SUBSCRIPTION_UPDATE_PARAMS, "", where, unsupported={
            "add_invoice_items", "billing_cycle_anchor", "billing_schedules", "cancel_at",
            "discounts", "items", "pause_collection", "proration_date", "trial_end",
            "trial_from_plan", "trial_settings"})
        subscription = self._owned("subscription", id, ctx.api_key,
                                   param="subscription_exposed_id")
        cancel_at_period_end = _bool(params, "cancel_at_period_end")
        if subscription["status"] == "canceled" and set(params) - {
                "metadata", "cancellation_details", "expand"}:
            raise StripeApiError(400, "A canceled subscription can only update its "
                                 "cancellation_details and metadata.")
        details = params.get("cancellation_details")
        if details is not None:
            _check_keys(details, {"comment", "feedback"}, "cancellation_details", where)
        previous: Json = {}
        if "metadata" in params:
            metadata = _merge_metadata(subscription["metadata"], params["metadata"], "metadata")
            if metadata != subscription["metadata"]:
                previous["metadata"] = subscription["metadata"]
                subscription["metadata"] = metadata
        if "description" in params:
            previous["description"] = subscription["description"]
            subscription["description"] = _str(params, "description")
        if details:
            previous["cancellation_details"] = copy.deepcopy(subscription["cancellation_details"])
            subscription["cancellation_details"].update(
                {k: v or None for k, v in details.items()})
        if cancel_at_period_end is not None:
            previous.update(self._set_cancel_at_period_end(subscription, cancel_at_period_end)
                            or {})
        if previous:
            self._event(ctx.api_key, "customer.subscription.updated", subscription,
                        previous=previous, ctx=ctx)
        return self._expand(subscription, params, ctx.api_key)

    def _cancel_subscription(self, ctx: _Context, params: Json, id: str) -> Json:
        """DELETE /v1/subscriptions/<id>: ends it now; emits customer.subscription.deleted."""
        _check_keys(params, _SUBSCRIPTION_CANCEL_PARAMS, "", f"DELETE {ctx.path}")
        subscription = self._owned("subscription", id, ctx.api_key,
                                   param="subscription_exposed_id")
        if subscription["status"] == "canceled":
            raise StripeApiError(400, f"The subscription {id} has already been canceled.",
                                 param="subscription_exposed_id")
        details = params.get("cancellation_details")
        if details is not None:
            _check_keys(details, {"comment", "feedback"}, "cancellation_details",
                        f"DELETE {ctx.path}")
            subscription["cancellation_details"].update(
                {k: v or None for k, v in details.items()})
        self._cancel_now(subscription, ctx)
        return self._expand(subscription, params, ctx.api_key)

    # ------------------------------------------------------------------ other objects

    def _retrieve_invoice(self, ctx: _Context, params: Json, id: str) -> Json:
        return self._retrieve("invoice", ctx, params, id)

    def _retrieve_payment_intent(self, ctx: _Context, params: Json, id: str) -> Json:
        return self._retrieve("payment_intent", ctx, params, id)

    def _retrieve_charge(self, ctx: _Context, params: Json, id: str) -> Json:
        return self._retrieve("charge", ctx, params, id)

    def _retrieve_event(self, ctx: _Context, params: Json, id: str) -> Json:
        return self._retrieve("event", ctx, params, id)

    def _charge(self, payment_id: str) -> Json:
        """The charge of a payment intent (pi_...), of an invoice's payment (in_...), or the
        charge itself (ch_...)."""
        if payment_id.startswith("in_"):
            if payment_id not in self._payment_of_invoice:
                raise KeyError(f"Invoice {payment_id!r} has no payment")
            payment_id = self._payment_of_invoice[payment_id]
        if payment_id.startswith("pi_"):
            if payment_id not in self._charge_of:
                raise KeyError(f"No such payment_intent: {payment_id!r}")
            payment_id = self._charge_of[payment_id]
        charge = self._objects.get(payment_id)
        if charge is None or charge.get("object") != "charge":
            raise KeyError(f"No such charge: {payment_id!r}")
        return charge

    def refund(self, payment_id: str, amount: int | None = None) -> list[Json]:
        """Refund a payment (pi_..., an invoice's in_..., or ch_...), fully by default.
        Returns ["charge.refunded"]: the charge with amount_refunded and refunded (true once
        fully refunded) and previous_attributes. ValueError past the refundable amount or on a
        disputed charge (Stripe's charge_disputed)."""
        with self._lock:
            charge = self._charge(payment_id)
            remaining = charge["amount"] - charge["amount_refunded"]
            amount = remaining if amount is None else amount
            if charge["disputed"]:
                raise ValueError(f"Charge {charge['id']} has been disputed")
            if not 0 < amount <= remaining:
                raise ValueError(f"Cannot refund {amount}: {remaining} left on {charge['id']}")
            api_key = self._owner[charge["id"]]
            previous = {"amount_refunded": charge["amount_refunded"],
                        "refunded": charge["refunded"]}
            charge["amount_refunded"] += amount
            charge["refunded"] = charge["amount_refunded"] == charge["amount"]
            self._put({
                "id": _new_id("re_"), "object": "refund", "amount": amount,
                "charge": charge["id"], "created": self._now(), "currency": charge["currency"],
                "metadata": {}, "payment_intent": charge["payment_intent"], "reason": None,
                "status": "succeeded",
            }, api_key)
            return [self._event(api_key, "charge.refunded", charge, previous=previous)]

    def dispute(self, payment_id: str, *, reason: str = "fraudulent") -> list[Json]:
        """The cardholder disputes a payment (pi_..., in_... or ch_...). Returns
        ["charge.dispute.created"]: a dispute (dp_...) with charge, payment_intent, amount,
        reason, status needs_response."""
        with self._lock:
            charge = self._charge(payment_id)
            api_key = self._owner[charge["id"]]
            now = self._now()
            charge["disputed"] = True
            dispute = self._put({
                "id": _new_id("dp_"), "object": "dispute", "amount": charge["amount"],
                "balance_transactions": [], "charge": charge["id"], "created": now,
                "currency": charge["currency"], "evidence": {},
                "evidence_details": {"due_by": now + 7 * 86400, "has_evidence": False,
                                     "past_due": False, "submission_count": 0},
                "is_charge_refundable": False, "livemode": False, "metadata": {},
                "payment_intent": charge["payment_intent"], "reason": reason,
                "status": "needs_response",
            }, api_key)
            return [self._event(api_key, "charge.dispute.created", dispute)]

    # ------------------------------------------------------------------ billing portal

    def _create_portal_session(self, ctx: _Context, params: Json) -> Json:
        """POST /v1/billing_portal/sessions: customer (required, of this account), return_url."""
        where = "POST /v1/billing_portal/sessions"
        _check_keys(params, _PORTAL_PARAMS, "", where, unsupported={"flow_data"})
        customer = _str(params, "customer", required=True)
        assert customer is not None
        return_url = _url(params, "return_url")
        self._owned("customer", customer, ctx.api_key, param="customer", status=400)
        self._portal_return[customer] = return_url
        return self._put({
            "id": _new_id("bps_"), "object": "billing_portal.session",
            "configuration": _new_id("bpc_"), "created": self._now(), "customer": customer,
            "flow": None, "livemode": False, "locale": None, "on_behalf_of": None,
            "return_url": return_url, "url": f"{self.base_url}/billing/{customer}",
        }, ctx.api_key)

    # ------------------------------------------------------------------ meters

    def _create_meter(self, ctx: _Context, params: Json) -> Json:
        """POST /v1/billing/meters: display_name, event_name (unique among the account's
        meters), default_aggregation[formula] (sum, count or last), and optionally
        customer_mapping[event_payload_key] and value_settings[event_payload_key]."""
        where = "POST /v1/billing/meters"
        _check_keys(params, _METER_PARAMS, "", where, unsupported={"event_time_window"})
        display_name = _str(params, "display_name", required=True, max_length=250)
        event_name = _str(params, "event_name", required=True, max_length=100)
        aggregation = params.get("default_aggregation")
        if aggregation is None:
            raise _missing("default_aggregation")
        _check_keys(aggregation, {"formula"}, "default_aggregation", where)
        formula = _enum(aggregation, "formula", _FORMULAS, "default_aggregation", required=True)
        mapping = params.get("customer_mapping") or {}
        _check_keys(mapping, {"event_payload_key", "type"}, "customer_mapping", where)
        value_settings = params.get("value_settings") or {}
        _check_keys(value_settings, {"event_payload_key"}, "value_settings", where)
        for meter in self.objects("billing.meter", ctx.api_key):
            if meter["event_name"] == event_name and meter["status"] == "active":
                raise StripeApiError(400, f"A meter with event_name `{event_name}` already "
                                     "exists.", param="event_name")
        now = self._now()
        return self._put({
            "id": _new_id("mtr_test_"), "object": "billing.meter", "created": now,
            "customer_mapping": {
                "event_payload_key": mapping.get("event_payload_key") or "stripe_customer_id",
                "type": "by_id"},
            "default_aggregation": {"formula": formula}, "display_name": display_name,
            "event_name": event_name, "event_time_window": None, "livemode": False,
            "status": "active", "status_transitions": {"deactivated_at": None},
            "updated": now,
            "value_settings": {
                "event_payload_key": value_settings.get("event_payload_key") or "value"},
        }, ctx.api_key)

    def _retrieve_meter(self, ctx: _Context, params: Json, id: str) -> Json:
        return self._retrieve("billing.meter", ctx, params, id)

    def _create_meter_event(self, ctx: _Context, params: Json) -> Json:
        """POST /v1/billing/meter_events: event_name, payload (the meter's customer and value
        keys, by default stripe_customer_id and value), identifier, timestamp (within the
        past 35 days, at most 5 minutes ahead). An identifier the account already used is
        refused as Stripe refuses it ("An event already exists with identifier ...", 400,
        Stripe-Should-Retry: false) and not counted."""
        where = "POST /v1/billing/meter_events"
        _check_keys(params, _METER_EVENT_PARAMS, "", where)
        event_name = _str(params, "event_name", required=True, max_length=100)
        payload = params.get("payload")
        if payload is None or payload == "":
            raise _missing("payload")
        if not isinstance(payload, dict):
            raise StripeApiError(400, "Invalid object: payload", param="payload")
        customer_key, value_key = "stripe_customer_id", "value"
        for meter in self.objects("billing.meter", ctx.api_key):
            if meter["event_name"] == event_name:
                customer_key = meter["customer_mapping"]["event_payload_key"]
                value_key = meter["value_settings"]["event_payload_key"]
        customer = _str(payload, customer_key, "payload", required=True)
        raw_value = _str(payload, value_key, "payload", required=True)
        assert raw_value is not None
        if not re.fullmatch(r"-?\d+(\.\d+)?", raw_value):
            raise StripeApiError(400, f"Invalid payload[{value_key}]: {raw_value} is not a "
                                 "number.", param=f"payload[{value_key}]")
        value: float = float(raw_value) if "." in raw_value else int(raw_value)
        now = self._now()
        timestamp = _int(params, "timestamp")
        if timestamp is None:
            timestamp = now
        elif timestamp < now - 35 * 86400:
            raise StripeApiError(400, "Timestamp must be within the past 35 calendar days.",
                                 param="timestamp")
        elif timestamp > now + 300:
            raise StripeApiError(400, "Timestamp must not be more than 5 minutes in the "
                                 "future.", param="timestamp")
        identifier = _str(params, "identifier", max_length=100) or _new_id("", 32)
        if (ctx.api_key, identifier) in self._meter_identifiers:
            raise StripeApiError(400, f"An event already exists with identifier {identifier}.",
                                 param="identifier")
        self._meter_identifiers.add((ctx.api_key, identifier))
        self.meter_events.append({"api_key": ctx.api_key, "event_name": event_name,
                                  "customer": customer, "value": value,
                                  "identifier": identifier, "timestamp": timestamp})
        return {"object": "billing.meter_event", "created": now, "event_name": event_name,
                "identifier": identifier, "livemode": False, "payload": dict(payload),
                "timestamp": timestamp}

    # ------------------------------------------------------------------ HTTP: pages

    def _page(self, title: str, body: str) -> bytes:
        return (f"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
                f"<title>{html.escape(title)}</title></head><body>{body}</body></html>"
                ).encode()

    def _checkout_page(self, session_id: str) -> tuple[int, bytes]:
        """GET /pay/<id>: Stripe's hosted Checkout page, reduced to amount, items and Pay."""
        with self._lock:
            session = self._objects.get(session_id)
            if session is None or session.get("object") != "checkout.session":
                return 404, self._page("Fake Stripe Checkout", "<h1>Something went wrong</h1>"
                                       "<p>This Checkout Session does not exist.</p>")
            session = copy.deepcopy(session)
            items = copy.deepcopy(self._session_items[session_id])
            customer = session["customer"]
            prefill = session["customer_email"] or (
                self._objects[customer]["email"] if customer else None) or ""
        title = "Fake Stripe Checkout"
        amount = html.escape(format_amount(session["amount_total"], session["currency"]))
        if session["status"] != "open":
            return 200, self._page(title, f"<h1>{title}</h1><p id=\"status\">This Checkout "
                                   f"Session is {html.escape(session['status'])}.</p>")
        rows = "".join(f"<li>{html.escape(str(i['description']))}"
                       f"{' x ' + str(i['quantity']) if i['quantity'] is not None else ''}</li>"
                       for i in items)
        back = (f"<p><a href=\"{html.escape(session['cancel_url'])}\">Back</a></p>"
                if session["cancel_url"] else "")
        email = html.escape(prefill)
        readonly = " readonly" if session["customer_email"] else ""
        return 200, self._page(title, (
            f"<h1>{title}</h1><p id=\"amount\">{amount}</p><ul>{rows}</ul>"
            f"<form method=\"post\" action=\"/pay/{html.escape(session_id)}\">"
            f"<label>Email <input type=\"email\" name=\"email\" value=\"{email}\"{readonly}>"
            "</label> <button type=\"submit\">Pay</button></form>" + back))

    def _pay(self, session_id: str, body: bytes) -> tuple[int, bytes, dict[str, str]]:
        """POST /pay/<id>: complete the checkout, deliver its events (or hold them), then
        303 to success_url with {CHECKOUT_SESSION_ID} filled in, as Checkout redirects."""
        form = dict(parse_qsl(body.decode("utf-8", "replace")))
        try:
            events = self.complete_checkout(session_id, email=form.get("email") or None)
        except (KeyError, ValueError) as error:
            return 400, self._page("Fake Stripe Checkout", "<h1>Payment not possible</h1>"
                                   f"<p>{html.escape(str(error))}</p>"), {}
        self._dispatch(events)
        session = self.get(session_id)
        location = session["success_url"].replace("{CHECKOUT_SESSION_ID}", session_id)
        return 303, b"", {"Location": location}

    def _portal_page(self, customer_id: str) -> tuple[int, bytes]:
        """GET /billing/<customer>: the billing portal, reduced to the customer's
        subscriptions, a cancel button each, and the return link."""
        title = "Fake Stripe billing portal"
        with self._lock:
            customer = self._objects.get(customer_id)
            if customer is None or customer.get("object") != "customer":
                return 404, self._page(title, "<h1>No such customer</h1>")
            subs = [copy.deepcopy(s) for s in self._objects.values()
                    if s.get("object") == "subscription" and s["customer"] == customer_id]
            return_url = self._portal_return.get(customer_id)
        rows = []
        for sub in subs:
            state = sub["status"] + (" (cancels at period end)"
                                     if sub["cancel_at_period_end"] else "")
            button = ""
            if sub["status"] in ("active", "past_due") and not sub["cancel_at_period_end"]:
                button = (f"<form method=\"post\" action=\"/billing/{html.escape(customer_id)}"
                          f"/cancel/{html.escape(sub['id'])}\"><button type=\"submit\">"
                          "Cancel subscription</button></form>")
            rows.append(f"<li id=\"{html.escape(sub['id'])}\">{html.escape(sub['id'])}: "
                        f"{html.escape(state)}{button}</li>")
        back = (f"<p><a href=\"{html.escape(return_url)}\">Return</a></p>"
                if return_url else "")
        return 200, self._page(title, f"<h1>{title}</h1><p>{html.escape(customer_id)}</p>"
                               f"<ul>{''.join(rows)}</ul>{back}")

    def _portal_cancel(self, customer_id: str,
                       subscription_id: str) -> tuple[int, bytes, dict[str, str]]:
        """POST /billing/<customer>/cancel/<sub>: cancel at period end, deliver the event."""
        with self._lock:
            sub = self._objects.get(subscription_id)
            if sub is None or sub.get("object") != "subscription" \
                    or sub["customer"] != customer_id:
                return 404, self._page("Fake Stripe billing portal", "<h1>Not found</h1>"), {}
        try:
            events = self.cancel(subscription_id, at_period_end=True)
        except ValueError as error:
            return 400, self._page("Fake Stripe billing portal",
                                   f"<p>{html.escape(str(error))}</p>"), {}
        self._dispatch(events)
        return 303, b"", {"Location": f"/billing/{quote(customer_id)}"}

    def _serve(self, handler: _Handler, method: str) -> None:
        parts = urlsplit(handler.path)
        path = parts.path
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        headers = dict(handler.headers.items())
        content_type = "text/html; charset=utf-8"
        extra: dict[str, str] = {}
        segments = path.strip("/").split("/")
        if path.startswith("/v1/"):
            content_type = "application/json"
            try:
                status, payload, extra = self._handle_api(method, path, parts.query, body,
                                                          headers)
            except Exception as error:  # a bug in the fake: say so instead of hanging up
                self.crashes.append(f"{method} {path}: {error!r}")
                status, extra = 500, {}
                payload = json.dumps(StripeApiError(
                    500, f"FakeStripe crashed: {error!r}", type_="api_error").body()).encode()
        elif len(segments) == 2 and segments[0] == "pay" and method == "GET":
            status, payload = self._checkout_page(segments[1])
        elif len(segments) == 2 and segments[0] == "pay" and method == "POST":
            status, payload, extra = self._pay(segments[1], body)
        elif len(segments) == 2 and segments[0] == "billing" and method == "GET":
            status, payload = self._portal_page(segments[1])
        elif len(segments) == 4 and segments[0] == "billing" and segments[2] == "cancel" \
                and method == "POST":
            status, payload, extra = self._portal_cancel(segments[1], segments[3])
        else:
            status, payload = 404, self._page("Not found", "<h1>Not found</h1>")
        handler.send_response(status)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(payload)))
        for name, value in extra.items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(payload)


class _Handler(BaseHTTPRequestHandler):
    """Hands every request to the FakeStripe that owns the server; one connection per request
    (HTTP/1.0), so stopping never waits on an idle keep-alive connection."""

    server: _Server
    protocol_version = "HTTP/1.0"

    def do_GET(self) -> None:
        self.server.fake._serve(self, "GET")

    def do_POST(self) -> None:
        self.server.fake._serve(self, "POST")

    def do_DELETE(self) -> None:
        self.server.fake._serve(self, "DELETE")

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the test output is not the place for an access log."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], fake: FakeStripe) -> None:
        super().__init__(address, _Handler)
        self.fake = fake


__all__ = ["API_VERSION", "DEFAULT_API_KEY", "FakeStripe", "StripeApiError", "encode_event",
           "format_amount", "parse_params", "sign"]
