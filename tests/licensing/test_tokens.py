import base64
import hashlib
import json

import pytest
from django.utils import timezone

from apps.audit.log import Actor
from apps.audit.models import ObjectLogEntry
from apps.core.errors import DomainError
from apps.licensing import services, tokens
from apps.licensing.api_methods import API_METHODS
from apps.licensing.models import AccessToken

from ..factories import ProductFactory, make_key

CRYPTOLENS_DEMO_TOKEN = "WyI0NjUiLCJBWTBGTlQwZm9WV0FyVnZzMEV1Mm9LOHJmRDZ1SjF0Vk52WTU0VzB2Il0="
CRYPTOLENS_DEMO_SECRET = "AY0FNT0foVWArVvs0Eu2oK8rfD6uJ1tVNvY54W0v"


def _b64(raw: bytes | str) -> str:
    return base64.b64encode(raw.encode() if isinstance(raw, str) else raw).decode()


def _create(tenant, **kwargs):
    kwargs.setdefault("name", "CI token")
    kwargs.setdefault("permissions", ["key.Activate", "key.GetKey"])
    return services.token_create(vendor=tenant.vendor, actor=Actor.for_user(tenant.owner),
                                 **kwargs)


def test_encoded_token_decodes_to_its_id_and_secret():
    secret = tokens.new_secret()
    assert tokens.decode(tokens.encode(123456, secret)) == (123456, secret)


def test_new_secrets_are_40_alphanumerics_and_differ():
    secrets_ = {tokens.new_secret() for _ in range(50)}
    assert len(secrets_) == 50
    assert all(len(s) == 40 and s.isascii() and s.isalnum() for s in secrets_)


def test_token_is_base64_of_compact_json_array_of_id_and_secret():
    token = tokens.encode(465, CRYPTOLENS_DEMO_SECRET)
    assert base64.b64decode(token) == f'["465","{CRYPTOLENS_DEMO_SECRET}"]'.encode()
    assert token == CRYPTOLENS_DEMO_TOKEN


def test_cryptolens_demo_token_decodes():
    assert tokens.decode(CRYPTOLENS_DEMO_TOKEN) == (465, CRYPTOLENS_DEMO_SECRET)


MALFORMED = {
    "empty": "",
    "not base64": "not base64 at all!",
    "truncated base64": "WyI0NjUi!",
    "not json": _b64("not json"),
    "json object": _b64('{"id":"1","secret":"x"}'),
    "json string": _b64('"1"'),
    "one element": _b64('["1"]'),
    "three elements": _b64('["1","x","y"]'),
    "numeric id": _b64('[1,"x"]'),
    "numeric secret": _b64('["1",2]'),
    "letters id": _b64('["abc","x"]'),
    "negative id": _b64('["-1","x"]'),
    "decimal id": _b64('["1.5","x"]'),
    "padded id": _b64('[" 1","x"]'),
    "empty id": _b64('["","x"]'),
    "19-digit id": _b64('["1234567890123456789","x"]'),
    # str.isdigit() is true for these, but they are not the ASCII digits of an id.
    "superscript-two id": _b64('["\u00b2","x"]'),
    "arabic-indic id": _b64('["\u0661","x"]'),
    "non-utf8 bytes": _b64(b"\xff\xfe\xfd\xfc"),
    "non-utf8 secret": _b64(b'["1","\xff"]'),
    # Deep enough to exhaust json's recursion limit.
    "deeply nested": _b64("[" * 1000 + "]" * 1000),
}


@pytest.mark.parametrize("token", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_token_decodes_to_none(token):
    assert tokens.decode(token) is None


def test_plus_turned_into_space_still_decodes():
    secret = ">>>bbbbbbbbbb"
    token = tokens.encode(1, secret)
    assert "+" in token
    assert tokens.decode(token.replace("+", " ")) == (1, secret)


def test_surrounding_whitespace_is_ignored():
    assert tokens.decode(f"  {CRYPTOLENS_DEMO_TOKEN}\n") == (465, CRYPTOLENS_DEMO_SECRET)


def test_token_create_stores_only_the_digest_of_the_secret(tenant):
    token, token_string = _create(tenant)
    token_id, secret = tokens.decode(token_string)
    assert token_id == token.pk
    row = AccessToken.objects.filter(pk=token.pk).values().get()
    assert row["secret_hash"] == hashlib.sha256(secret.encode()).hexdigest()
    for column, value in row.items():
        assert secret not in str(value), column
        assert token_string not in str(value), column
    for entry in ObjectLogEntry.objects.for_object(token).values():
        assert secret not in json.dumps(entry, default=str)


def test_token_keeps_permissions_in_api_order(tenant):
    token, _ = _create(tenant, permissions=["key.GetKey", "customer.AddCustomer",
                                            "key.Activate", "key.GetKey"])
    token.refresh_from_db()
    assert token.permissions == ["key.Activate", "key.GetKey", "customer.AddCustomer"]
    assert token.created_by == tenant.owner


def test_authenticate_accepts_the_real_token_string(tenant):
    token, token_string = _create(tenant)
    assert services.token_authenticate(token_string) == token


def test_authenticate_rejects_a_wrong_secret(tenant):
    token, token_string = _create(tenant)
    _, secret = tokens.decode(token_string)
    wrong = secret[:-1] + ("A" if secret[-1] != "A" else "B")
    assert services.token_authenticate(tokens.encode(token.pk, wrong)) is None


def test_authenticate_rejects_another_tokens_secret(tenant):
    first, _ = _create(tenant, name="first")
    _, second_string = _create(tenant, name="second")
    _, second_secret = tokens.decode(second_string)
    assert services.token_authenticate(tokens.encode(first.pk, second_secret)) is None


def test_authenticate_rejects_a_revoked_token(tenant):
    token, token_string = _create(tenant)
    services.token_revoke(token=token, actor=Actor.for_user(tenant.owner))
    assert token.revoked_at is not None
    assert services.token_authenticate(token_string) is None


def test_authenticate_rejects_an_unknown_id(tenant):
    token, token_string = _create(tenant)
    _, secret = tokens.decode(token_string)
    assert services.token_authenticate(tokens.encode(token.pk + 1000, secret)) is None


def test_authenticate_rejects_malformed_strings(db):
    assert services.token_authenticate("garbage") is None
    assert services.token_authenticate(CRYPTOLENS_DEMO_TOKEN) is None


def test_revoking_twice_logs_once(tenant):
    token, _ = _create(tenant)
    actor = Actor.for_user(tenant.owner)
    services.token_revoke(token=token, actor=actor)
    first_revoked_at = token.revoked_at
    services.token_revoke(token=token, actor=actor)
    assert token.revoked_at == first_revoked_at <= timezone.now()
    assert ObjectLogEntry.objects.for_object(token).filter(action="revoked").count() == 1


def test_unknown_permission_is_refused(tenant):
    with pytest.raises(DomainError) as error:
        _create(tenant, permissions=["key.Activate", "key.DeleteEverything"])
    assert error.value.field == "permissions"
    assert not AccessToken.objects.exists()


def test_token_without_permissions_is_refused(tenant):
    with pytest.raises(DomainError) as error:
        _create(tenant, permissions=[])
    assert error.value.field == "permissions"
    assert not AccessToken.objects.exists()


def test_token_without_a_name_is_refused(tenant):
    with pytest.raises(DomainError):
        _create(tenant, name="   ")
    assert not AccessToken.objects.exists()


def test_every_api_method_can_be_granted(tenant):
    token, _ = _create(tenant, permissions=API_METHODS)
    assert token.permissions == API_METHODS


def test_product_lock_on_another_vendors_product_is_refused(tenant, other_tenant):
    with pytest.raises(DomainError) as error:
        _create(tenant, product=other_tenant.product)
    assert error.value.field == "product"
    assert not AccessToken.objects.exists()


def test_key_lock_on_another_vendors_key_is_refused(tenant, other_tenant):
    with pytest.raises(DomainError) as error:
        _create(tenant, locked_key=other_tenant.key)
    assert error.value.field == "locked_key"
    assert not AccessToken.objects.exists()


def test_key_lock_outside_the_locked_product_is_refused(tenant):
    other_product = ProductFactory(vendor=tenant.vendor)
    with pytest.raises(DomainError) as error:
        _create(tenant, product=other_product, locked_key=tenant.key)
    assert error.value.field == "locked_key"


def test_product_and_key_lock_of_own_vendor_are_kept(tenant):
    other_key = make_key(tenant.product)
    _, token_string = _create(tenant, product=tenant.product, locked_key=other_key)
    authenticated = services.token_authenticate(token_string)
    assert authenticated.product == tenant.product
    assert authenticated.locked_key == other_key
    assert authenticated.vendor == tenant.vendor
