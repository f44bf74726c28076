"""Signing keys and Web API access tokens."""

from __future__ import annotations

import time
from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone

from apps.accounts.models import Vendor
from apps.audit.log import Actor, log_change
from apps.core.errors import DomainError
from apps.licensing import signing, tokens
from apps.licensing.api_methods import API_METHOD_SET, API_METHODS
from apps.licensing.models import AccessToken, LicenseKey, LicenseTemplate, Product, SigningKey


@transaction.atomic
def signing_key_create(*, vendor: Vendor) -> SigningKey:
    """Give the vendor its RSA-2048 key pair (once; the active key is kept)."""
    existing = SigningKey.objects.filter(active_for=vendor).first()
    if existing:
        return existing
    return _signing_key_new(vendor, Actor.for_system())


def _signing_key_new(vendor: Vendor, actor: Actor) -> SigningKey:
    public_pem, private_encrypted = signing.generate_key_pair()
    key = SigningKey.objects.create(
        vendor=vendor, active_for=vendor, public_key_pem=public_pem,
        private_key_encrypted=private_encrypted,
    )
    log_change(vendor=vendor, actor=actor, obj=key, action="created",
               changes={"fingerprint": [None, signing.fingerprint(public_pem)]})
    return key


@transaction.atomic
def signing_key_rotate(*, vendor: Vendor, actor: Actor) -> SigningKey:
    """Make a new key pair the vendor's active signing key and return it.

    Every license, license file and configuration signed from now on uses the new key. The
    previous key signs nothing more but stays listed, so that software still shipping its
    public key can be moved over, until the owner retires it."""
    Vendor.objects.select_for_update().get(pk=vendor.pk)  # one rotation at a time
    previous = SigningKey.objects.filter(active_for=vendor).first()
    if previous is not None:
        previous.active_for = None
        previous.save(update_fields=["active_for", "updated"])
        log_change(vendor=vendor, actor=actor, obj=previous, action="superseded")
    key = _signing_key_new(vendor, actor)
    vendor._state.fields_cache.pop("signing_key", None)
    # Cached tokens carry their vendor's key: this process forgets them now, the others
    # within TOKEN_CACHE_SECONDS.
    transaction.on_commit(lambda: _token_cache_forget_vendor(vendor.pk))
    return key


@transaction.atomic
def signing_key_retire(*, key: SigningKey, actor: Actor) -> SigningKey:
    """Retire a previous signing key: it leaves the list and is never used again. The active
    key cannot be retired; add a new one first."""
    key = SigningKey.objects.select_for_update().get(pk=key.pk)
    if key.active_for_id is not None:
        raise DomainError("This key signs every license. Add a new key before retiring it.")
    if key.retired_at is not None:
        raise DomainError("This key is already retired.")
    key.retired_at = timezone.now()
    key.save(update_fields=["retired_at", "updated"])
    log_change(vendor=key.vendor, actor=actor, obj=key, action="retired",
               changes={"fingerprint": [signing.fingerprint(key.public_key_pem), None]})
    return key


@transaction.atomic
def token_create(
    *, vendor: Vendor, actor: Actor, name: str, permissions: Iterable[str],
    product: Product | None = None, locked_key: LicenseKey | None = None,
    template_lock: LicenseTemplate | None = None,
) -> tuple[AccessToken, str]:
    """Create an access token; return it with its token string, which is never shown again.

    Locks narrow it: to one product, one key, and (for key.CreateKeyFromTemplate) one
    license template, which must be of the locked product when both are set."""
    requested = set(permissions)
    if requested - API_METHOD_SET:
        raise DomainError("Unknown Web API method.", field="permissions")
    if not requested:
        raise DomainError("Choose at least one Web API method.", field="permissions")
    permissions = [m for m in API_METHODS if m in requested]
    if not name.strip():
        raise DomainError("Give the token a name.", field="name")
    if product is not None and product.vendor_id != vendor.pk:
        raise DomainError("Could not find the product.", field="product")
    if locked_key is not None:
        if locked_key.product.vendor_id != vendor.pk:
            raise DomainError("Could not find the key.", field="locked_key")
        if product is not None and locked_key.product_id != product.pk:
            raise DomainError("The locked key must belong to the locked product.",
                              field="locked_key")
    if template_lock is not None:
        if template_lock.product.vendor_id != vendor.pk:
            raise DomainError("Could not find the template.", field="template_lock")
        if product is not None and template_lock.product_id != product.pk:
            raise DomainError("The locked template must belong to the locked product.",
                              field="template_lock")
    secret = tokens.new_secret()
    token = AccessToken.objects.create(
        vendor=vendor, name=name.strip(), secret_hash=tokens.hash_secret(secret),
        secret_hint=secret[:4], permissions=permissions, product=product,
        locked_key=locked_key, template_lock=template_lock, created_by=actor.user,
    )
    log_change(vendor=vendor, actor=actor, obj=token, action="created",
               changes={"permissions": [None, permissions],
                        "product": [None, str(product) if product else None],
                        "locked_key": [None, str(locked_key) if locked_key else None],
                        "template_lock": [None, str(template_lock) if template_lock else None]})
    return token, tokens.encode(token.pk, secret)


@transaction.atomic
def token_revoke(*, token: AccessToken, actor: Actor) -> AccessToken:
    updated = AccessToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    token.refresh_from_db()
    _token_cache.pop(token.pk, None)
    if updated:
        log_change(vendor=token.vendor, actor=actor, obj=token, action="revoked")
    return token


# Authenticated tokens are remembered per process for a few seconds: every API call starts
# with this lookup. Revocation drops the entry in the revoking process at once; other
# processes stop accepting the token within TOKEN_CACHE_SECONDS.
TOKEN_CACHE_SECONDS = 10
_token_cache: dict[int, tuple[float, AccessToken]] = {}


def token_authenticate(token_string: str) -> AccessToken | None:
    """The active token a token string stands for, or None (malformed, unknown, revoked)."""
    decoded = tokens.decode(token_string)
    if decoded is None:
        return None
    token_id, secret = decoded
    cached = _token_cache.get(token_id)
    if (cached is not None and cached[0] > time.monotonic()
            and tokens.secret_matches(secret, cached[1].secret_hash)):
        return cached[1]
    token = (
        AccessToken.objects.select_related("vendor", "vendor__signing_key")
        .filter(pk=token_id, revoked_at__isnull=True)
        .first()
    )
    if token is None or not tokens.secret_matches(secret, token.secret_hash):
        _token_cache.pop(token_id, None)
        return None
    _token_cache[token_id] = (time.monotonic() + TOKEN_CACHE_SECONDS, token)
    return token


def token_cache_clear() -> None:
    _token_cache.clear()


def _token_cache_forget_vendor(vendor_id: int) -> None:
    for token_id, (_, token) in list(_token_cache.items()):
        if token.vendor_id == vendor_id:
            _token_cache.pop(token_id, None)


TOUCH_INTERVAL_SECONDS = 60


def token_touch(token: AccessToken) -> None:
    """Record that the token was used, at most once a minute to keep API calls cheap."""
    now = timezone.now()
    if token.last_used is None or (now - token.last_used).total_seconds() > TOUCH_INTERVAL_SECONDS:
        AccessToken.objects.filter(pk=token.pk).update(last_used=now)
        token.last_used = now
