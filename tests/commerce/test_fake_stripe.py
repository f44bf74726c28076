"""The local Stripe fake, driven through the official `stripe` package as the portal drives it:
what it answers, what it refuses, and the events and signatures it produces."""

from __future__ import annotations

import calendar
import http.client
import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import pytest
import stripe

from .fake_stripe import API_VERSION, FakeStripe, encode_event, parse_params, sign

KEY = "sk_test_fake"
OTHER_KEY = "sk_test_other"
SECRET = "whsec_test_secret"


def client_for(fake: FakeStripe, key: str = KEY, retries: int = 0) -> stripe.StripeClient:
    return stripe.StripeClient(key, base_addresses={"api": fake.base_url},
                               max_network_retries=retries)


@pytest.fixture
def api(fake_stripe: FakeStripe) -> stripe.StripeClient:
    return client_for(fake_stripe)


def one_time(amount: int = 1234, quantity: int = 1, currency: str = "eur",
             name: str = "Editor") -> dict[str, Any]:
    return {"price_data": {"currency": currency, "unit_amount": amount,
                           "product_data": {"name": name}}, "quantity": quantity}


def payment_session(api: stripe.StripeClient, **extra: Any) -> Any:
    params = {"mode": "payment", "success_url": "https://shop.test/done?s={CHECKOUT_SESSION_ID}",
              "cancel_url": "https://shop.test/form", "line_items": [one_time()], **extra}
    return api.v1.checkout.sessions.create(params=params)


def yearly_price(api: stripe.StripeClient, amount: int = 10000) -> Any:
    return api.v1.prices.create(params={"currency": "usd", "unit_amount": amount,
                                        "recurring": {"interval": "year"},
                                        "product_data": {"name": "Editor yearly"}})


def subscription_session(api: stripe.StripeClient, *line_items: dict[str, Any],
                         **extra: Any) -> Any:
    return api.v1.checkout.sessions.create(params={
        "mode": "subscription", "success_url": "https://shop.test/done",
        "line_items": list(line_items), **extra})


def plus_months(timestamp: int, months: int) -> int:
    moment = datetime.fromtimestamp(timestamp, UTC)
    year, month0 = divmod(moment.month - 1 + months, 12)
    year += moment.year
    day = min(moment.day, calendar.monthrange(year, month0 + 1)[1])
    return int(moment.replace(year=year, month=month0 + 1, day=day).timestamp())


class Receiver:
    """A webhook endpoint on a free port that records what it gets and answers `status`."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.status = 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append((dict(self.headers.items()), body))
                self.send_response(receiver.status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/stripe"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()

    def events(self) -> list[Any]:
        return [stripe.Webhook.construct_event(body, headers["Stripe-Signature"], SECRET)
                for headers, body in self.received]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    hook = Receiver()
    yield hook
    hook.server.shutdown()
    hook.server.server_close()


def browser(fake: FakeStripe, method: str, path: str,
            body: str | None = None) -> tuple[int, dict[str, str], str]:
    """A request as a browser sends it, without following redirects."""
    connection = http.client.HTTPConnection(urlsplit(fake.base_url).netloc, timeout=10)
    headers = {"Content-Type": "application/x-www-form-urlencoded"} if body is not None else {}
    connection.request(method, path, body=body, headers=headers)
    response = connection.getresponse()
    result = response.status, dict(response.getheaders()), response.read().decode()
    connection.close()
    return result


# ----------------------------------------------------------------------------- wire format


def test_bracket_notation_parses_into_nested_hashes_and_arrays():
    pairs = [("line_items[0][price_data][unit_amount]", "100"),
             ("line_items[0][quantity]", "2"), ("line_items[1][price]", "price_1"),
             ("metadata[order]", "7"), ("expand[]", "a"), ("expand[]", "b"), ("mode", "")]
    assert parse_params(pairs) == {
        "line_items": [{"price_data": {"unit_amount": "100"}, "quantity": "2"},
                       {"price": "price_1"}],
        "metadata": {"order": "7"}, "expand": ["a", "b"], "mode": ""}


def test_the_fake_speaks_the_packages_api_version():
    assert API_VERSION == stripe.api_version == "2026-10-28.endive"


# ----------------------------------------------------------------------------- checkout


def test_a_payment_session_has_stripes_shape_and_is_retrievable(fake_stripe, api):
    session = payment_session(api, line_items=[one_time(1234, 2), one_time(500, 1)],
                              customer_email="bea@example.org", client_reference_id="order-7",
                              metadata={"order": "7"},
                              payment_intent_data={"metadata": {"order": "7"}})

    assert session.id.startswith("cs_test_") and len(session.id) == 66
    assert session.object == "checkout.session"
    assert session.url == f"{fake_stripe.base_url}/pay/{session.id}"
    assert (session.status, session.payment_status, session.mode) == ("open", "unpaid",
                                                                      "payment")
    assert (session.amount_total, session.currency) == (2968, "eur")
    assert session.metadata.to_dict() == {"order": "7"}
    assert (session.client_reference_id, session.customer_email) == ("order-7",
                                                                     "bea@example.org")
    assert session.customer is None and session.payment_intent is None
    assert session.subscription is None and session.livemode is False
    assert session.expires_at - session.created == 24 * 3600

    again = api.v1.checkout.sessions.retrieve(session.id, params={"expand": ["line_items"]})
    assert again.amount_total == 2968
    assert [(i.description, i.quantity, i.amount_total) for i in again.line_items.data] == [
        ("Editor", 2, 2468), ("Editor", 1, 500)]


def test_requests_are_recorded_parsed_with_their_headers(fake_stripe, api):
    payment_session(api)
    method, path, params, headers = fake_stripe.requests[-1]
    assert (method, path) == ("POST", "/v1/checkout/sessions")
    assert params["line_items"][0]["price_data"]["unit_amount"] == "1234"
    assert headers["Authorization"] == f"Bearer {KEY}"
    assert headers["Idempotency-Key"]  # the package sends one with every POST
    assert headers["Stripe-Version"] == API_VERSION


def test_a_stored_price_sets_amount_and_currency(api):
    price = api.v1.prices.create(params={"currency": "usd", "unit_amount": 4900,
                                         "product_data": {"name": "One seat"}})
    assert (price.type, price.recurring, price.product[:5]) == ("one_time", None, "prod_")
    assert api.v1.prices.retrieve(price.id).unit_amount == 4900

    session = payment_session(api, line_items=[{"price": price.id, "quantity": 3}])
    assert (session.amount_total, session.currency) == (14700, "usd")


@pytest.mark.parametrize("params, param, message", [
    ({"success_url": None}, "success_url", "Missing required param: success_url."),
    ({"line_items": None}, "line_items", "Missing required param: line_items."),
    ({"mode": None}, "mode", "Missing required param: mode."),
    ({"colour": "red"}, "colour", "Received unknown parameter: colour"),
    ({"success_url": "not a url"}, "success_url", "Not a valid URL"),
    ({"line_items": [{"price_data": {"currency": "eur", "unit_amount": 1,
                                     "product_data": {"name": "x"}}}]},
     "line_items[0][quantity]", "Quantity is required"),
    ({"line_items": [{"price": "price_nope", "quantity": 1}]},
     "line_items[0][price]", "No such price: 'price_nope'"),
    ({"customer": "cus_nope"}, "customer", "No such customer: 'cus_nope'"),
    ({"customer_email": "a@example.org", "customer": "cus_x"}, "customer",
     "You may only specify one of these parameters: customer, customer_email."),
    ({"subscription_data": {"metadata": {"a": "b"}}}, "subscription_data",
     "You can not pass `subscription_data` in `payment` mode."),
    ({"expires_at": 60}, "expires_at", "at least 30 minutes"),
    ({"ui_mode": "embedded_page"}, "ui_mode", "FakeStripe does not implement"),
])
def test_bad_session_parameters_are_refused_like_stripe(fake_stripe, api, params, param,
                                                        message):
    base = {"mode": "payment", "success_url": "https://shop.test/done",
            "line_items": [one_time()]}
    full = {k: v for k, v in {**base, **params}.items() if v is not None}
    if "expires_at" in params:
        full["expires_at"] = int(time.time()) + params["expires_at"]
    with pytest.raises(stripe.InvalidRequestError) as refused:
        api.v1.checkout.sessions.create(params=full)
    assert refused.value.http_status == 400
    assert refused.value.param == param
    assert message in refused.value.user_message
    assert refused.value.error.type == "invalid_request_error"
    assert fake_stripe.sessions == {}


def test_payment_and_subscription_mode_check_their_prices(api):
    yearly = yearly_price(api)
    with pytest.raises(stripe.InvalidRequestError, match="recurring price"):
        payment_session(api, line_items=[{"price": yearly.id, "quantity": 1}])
    with pytest.raises(stripe.InvalidRequestError, match="at least one recurring price"):
        subscription_session(api, one_time())


def test_an_unknown_session_is_404_resource_missing(api):
    with pytest.raises(stripe.InvalidRequestError) as missing:
        api.v1.checkout.sessions.retrieve("cs_test_nope")
    assert missing.value.http_status == 404
    assert missing.value.code == "resource_missing"
    assert missing.value.user_message == "No such checkout.session: 'cs_test_nope'"


def test_an_unknown_url_is_404(api):
    with pytest.raises(stripe.InvalidRequestError) as missing:
        api.raw_request("get", "/v1/nothing_here")
    assert missing.value.http_status == 404
    assert "Unrecognized request URL (GET: /v1/nothing_here)" in missing.value.user_message


def test_expiring_a_session(fake_stripe, api):
    session = payment_session(api)
    expired = api.v1.checkout.sessions.expire(session.id)
    assert (expired.status, expired.url) == ("expired", None)
    assert fake_stripe.events[-1]["type"] == "checkout.session.expired"
    with pytest.raises(stripe.InvalidRequestError, match="can be expired"):
        api.v1.checkout.sessions.expire(session.id)
    with pytest.raises(ValueError, match="expired, not open"):
        fake_stripe.complete_checkout(session.id)


# ----------------------------------------------------------------------------- accounts


def test_a_wrong_or_missing_key_is_401(fake_stripe):
    with pytest.raises(stripe.AuthenticationError) as refused:
        payment_session(client_for(fake_stripe, "sk_test_wrongwrongwrong"))
    assert refused.value.http_status == 401
    assert refused.value.user_message.startswith("Invalid API Key provided: sk_test_")
    assert "wrongwrongwrong" not in refused.value.user_message  # masked, as Stripe does

    connection = http.client.HTTPConnection(urlsplit(fake_stripe.base_url).netloc)
    connection.request("GET", "/v1/checkout/sessions/cs_test_x")
    response = connection.getresponse()
    assert response.status == 401
    assert "did not provide an API key" in json.loads(response.read())["error"]["message"]
    connection.close()
    assert fake_stripe.sessions == {}


def test_objects_belong_to_the_account_whose_key_made_them(fake_stripe, api):
    fake_stripe.api_keys.add(OTHER_KEY)
    other = client_for(fake_stripe, OTHER_KEY)
    session = payment_session(api)
    price = yearly_price(api)

    assert fake_stripe.owner(session.id) == KEY
    with pytest.raises(stripe.InvalidRequestError) as hidden:
        other.v1.checkout.sessions.retrieve(session.id)
    assert hidden.value.http_status == 404
    with pytest.raises(stripe.InvalidRequestError, match="No such price"):
        subscription_session(other, {"price": price.id, "quantity": 1})
    assert api.v1.checkout.sessions.retrieve(session.id).id == session.id


# ----------------------------------------------------------------------------- idempotency


def test_a_repeated_idempotency_key_replays_the_response_and_creates_nothing(fake_stripe,
                                                                            api):
    options = {"idempotency_key": "order-7-checkout"}
    params = {"mode": "payment", "success_url": "https://shop.test/done",
              "line_items": [one_time()]}
    first = api.v1.checkout.sessions.create(params=params, options=options)
    again = api.v1.checkout.sessions.create(params=params, options=options)

    assert again.id == first.id
    assert again.last_response.headers["Idempotent-Replayed"] == "true"
    assert list(fake_stripe.sessions) == [first.id]
    assert len(fake_stripe.requests) == 2

    with pytest.raises(stripe.IdempotencyError, match="same parameters"):
        api.v1.checkout.sessions.create(params={
            "mode": "payment", "success_url": "https://shop.test/other",
            "line_items": [one_time()]}, options=options)

    fake_stripe.api_keys.add(OTHER_KEY)  # keys are per account
    elsewhere = client_for(fake_stripe, OTHER_KEY).v1.checkout.sessions.create(
        params=params, options=options)
    assert elsewhere.id != first.id


def test_a_refused_request_is_not_kept_for_its_idempotency_key(fake_stripe, api):
    options = {"idempotency_key": "k-1"}
    params = {"mode": "payment", "line_items": [one_time()]}
    with pytest.raises(stripe.InvalidRequestError):
        api.v1.checkout.sessions.create(params=params, options=options)
    # Stripe saves no result for a request that failed validation: the key is still free.
    fixed = api.v1.checkout.sessions.create(
        params={**params, "success_url": "https://shop.test/done"}, options=options)
    assert list(fake_stripe.sessions) == [fixed.id]


def test_concurrent_retries_with_one_key_create_one_session(fake_stripe):
    params = {"mode": "payment", "success_url": "https://shop.test/done",
              "line_items": [one_time()]}
    ids: list[str] = []

    def create(key: str) -> None:
        session = client_for(fake_stripe).v1.checkout.sessions.create(
            params=params, options={"idempotency_key": key})
        ids.append(session.id)

    threads = [threading.Thread(target=create, args=(key,))
               for key in ["same"] * 6 + ["a", "b"]]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(ids) == 8 and len(set(ids)) == 3
    assert len(fake_stripe.sessions) == 3


# ----------------------------------------------------------------------------- outages


def test_down_answers_503_api_error(fake_stripe, api):
    fake_stripe.down = True
    with pytest.raises(stripe.APIError) as failed:
        payment_session(api)
    assert failed.value.http_status == 503
    assert failed.value.error.type == "api_error"
    assert len(fake_stripe.requests) == 1 and fake_stripe.sessions == {}

    fake_stripe.down = False
    assert payment_session(api).status == "open"


def test_fail_next_then_a_retry_with_the_same_idempotency_key_succeeds(fake_stripe,
                                                                      monkeypatch):
    monkeypatch.setattr(stripe._http_client.HTTPClient, "INITIAL_DELAY", 0.01)
    monkeypatch.setattr(stripe._http_client.HTTPClient, "_add_jitter_time", lambda self, s: s)
    fake_stripe.fail_next(1)
    session = payment_session(client_for(fake_stripe, retries=1))

    assert session.status == "open"
    (_, _, _, first), (_, _, _, retry) = fake_stripe.requests
    assert first["Idempotency-Key"] == retry["Idempotency-Key"]
    assert list(fake_stripe.sessions) == [session.id]
    with pytest.raises(stripe.APIError):  # and only once
        fake_stripe.fail_next(1)
        payment_session(client_for(fake_stripe))


# ----------------------------------------------------------------------------- the buyer


def test_completing_a_payment_checkout(fake_stripe, api):
    session = payment_session(api, payment_intent_data={"metadata": {"order": "7"}})
    events = fake_stripe.complete_checkout(session.id, email="bea@example.org")

    assert [e["type"] for e in events] == ["checkout.session.completed",
                                           "payment_intent.succeeded"]
    for event in events:
        assert event["id"].startswith("evt_") and event["object"] == "event"
        assert (event["api_version"], event["livemode"]) == (API_VERSION, False)
        assert event["created"] >= session.created
    completed, succeeded = (e["data"]["object"] for e in events)
    intent_id = succeeded["id"]
    assert intent_id.startswith("pi_") and succeeded["status"] == "succeeded"
    assert (succeeded["amount"], succeeded["currency"]) == (1234, "eur")
    assert succeeded["metadata"] == {"order": "7"}
    assert (completed["status"], completed["payment_status"]) == ("complete", "paid")
    assert completed["payment_intent"] == intent_id
    assert completed["customer_details"]["email"] == "bea@example.org"
    # As on Stripe: in payment mode no Customer unless customer_creation=always.
    assert completed["customer"] is None and succeeded["customer"] is None

    retrieved = api.v1.checkout.sessions.retrieve(session.id)
    assert (retrieved.status, retrieved.payment_intent) == ("complete", intent_id)
    assert api.v1.payment_intents.retrieve(intent_id).latest_charge.startswith("ch_")
    with pytest.raises(ValueError, match="complete, not open"):
        fake_stripe.complete_checkout(session.id)


def test_customer_creation_always_makes_a_customer(fake_stripe, api):
    session = payment_session(api, customer_creation="always", customer_email="a@example.org")
    completed, succeeded = (e["data"]["object"]
                            for e in fake_stripe.complete_checkout(session.id))
    assert completed["customer"].startswith("cus_")
    assert succeeded["customer"] == completed["customer"]
    assert api.v1.customers.retrieve(completed["customer"]).email == "a@example.org"


def test_completing_a_subscription_checkout(fake_stripe, api):
    monthly = api.v1.prices.create(params={"currency": "usd", "unit_amount": 1500,
                                           "recurring": {"interval": "month"},
                                           "product_data": {"name": "Editor monthly"}})
    session = subscription_session(api, {"price": monthly.id, "quantity": 2},
                                   subscription_data={"metadata": {"order": "9"}},
                                   client_reference_id="order-9")
    events = fake_stripe.complete_checkout(session.id)

    assert [e["type"] for e in events] == ["customer.subscription.created",
                                           "checkout.session.completed", "invoice.paid"]
    created, completed, invoice = (e["data"]["object"] for e in events)
    sub_id = created["id"]
    assert sub_id.startswith("sub_") and created["status"] == "active"
    assert created["metadata"] == {"order": "9"}
    assert (completed["subscription"], completed["invoice"]) == (sub_id, invoice["id"])
    assert completed["customer"].startswith("cus_") and created["customer"] == \
        completed["customer"]
    assert invoice["id"].startswith("in_") and invoice["status"] == "paid"
    assert invoice["billing_reason"] == "subscription_create"
    assert invoice["amount_paid"] == 3000 and invoice["customer"] == completed["customer"]
    assert invoice["parent"]["subscription_details"]["subscription"] == sub_id
    assert invoice["parent"]["subscription_details"]["metadata"] == {"order": "9"}
    assert "subscription" not in invoice  # gone from Invoice in current API versions

    subscription = api.v1.subscriptions.retrieve(sub_id)
    item = subscription["items"].data[0]
    assert item.id.startswith("si_") and item.price.id == monthly.id and item.quantity == 2
    assert item.current_period_end == plus_months(item.current_period_start, 1)
    assert subscription.latest_invoice == invoice["id"]
    line = invoice["lines"]["data"][0]
    assert line["period"] == {"start": item.current_period_start,
                              "end": item.current_period_end}
    assert line["parent"]["subscription_item_details"]["subscription_item"] == item.id


def test_renewal_failure_retry_and_cancellation(fake_stripe, api):
    session = subscription_session(api, {"price": yearly_price(api).id, "quantity": 1})
    sub_id = fake_stripe.complete_checkout(session.id)[0]["data"]["object"]["id"]
    start = api.v1.subscriptions.retrieve(sub_id)["items"].data[0].current_period_start

    paid, updated = fake_stripe.renew(sub_id)
    assert (paid["type"], updated["type"]) == ("invoice.paid", "customer.subscription.updated")
    assert paid["data"]["object"]["billing_reason"] == "subscription_cycle"
    item = updated["data"]["object"]["items"]["data"][0]
    assert (item["current_period_start"], item["current_period_end"]) == (
        plus_months(start, 12), plus_months(start, 24))
    assert updated["data"]["previous_attributes"]["items"]["data"][0][
        "current_period_end"] == plus_months(start, 12)

    failed, past_due = fake_stripe.fail_payment(sub_id)
    assert failed["type"] == "invoice.payment_failed"
    assert failed["data"]["object"]["status"] == "open"
    assert past_due["data"]["object"]["status"] == "past_due"
    assert past_due["data"]["previous_attributes"]["status"] == "active"
    assert api.v1.subscriptions.retrieve(sub_id).status == "past_due"

    retried, active = fake_stripe.renew(sub_id)
    assert retried["data"]["object"]["id"] == failed["data"]["object"]["id"]
    assert retried["data"]["object"]["status"] == "paid"
    assert active["data"]["object"]["status"] == "active"

    [cancelling] = fake_stripe.cancel(sub_id, at_period_end=True)
    assert cancelling["type"] == "customer.subscription.updated"
    assert cancelling["data"]["object"]["cancel_at_period_end"] is True
    [ended] = fake_stripe.renew(sub_id)
    assert ended["type"] == "customer.subscription.deleted"
    assert ended["data"]["object"]["status"] == "canceled"


def test_cancelling_through_the_api(fake_stripe, api):
    session = subscription_session(api, {"price": yearly_price(api).id, "quantity": 1})
    sub_id = fake_stripe.complete_checkout(session.id)[0]["data"]["object"]["id"]

    updated = api.v1.subscriptions.update(sub_id, params={"cancel_at_period_end": True})
    item = updated["items"].data[0]
    assert updated.cancel_at_period_end is True
    assert updated.cancel_at == item.current_period_end
    assert fake_stripe.events[-1]["type"] == "customer.subscription.updated"
    assert fake_stripe.events[-1]["data"]["previous_attributes"]["cancel_at_period_end"] \
        is False

    canceled = api.v1.subscriptions.cancel(sub_id)
    assert canceled.status == "canceled" and canceled.ended_at is not None
    assert fake_stripe.events[-1]["type"] == "customer.subscription.deleted"
    with pytest.raises(ValueError, match="already canceled"):
        fake_stripe.cancel(sub_id, at_period_end=False)
    with pytest.raises(stripe.InvalidRequestError, match="FakeStripe does not implement"):
        api.v1.subscriptions.update(sub_id, params={"trial_end": "now"})


def test_cancel_now_from_the_helper(fake_stripe, api):
    session = subscription_session(api, {"price": yearly_price(api).id, "quantity": 1})
    sub_id = fake_stripe.complete_checkout(session.id)[0]["data"]["object"]["id"]
    [deleted] = fake_stripe.cancel(sub_id, at_period_end=False)
    assert deleted["type"] == "customer.subscription.deleted"
    assert api.v1.subscriptions.retrieve(sub_id).status == "canceled"


def test_refund_and_dispute(fake_stripe, api):
    session = payment_session(api, payment_intent_data={"metadata": {"order": "7"}})
    intent = fake_stripe.complete_checkout(session.id)[1]["data"]["object"]["id"]

    [partial] = fake_stripe.refund(intent, amount=234)
    charge = partial["data"]["object"]
    assert partial["type"] == "charge.refunded"
    assert (charge["payment_intent"], charge["amount_refunded"], charge["refunded"]) == (
        intent, 234, False)
    assert charge["metadata"] == {"order": "7"}
    [rest] = fake_stripe.refund(intent)
    assert (rest["data"]["object"]["amount_refunded"], rest["data"]["object"]["refunded"]) \
        == (1234, True)
    with pytest.raises(ValueError):
        fake_stripe.refund(intent)

    second = payment_session(api)
    other = fake_stripe.complete_checkout(second.id)[1]["data"]["object"]
    [opened] = fake_stripe.dispute(other["id"])
    dispute = opened["data"]["object"]
    assert opened["type"] == "charge.dispute.created"
    assert dispute["id"].startswith("dp_")
    assert (dispute["payment_intent"], dispute["charge"]) == (other["id"],
                                                              other["latest_charge"])


# ----------------------------------------------------------------------------- portal, meters


def test_billing_portal_session(fake_stripe, api):
    customer = api.v1.customers.create(params={"email": "a@example.org"})
    portal = api.v1.billing_portal.sessions.create(params={
        "customer": customer.id, "return_url": "https://shop.test/account"})
    assert portal.id.startswith("bps_") and portal.object == "billing_portal.session"
    assert portal.url == f"{fake_stripe.base_url}/billing/{customer.id}"
    assert (portal.customer, portal.return_url) == (customer.id, "https://shop.test/account")

    with pytest.raises(stripe.InvalidRequestError) as missing:
        api.v1.billing_portal.sessions.create(params={"return_url": "https://shop.test/"})
    assert missing.value.param == "customer"
    status, _, page = browser(fake_stripe, "GET", f"/billing/{customer.id}")
    assert status == 200 and "<title>Fake Stripe billing portal</title>" in page
    assert 'href="https://shop.test/account"' in page


def test_cancelling_in_the_portal_page_delivers_the_update(fake_stripe, api, receiver):
    fake_stripe.webhooks[KEY] = (receiver.url, SECRET)
    session = subscription_session(api, {"price": yearly_price(api).id, "quantity": 1})
    created = fake_stripe.complete_checkout(session.id)[0]["data"]["object"]
    page = browser(fake_stripe, "GET", f"/billing/{created['customer']}")[2]
    assert "Cancel subscription" in page and created["id"] in page

    status, headers, _ = browser(
        fake_stripe, "POST", f"/billing/{created['customer']}/cancel/{created['id']}", "")
    assert (status, headers["Location"]) == (303, f"/billing/{created['customer']}")
    [event] = receiver.events()
    assert event.type == "customer.subscription.updated"
    assert event.data.object.cancel_at_period_end is True
    assert "cancels at period end" in browser(fake_stripe, "GET",
                                              f"/billing/{created['customer']}")[2]


def test_meter_events_count_once_per_identifier_and_bill_on_renewal(fake_stripe, api):
    meter = api.v1.billing.meters.create(params={
        "display_name": "API calls", "event_name": "api_call",
        "default_aggregation": {"formula": "sum"}})
    assert meter.id.startswith("mtr_") and api.v1.billing.meters.retrieve(meter.id).event_name \
        == "api_call"
    with pytest.raises(stripe.InvalidRequestError, match="must be backed by a meter"):
        api.v1.prices.create(params={"currency": "usd", "unit_amount": 5, "product_data": {
            "name": "Calls"}, "recurring": {"interval": "month", "usage_type": "metered"}})
    metered = api.v1.prices.create(params={
        "currency": "usd", "unit_amount": 5, "product_data": {"name": "Calls"},
        "recurring": {"interval": "month", "usage_type": "metered", "meter": meter.id}})
    with pytest.raises(stripe.InvalidRequestError, match="Quantity should not be specified"):
        subscription_session(api, {"price": metered.id, "quantity": 1})
    session = subscription_session(api, {"price": metered.id})
    created = fake_stripe.complete_checkout(session.id)[0]["data"]["object"]
    customer = created["customer"]
    assert "quantity" not in created["items"]["data"][0]

    def report(identifier: str, value: str) -> Any:
        return api.v1.billing.meter_events.create(params={
            "event_name": "api_call", "identifier": identifier,
            "payload": {"stripe_customer_id": customer, "value": value}})

    accepted = report("req-1", "7")
    assert (accepted.object, accepted.identifier, accepted.payload.value) == (
        "billing.meter_event", "req-1", "7")
    report("req-2", "5")
    with pytest.raises(stripe.InvalidRequestError) as duplicate:
        report("req-1", "7")
    assert duplicate.value.http_status == 400 and duplicate.value.param == "identifier"
    assert "An event already exists with identifier req-1" in duplicate.value.user_message
    assert fake_stripe.meter_total("api_call", customer) == 12

    paid, _ = fake_stripe.renew(created["id"])
    [line] = paid["data"]["object"]["lines"]["data"]
    assert (line["quantity"], line["amount"]) == (12, 60)


# ----------------------------------------------------------------------------- webhooks


def test_sign_is_what_stripe_verifies():
    payload = encode_event({"id": "evt_1", "object": "event", "type": "invoice.paid",
                            "data": {"object": {"id": "in_1"}}})
    now = int(time.time())
    header = sign(payload, SECRET, now)
    assert header == stripe.WebhookSignature.generate_signature_header(
        payload.decode(), SECRET, now)
    assert stripe.Webhook.construct_event(payload, header, SECRET).type == "invoice.paid"

    for body, signed_header in [
        (payload.replace(b"in_1", b"in_2"), header),          # tampered payload
        (payload, sign(payload, "whsec_wrong", now)),          # another endpoint's secret
        (payload, sign(payload, SECRET, now - 301)),           # older than 300 s
    ]:
        with pytest.raises(stripe.SignatureVerificationError):
            stripe.Webhook.construct_event(body, signed_header, SECRET)


def test_deliver_posts_signed_events(fake_stripe, api, receiver):
    session = payment_session(api)
    events = fake_stripe.complete_checkout(session.id)
    assert fake_stripe.deliver(events[0], receiver.url, SECRET) == (200, "ok")
    receiver.status = 500
    assert fake_stripe.deliver(events[1], receiver.url, SECRET)[0] == 500

    headers, _ = receiver.received[0]
    assert headers["Content-Type"].startswith("application/json")
    assert [e.type for e in receiver.events()] == ["checkout.session.completed",
                                                   "payment_intent.succeeded"]
    assert fake_stripe.deliveries == [(receiver.url, "checkout.session.completed", 200),
                                      (receiver.url, "payment_intent.succeeded", 500)]


# ----------------------------------------------------------------------------- hosted pages


def test_the_checkout_page_pays_delivers_and_redirects(fake_stripe, api, receiver):
    fake_stripe.webhooks[KEY] = (receiver.url, SECRET)
    session = payment_session(api)

    status, _, page = browser(fake_stripe, "GET", f"/pay/{session.id}")
    assert status == 200 and "<title>Fake Stripe Checkout</title>" in page
    assert "12.34 EUR" in page and ">Pay</button>" in page

    status, headers, _ = browser(fake_stripe, "POST", f"/pay/{session.id}",
                                 "email=bea%40example.org")
    assert status == 303
    assert headers["Location"] == f"https://shop.test/done?s={session.id}"
    assert [e.type for e in receiver.events()] == ["checkout.session.completed",
                                                   "payment_intent.succeeded"]
    completed = receiver.events()[0].data.object
    assert completed.customer_details.email == "bea@example.org"

    status, _, page = browser(fake_stripe, "GET", f"/pay/{session.id}")
    assert "This Checkout Session is complete." in page and ">Pay</button>" not in page
    assert browser(fake_stripe, "POST", f"/pay/{session.id}", "")[0] == 400


def test_held_webhooks_wait_for_release(fake_stripe, api, receiver):
    fake_stripe.webhook_url, fake_stripe.webhook_secret = receiver.url, SECRET
    fake_stripe.hold_webhooks = True
    session = payment_session(api)
    assert browser(fake_stripe, "POST", f"/pay/{session.id}", "")[0] == 303
    assert receiver.received == [] and len(fake_stripe.held_events) == 2

    assert [status for status, _ in fake_stripe.release_webhooks()] == [200, 200]
    assert len(receiver.events()) == 2 and fake_stripe.held_events == []
    assert fake_stripe.crashes == []
