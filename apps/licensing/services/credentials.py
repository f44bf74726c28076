"""Signing keys and Web API access tokens."""

from __future__ import annotations

import base64
import copy
import hmac
import time
from collections.abc import Callable, Iterable

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac

from apps.accounts.models import Vendor
from apps.audit.log import Actor, log_change
from apps.core.errors import DomainError
from apps.licensing import signing, tokens
from apps.licensing.api_methods import API_METHOD_SET, API_METHODS
from apps.licensing.models import AccessToken, LicenseKey, LicenseTemplate, Product, SigningKey

KEY_LOCK = "auth.KeyLock"
# Every FieldsToReturn bit (apps.licensing.license_payload: ID 2 ... DataObjects 512).
FIELDS_HIDDEN_MAX = 2 + 4 + 8 + 16 + 32 + 64 + 128 + 256 + 512
MAX_TRIAL_DAYS = 3650


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
    template_lock: LicenseTemplate | None = None, key_lock_required: bool = False,
    fields_hidden: int = 0, trial_days: int | None = None, max_increment: int | None = None,
) -> tuple[AccessToken, str]:
    """Create an access token; return it with its token string, which is never shown again.

    Locks narrow it: to one product, one key, and (for key.CreateKeyFromTemplate) one
    license template, which must be of the locked product when both are set.
    `key_lock_required` is Cryptolens' key lock -1: every call must name its key, and
    auth.KeyLock is allowed without being ticked ("This method does not require any explicit
    permission. If the Key Lock set to -1 or smaller this method will be enabled", page
    "Key Lock"). The feature lock: `fields_hidden` (FieldsToReturn bits hidden from every
    license answer), `trial_days` (CreateTrialKey's length), `max_increment`."""
    requested = set(permissions)
    if requested - API_METHOD_SET:
        raise DomainError("Unknown Web API method.", field="permissions")
    if not requested:
        raise DomainError("Choose at least one Web API method.", field="permissions")
    if key_lock_required:
        if locked_key is not None:
            raise DomainError("Choose either a key lock or “the call names its key” (-1).",
                              field="locked_key")
        requested.add(KEY_LOCK)
    if not 0 <= fields_hidden <= FIELDS_HIDDEN_MAX:
        raise DomainError("Unknown fields to hide.", field="fields_hidden")
    if trial_days is not None and not 1 <= trial_days <= MAX_TRIAL_DAYS:
        raise DomainError(f"A trial lasts 1 to {MAX_TRIAL_DAYS} days.", field="trial_days")
    if max_increment is not None and max_increment < 1:
        raise DomainError("The largest increment must be at least 1.", field="max_increment")
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
        key_lock_required=key_lock_required, fields_hidden=fields_hidden,
        trial_days=trial_days, max_increment=max_increment,
    )
    log_change(vendor=vendor, actor=actor, obj=token, action="created",
               changes={"permissions": [None, permissions],
                        "product": [None, str(product) if product else None],
                        "locked_key": [None, str(locked_key) if locked_key else None],
                        "template_lock": [None, str(template_lock) if template_lock else None],
                        "key_lock_required": [None, key_lock_required],
                        "fields_hidden": [None, fields_hidden],
                        "trial_days": [None, trial_days],
                        "max_increment": [None, max_increment]})
    return token, tokens.encode(token.pk, secret)


@transaction.atomic
def token_revoke(*, token: AccessToken, actor: Actor) -> AccessToken:
    updated = AccessToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    token.refresh_from_db()
    _token_cache.pop(token.pk, None)
    _derived_cache_forget(lambda parent: parent.pk == token.pk)
    if updated:
        log_change(vendor=token.vendor, actor=actor, obj=token, action="revoked")
    return token


# Authenticated tokens are remembered per process for a few seconds: every API call starts
# with this lookup. Revocation drops the entry in the revoking process at once; other
# processes stop accepting the token within TOKEN_CACHE_SECONDS.
TOKEN_CACHE_SECONDS = 10
_token_cache: dict[int, tuple[float, AccessToken]] = {}
# Key-locked tokens made by auth/KeyLock, by (parent token id, key id), for as long.
_derived_cache: dict[tuple[int, int], tuple[float, AccessToken]] = {}


def token_authenticate(token_string: str) -> AccessToken | None:
    """The active token a token string stands for, or None (malformed, unknown, revoked).

    A string made by auth/KeyLock (token_derive_key_locked) stands for an in-memory token:
    its parent, locked to one key; it is accepted while the parent is active and the key
    exists."""
    decoded = tokens.decode(token_string)
    if decoded is None:
        return None
    token_id, secret = decoded
    if secret.startswith("app:"):
        # A token issued to an application a customer authorized (auth/GetToken): a row of
        # its own, see apps.licensing.services.app_authorizations.
        from apps.licensing.services.app_authorizations import app_token_authenticate

        return app_token_authenticate(token_id, secret)
    if DERIVED_SEPARATOR in secret:
        return _derived_authenticate(token_id, secret)
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


# A key-locked token made at run time (auth/KeyLock) is no row: applications call KeyLock at
# every start. Its string keeps Cryptolens' shape, base64 of ["<id>","<secret>"], with the
# parent token's id and, as the secret, "<key id>.<MAC>": an HMAC keyed with the server's
# secret and the parent's secret digest over both ids. So only the server can make one, and
# revoking the parent revokes every token made from it.
DERIVED_SEPARATOR = "."


def _derived_mac(parent: AccessToken, key_id: int) -> str:
    digest = salted_hmac("apps.licensing.keylock", f"{parent.pk}:{key_id}",
                         secret=settings.SECRET_KEY + parent.secret_hash,
                         algorithm="sha256").digest()
    return base64.urlsafe_b64encode(digest[:24]).decode()


def token_derive_key_locked(*, token: AccessToken, key: LicenseKey) -> str:
    """The token string of `token` locked to `key` (auth/KeyLock). The caller has checked that
    `key` is within the token's locks; nothing is written."""
    if key.product.vendor_id != token.vendor_id:
        raise DomainError("Could not find the key.")
    mac = _derived_mac(token, key.pk)
    return tokens.encode(token.pk, f"{key.pk}{DERIVED_SEPARATOR}{mac}")


def _derived_authenticate(parent_id: int, secret: str) -> AccessToken | None:
    key_part, _, mac = secret.partition(DERIVED_SEPARATOR)
    if not (key_part.isascii() and key_part.isdigit()) or len(key_part) > 18:
        return None
    if not mac.isascii():  # compare_digest refuses other text (TypeError)
        return None
    key_id = int(key_part)
    cached = _derived_cache.get((parent_id, key_id))
    if cached is not None and cached[0] > time.monotonic():
        token = cached[1]
        return token if hmac.compare_digest(mac, _derived_mac(token, key_id)) else None
    parent = _token_by_id(parent_id)
    if parent is None or not hmac.compare_digest(mac, _derived_mac(parent, key_id)):
        return None
    key = LicenseKey.objects.select_related("product").filter(
        pk=key_id, product__vendor_id=parent.vendor_id).first()
    if key is None:
        return None
    derived = copy.copy(parent)  # Django copies the field cache too: the parent stays as it is
    derived.locked_key = key
    derived.key_lock_required = False
    derived.permissions = [p for p in parent.permissions if p != KEY_LOCK]
    # In memory only (nothing saves a token on the API's path); its id is the parent's, so
    # the Web API log, the rate limits and "last used" count its calls under the parent.
    _derived_cache[(parent_id, key_id)] = (time.monotonic() + TOKEN_CACHE_SECONDS, derived)
    return derived


def _token_by_id(token_id: int) -> AccessToken | None:
    """The active token `token_id`, from the cache when fresh (no secret checked: for tokens
    derived from it, whose MAC stands for the secret)."""
    cached = _token_cache.get(token_id)
    if cached is not None and cached[0] > time.monotonic():
        return cached[1]
    return (AccessToken.objects.select_related("vendor", "vendor__signing_key")
            .filter(pk=token_id, revoked_at__isnull=True).first())


def token_cache_clear() -> None:
    _token_cache.clear()
    _derived_cache.clear()


def _derived_cache_forget(parent_matches: Callable[[AccessToken], bool]) -> None:
    for cache_key, (_, token) in list(_derived_cache.items()):
        if parent_matches(token):
            _derived_cache.pop(cache_key, None)


def _token_cache_forget_vendor(vendor_id: int) -> None:
    for token_id, (_, token) in list(_token_cache.items()):
        if token.vendor_id == vendor_id:
            _token_cache.pop(token_id, None)
    _derived_cache_forget(lambda token: token.vendor_id == vendor_id)


TOUCH_INTERVAL_SECONDS = 60


def token_touch(token: AccessToken) -> None:
    """Record that the token was used, at most once a minute to keep API calls cheap."""
    now = timezone.now()
    if token.last_used is None or (now - token.last_used).total_seconds() > TOUCH_INTERVAL_SECONDS:
        AccessToken.objects.filter(pk=token.pk).update(last_used=now)
        token.last_used = now
