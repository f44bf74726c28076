"""auth/KeyLock and key lock -1 tokens (page "Key Lock", app.cryptolens.io/docs/api/v3/KeyLock;
wire reference §1.1): a token turned at run time into one locked to a key, without a row per
call, and tokens whose every call is locked to the key it names."""

from __future__ import annotations

import base64
import json

import pytest
from django.test import Client
from licensing.methods import Key

from apps.api import errors
from apps.api.access import Reach
from apps.api.registry import METHODS
from apps.audit.log import Actor
from apps.licensing.api_methods import API_METHODS
from apps.licensing.models import AccessToken, LicenseKey
from apps.licensing.services import token_authenticate, token_create, token_revoke
from apps.licensing.services.credentials import token_cache_clear
from apps.usage.models import WebApiLog
from tests.factories import ProductFactory, make_key, make_vendor
from tests.licensing.keypool import pooled_signing_keys  # noqa: F401  (autouse: fast RSA keys)

SYSTEM = Actor.for_system("test")
ALL_BUT_KEY_LOCK = [m for m in API_METHODS if m != "auth.KeyLock"]


@pytest.fixture
def shop(db):
    vendor = make_vendor("Key lock vendor")
    product = ProductFactory(vendor=vendor)
    mine, other = make_key(product, max_no_of_machines=3), make_key(product, max_no_of_machines=3)
    return vendor, product, mine, other


def _token(vendor, permissions=API_METHODS, **locks) -> tuple[AccessToken, str]:
    return token_create(vendor=vendor, actor=SYSTEM, name="app", permissions=permissions,
                        **locks)


def _call(token: str, method: str, **params) -> dict:
    return Client().post(f"/api/{method}", {"token": token, **params}).json()


def _key_lock(token: str, key: LicenseKey) -> dict:
    return _call(token, "auth/KeyLock", ProductId=key.product_id, Key=key.key)


def test_key_lock_answers_the_key_id_and_a_token_in_cryptolens_shape(shop):
    vendor, _, mine, _ = shop
    parent, token = _token(vendor)
    tokens_before = AccessToken.objects.count()

    body = _key_lock(token, mine)

    assert body["result"] == 0, body
    assert (body["keyId"], body["message"]) == (mine.pk, "")
    token_id, secret = json.loads(base64.b64decode(body["token"], validate=True))
    assert token_id == str(parent.pk)
    assert str(mine.pk) in secret
    # No row per call: applications call KeyLock at every start.
    assert AccessToken.objects.count() == tokens_before
    assert _key_lock(token, mine)["token"] == body["token"]


def test_the_derived_token_works_on_its_key_only_and_cannot_lock_again(shop):
    vendor, product, mine, other = shop
    derived = _key_lock(_token(vendor)[1], mine)["token"]

    own = _call(derived, "key/Activate", ProductId=product.pk, Key=mine.key,
                MachineCode="laptop")
    sibling = _call(derived, "key/GetKey", ProductId=product.pk, Key=other.key)
    created = _call(derived, "key/CreateKey", ProductId=product.pk)
    again = _key_lock(derived, mine)

    assert own["result"] == 0, own
    assert mine.activations.filter(machine_code="laptop").exists()
    assert sibling == {"result": 1, "message": errors.KEY_LOCKED}
    assert created == {"result": 1, "message": errors.ACCESS_DENIED}
    assert again == {"result": 1, "message": errors.ACCESS_DENIED}


def test_the_derived_token_is_in_memory_with_the_parents_id_in_the_log(shop):
    vendor, product, mine, _ = shop
    parent, token = _token(vendor)
    derived = _key_lock(token, mine)["token"]
    token_cache_clear()
    cached_parent = token_authenticate(token)  # the derived token is copied from this one

    authenticated = token_authenticate(derived)
    _call(derived, "key/GetKey", ProductId=product.pk, Key=mine.key)

    assert authenticated is not None
    assert authenticated.pk == parent.pk
    assert authenticated.locked_key == mine
    assert "auth.KeyLock" not in authenticated.permissions
    assert set(authenticated.permissions) == set(ALL_BUT_KEY_LOCK)
    # The cached parent is not changed by the derived copy.
    assert token_authenticate(token) is cached_parent
    assert cached_parent.locked_key_id is None and cached_parent.locked_key is None
    assert "auth.KeyLock" in cached_parent.permissions
    parent.refresh_from_db()
    assert parent.locked_key_id is None
    logged = WebApiLog.objects.filter(method="key.GetKey", key=mine.key).get()
    assert logged.token_id == parent.pk


def test_revoking_the_parent_revokes_every_derived_token(shop):
    vendor, product, mine, _ = shop
    parent, token = _token(vendor)
    derived = _key_lock(token, mine)["token"]
    assert _call(derived, "key/GetKey", ProductId=product.pk, Key=mine.key)["result"] == 0

    token_revoke(token=parent, actor=SYSTEM)

    assert _call(derived, "key/GetKey", ProductId=product.pk, Key=mine.key) == {
        "result": 1, "message": errors.UNABLE_TO_AUTHENTICATE}


def test_a_forged_or_altered_derived_token_is_refused(shop):
    vendor, product, mine, other = shop
    _parent, token = _token(vendor)
    other_vendor_token = _token(make_vendor("Other"))[1]
    derived = _key_lock(token, mine)["token"]
    token_id, secret = json.loads(base64.b64decode(derived))
    key_part, mac = secret.split(".")

    def encode(token_id: str, secret: str) -> str:
        return base64.b64encode(json.dumps([token_id, secret]).encode()).decode()

    forged = [
        encode(token_id, f"{other.pk}.{mac}"),  # another key, same MAC
        encode(token_id, f"{key_part}.{mac[:-2]}AA"),  # altered MAC
        encode(token_id, f"{key_part}."),  # no MAC
        encode(token_id, f"{key_part}.{mac[:-1]}é"),  # not ASCII
        encode(token_id, f"x{key_part}.{mac}"),
        # The same key-and-MAC under another vendor's token id.
        encode(json.loads(base64.b64decode(other_vendor_token))[0], secret),
    ]
    token_cache_clear()
    answers = [_call(t, "key/GetKey", ProductId=product.pk, Key=other.key) for t in forged]

    assert answers == [{"result": 1, "message": errors.UNABLE_TO_AUTHENTICATE}] * len(forged)


def test_a_derived_token_dies_with_its_key(shop):
    vendor, _product, mine, _ = shop
    derived = _key_lock(_token(vendor)[1], mine)["token"]
    token_cache_clear()
    LicenseKey.objects.filter(pk=mine.pk).delete()

    assert token_authenticate(derived) is None


def test_key_lock_needs_its_permission_on_an_ordinary_token(shop):
    vendor, _, mine, _ = shop
    token = _token(vendor, permissions=["key.GetKey"])[1]

    assert _key_lock(token, mine) == {"result": 1, "message": errors.ACCESS_DENIED}


def test_key_lock_reaches_only_the_vendors_keys_within_the_tokens_locks(shop):
    vendor, product, mine, _ = shop
    other_product = ProductFactory(vendor=vendor)
    far = make_key(other_product)
    stranger_key = make_key(ProductFactory(vendor=make_vendor("Stranger")))
    product_locked = _token(vendor, product=product)[1]
    unlocked = _token(vendor)[1]

    assert _key_lock(product_locked, far) == {"result": 1, "message": errors.KEY_LOCKED}
    assert _key_lock(unlocked, stranger_key) == {
        "result": 1, "message": errors.PRODUCT_NOT_FOUND}
    assert _call(unlocked, "auth/KeyLock", ProductId=product.pk, Key="NOPE-NOPE") == {
        "result": 1, "message": errors.KEY_NOT_FOUND}
    assert _call(unlocked, "auth/KeyLock", ProductId=product.pk) == {
        "result": 1, "message": errors.KEY_NOT_FOUND}
    # The product lock travels with the derived token.
    derived = _key_lock(product_locked, mine)["token"]
    assert token_authenticate(derived).product_id == product.pk


# --- Key lock -1 ---


def test_a_minus_one_token_may_call_key_lock_without_ticking_it(shop):
    vendor, product, mine, other = shop
    parent, token = _token(vendor, permissions=["key.GetKey", "key.Activate"],
                           key_lock_required=True)

    body = _key_lock(token, mine)
    derived = token_authenticate(body["token"])

    assert "auth.KeyLock" in parent.permissions
    assert body["result"] == 0, body
    assert derived.locked_key == mine and not derived.key_lock_required
    assert sorted(derived.permissions) == ["key.Activate", "key.GetKey"]
    assert _call(body["token"], "key/GetKey", ProductId=product.pk, Key=other.key) == {
        "result": 1, "message": errors.KEY_LOCKED}


def test_a_minus_one_token_cannot_also_name_a_key_lock(shop):
    from apps.core.errors import DomainError

    vendor, _, mine, _ = shop
    with pytest.raises(DomainError):
        _token(vendor, locked_key=mine, key_lock_required=True)


def test_a_minus_one_tokens_call_reaches_the_key_it_names(shop):
    vendor, product, _mine, other = shop
    token = _token(vendor, key_lock_required=True)[1]

    activated = _call(token, "key/Activate", ProductId=product.pk, Key=other.key,
                      MachineCode="desk")
    missing = _call(token, "key/GetKey", ProductId=product.pk, Key="NOPE-NOPE")

    assert activated["result"] == 0, activated
    assert other.activations.filter(machine_code="desk").exists()
    assert missing == {"result": 1, "message": errors.KEY_NOT_FOUND}


def test_a_minus_one_tokens_listing_needs_a_key_and_shows_only_that_key(shop):
    vendor, product, mine, other = shop
    token = _token(vendor, key_lock_required=True)[1]
    for key in (mine, other):
        WebApiLog.objects.create(vendor=vendor, product_id=product.pk, key=key.key,
                                 state=1010, method="key.GetKey")

    without_key = _call(token, "ai/GetWebAPILog", ProductId=product.pk)
    keys = _call(token, "product/GetKeys", ProductId=product.pk)
    with_key = _call(token, "ai/GetWebAPILog", ProductId=product.pk, Key=mine.key)

    assert without_key == {"result": 1, "message": errors.KEY_LOCKED}
    assert keys == {"result": 1, "message": errors.KEY_LOCKED}
    assert with_key["result"] == 0, with_key
    assert {row["key"] for row in with_key["logs"]} == {mine.key}


def test_a_minus_one_token_creates_nothing_beyond_a_key(shop):
    vendor, product, _, _ = shop
    token = _token(vendor, key_lock_required=True)[1]
    keys_before = LicenseKey.objects.count()

    answers = [_call(token, method, ProductId=product.pk, MachineCode="m", Name="n")
               for method in ("key/CreateKey", "key/CreateTrialKey", "customer/AddCustomer")]

    assert answers == [{"result": 1, "message": errors.ACCESS_DENIED}] * 3
    assert LicenseKey.objects.count() == keys_before


def test_no_method_answers_a_minus_one_token_that_names_no_key(shop):
    """Walks the registry, so a method registered later is covered too: without ProductId
    and Key only what every copy of the application reads alike (broadcast) and a user's own
    log-in (Reach.USER) may answer."""
    vendor, _product, _, _ = shop
    token = _token(vendor, key_lock_required=True)[1]

    answered = sorted(m.name for m in METHODS.values()
                      if m.reach not in (Reach.BROADCAST, Reach.USER)
                      and _call(token, m.path.removeprefix("/api/"))["result"] == 0)

    assert answered == []


def test_a_minus_one_token_of_another_vendor_reaches_nothing_here(shop):
    _vendor, product, mine, _ = shop
    stranger = _token(make_vendor("Stranger"), key_lock_required=True)[1]

    assert _key_lock(stranger, mine) == {"result": 1, "message": errors.PRODUCT_NOT_FOUND}
    assert _call(stranger, "key/GetKey", ProductId=product.pk, Key=mine.key) == {
        "result": 1, "message": errors.PRODUCT_NOT_FOUND}


# --- Through the official client ---


def test_the_official_client_verifies_licenses_with_a_derived_token(server):
    key = make_key(server.product, max_no_of_machines=2)
    minus_one = server.token_for(["key.Activate", "key.GetKey"], key_lock_required=True)
    locked = server.post("auth/KeyLock", token=minus_one, ProductId=server.product.pk,
                         Key=key.key)

    activated, message = Key.activate(locked["token"], server.pubkey, server.product.pk,
                                      key.key, "client-machine")
    refused, refusal = Key.get_key(locked["token"], server.pubkey, server.product.pk,
                                   make_key(server.product).key)

    assert locked["result"] == 0, locked
    assert activated is not None, message
    assert activated.key == key.key
    assert [m.Mid for m in activated.activated_machines] == ["client-machine"]
    assert refused is None and refusal == errors.KEY_LOCKED


def test_the_official_client_logs_a_user_in_with_a_minus_one_token(server):
    """Login names no key (it is how the user gets one): a -1 token shipped in the
    application lets the user in, and the token's feature lock hides its fields there too."""
    from licensing.methods import User

    from apps.licensing.services.userauth import app_user_register
    from tests.factories import CustomerFactory

    customer = CustomerFactory(vendor=server.vendor)
    key = make_key(server.product, customer=customer, notes="internal")
    app_user_register(vendor=server.vendor, actor=SYSTEM, username="ada",
                      password="s3cret pass", customer=customer)
    token = server.token_for(["userauth.UserAuthNormal"], key_lock_required=True,
                             fields_hidden=8)

    licenses, message = User.login(token, "ada", "s3cret pass")

    assert message == ""
    assert [k["key"] for k in licenses] == [key.key]
    assert licenses[0]["notes"] is None


def test_the_official_client_reads_its_own_keys_log_with_a_minus_one_token(server):
    """Cryptolens recommends key lock -1 for GetWebAPILog inside client apps: the client
    passes ProductId and Key and gets that key's rows only; without a key it is refused."""
    from licensing.methods import AI

    mine, other = make_key(server.product), make_key(server.product)
    for key in (mine, other):
        WebApiLog.objects.create(vendor=server.vendor, product_id=server.product.pk,
                                 key=key.key, state=1010, method="key.GetKey")
    token = server.token_for(["ai.GetWebAPILog"], key_lock_required=True)

    logs, message = AI.get_web_api_log(token, server.product.pk, mine.key)
    refused, refusal = AI.get_web_api_log(token, server.product.pk)

    assert message == "", message
    assert {row["key"] for row in logs} == {mine.key}
    assert refused is None and refusal == errors.KEY_LOCKED
