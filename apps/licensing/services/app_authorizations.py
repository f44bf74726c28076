"""Cryptolens' "user account authorization" (.NET Cryptolens.Licensing, UserAccountAuth/
AuthMethods.cs and UserLoginAuth.cs): a customer's portal user lets an application read the
customer's licenses, without a license key.

1. The application opens /User/AuthorizeApp/ with a random AuthorizationToken, its RSA public
   key (JSON of .NET's RSAParameters), a Scope, its name, the device, the number of days the
   token shall last and TokenId, the id of the vendor's access token it ships with.
2. A person of one of that vendor's customers approves it (app_authorization_approve).
3. The application asks for a challenge (app_authorization_challenge) and signs challenge ||
   Date (little-endian int64 Unix seconds) with RSA PKCS#1 v1.5 / SHA-512
   (app_authorization_take_challenge, app_authorization_issue_token).
4. The token it gets may call user/GetLicenseKeys for that customer only
   (app_token_authenticate).

The token is a stored row (this model), not a string derived from the vendor's token as
auth/KeyLock makes: it must name a customer, expire after its own number of days, and be
revocable one by one from the customer portal, which a derived MAC cannot do without a row.
It keeps Cryptolens' token shape, base64 of ["<vendor token id>","app:<row id>:<secret>"], so
the vendor's token still owns it (revoking that token ends it) and only a digest is stored."""

from __future__ import annotations

import base64
import binascii
import copy
import datetime as dt
import hmac
import json
import secrets
import struct
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from apps.accounts.models import User
from apps.audit.log import Actor, log_change
from apps.core.errors import DomainError
from apps.core.hashing import sha256_hex
from apps.licensing import tokens
from apps.licensing.models import AccessToken, AppAuthorization, CustomerMembership

GET_LICENSE_KEYS = "user.GetLicenseKeys"
# The application polls every 3 s, 100 times (UserLoginAuth.cs): five minutes. Approval gives
# it a little more to claim its token.
CLAIM_MINUTES = 15
CHALLENGE_SECONDS = 120
DATE_SKEW_SECONDS = 300
MAX_EXPIRES_DAYS = 3650
TOKEN_PREFIX = "app:"
SCOPE_BOOLEANS = (  # .NET Scope, in its order (Models/UserLoginAuthModels.cs)
    "Deactivate", "CreateKey", "GetKeys", "Activate", "ExtendLicense", "AddFeature",
    "RemoveFeature", "AddDataObject", "ListDataObjects", "SetStringValue", "SetIntValue",
    "IncrementIntValue", "DecrementIntValue", "RemoveDataObject", "BlockKey", "UnblockKey",
    "KeyInfo", "GetFeatureDefinitions", "ChangeNotes", "GetCustomers", "ChangeCustomer",
    "AddCustomer", "RemoveCustomer", "GetCustomerLicenses", "TrialActivation",
    "MachineLockLimit", "GetLicenseKeys", "PaymentForms",
)

# Stable messages (the API answers them as they are).
NOT_APPROVED = "The authorization was not found or has not been approved yet."
NO_CHALLENGE = "Ask for a challenge first (auth/GetChallenge)."
BAD_SIGNATURE = "The signature of the challenge is not valid."
STALE_DATE = "The date of the signed challenge is too far from the server's time."
ALREADY_CLAIMED = "A token was already issued for this authorization."


@dataclass(frozen=True)
class AuthorizeRequest:
    """What /User/AuthorizeApp/ carries, checked (AuthorizeAppModel in the .NET client)."""

    authorization_token: str
    public_key_pem: str
    scope: dict[str, Any]
    app_name: str
    device_name: str
    machine_code: str
    expires_days: int
    token_id: int

    @property
    def granted(self) -> list[str]:
        return ["GetLicenseKeys"] if self.scope.get("GetLicenseKeys") else []

    @property
    def asked_not_granted(self) -> list[str]:
        return [name for name in SCOPE_BOOLEANS
                if self.scope.get(name) and name != "GetLicenseKeys"]


def _public_key_from_net_json(text: str) -> str:
    """PEM of the key in .NET's JsonConvert.SerializeObject(RSAParameters): base64 Modulus and
    Exponent (the private fields are null in a public export)."""
    try:
        value = json.loads(text)
        fields = {str(k).lower(): v for k, v in value.items()}
        modulus = int.from_bytes(base64.b64decode(fields["modulus"], validate=True), "big")
        exponent = int.from_bytes(base64.b64decode(fields["exponent"], validate=True), "big")
        key = rsa.RSAPublicNumbers(exponent, modulus).public_key()
    except (ValueError, KeyError, TypeError, AttributeError, binascii.Error, RecursionError):
        raise DomainError("The application's public key is not valid.") from None
    if not 2048 <= key.key_size <= 4096:
        raise DomainError("The application's public key must have 2048 to 4096 bits.")
    return key.public_bytes(serialization.Encoding.PEM,
                            serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def _scope(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text or "{}")
    except (ValueError, RecursionError):
        raise DomainError("The requested scope is not valid.") from None
    if not isinstance(value, dict):
        raise DomainError("The requested scope is not valid.")
    lowered = {str(k).lower(): v for k, v in value.items()}
    return {name: True for name in SCOPE_BOOLEANS if lowered.get(name.lower()) is True}


def authorize_request_parse(params: dict[str, str]) -> AuthorizeRequest:
    """Check the query of /User/AuthorizeApp/ (names in any case); DomainError if malformed."""
    values = {k.lower(): v for k, v in params.items()}
    auth = values.get("authorizationtoken", "").strip()
    if not 16 <= len(auth) <= 200:
        raise DomainError("The authorization request is incomplete: AuthorizationToken.")
    try:
        expires = int(values.get("expires", ""))
        token_id = int(values.get("tokenid", ""))
    except ValueError:
        raise DomainError("The authorization request is incomplete: Expires or TokenId.") \
            from None
    if not 1 <= expires <= MAX_EXPIRES_DAYS:
        raise DomainError(f"The token must last 1 to {MAX_EXPIRES_DAYS} days.")
    if values.get("algorithm", "0").strip() not in ("0", "RSA_2048"):
        raise DomainError("Unknown signature algorithm.")
    app_name = values.get("vendorappname", "").strip()
    if not app_name:
        raise DomainError("The authorization request is incomplete: VendorAppName.")
    return AuthorizeRequest(
        authorization_token=auth, public_key_pem=_public_key_from_net_json(
            values.get("publickey", "")),
        scope=_scope(values.get("scope", "")), app_name=app_name[:200],
        device_name=values.get("devicename", "").strip()[:200],
        machine_code=values.get("machinecode", "").strip()[:128],
        expires_days=expires, token_id=token_id)


@transaction.atomic
def app_authorization_approve(*, request: AuthorizeRequest, membership: CustomerMembership,
                              token: AccessToken, user: User) -> AppAuthorization:
    """Store the person's approval; the application has CLAIM_MINUTES to get its token."""
    if token.vendor_id != membership.customer.vendor_id or membership.user_id != user.pk:
        raise DomainError("This application does not belong to a vendor whose customer "
                          "you are.")
    digest = sha256_hex(request.authorization_token)
    if AppAuthorization.objects.filter(authorization_digest=digest).exists():
        raise DomainError("This authorization request was already answered.")
    if not request.granted:
        raise DomainError("The application asks for nothing this portal can grant.")
    authorization = AppAuthorization.objects.create(
        vendor_id=token.vendor_id, customer=membership.customer, user=user,
        access_token=token, authorization_digest=digest,
        public_key_pem=request.public_key_pem, scope=request.scope, app_name=request.app_name,
        device_name=request.device_name, machine_code=request.machine_code,
        expires_days=request.expires_days,
        claim_by=timezone.now() + dt.timedelta(minutes=CLAIM_MINUTES))
    log_change(vendor=token.vendor, actor=Actor.for_user(user), obj=authorization,
               action="created", changes={"app_name": [None, request.app_name],
                                          "customer": [None, str(membership.customer)],
                                          "machine_code": [None, request.machine_code]})
    return authorization


def _pending(token: AccessToken, authorization_token: str) -> AppAuthorization:
    found = (AppAuthorization.objects.select_for_update()
             .filter(authorization_digest=sha256_hex(authorization_token),
                     access_token_id=token.pk, revoked_at__isnull=True).first())
    if found is None or found.claim_by <= timezone.now():
        raise DomainError(NOT_APPROVED)
    if found.token_hash:
        raise DomainError(ALREADY_CLAIMED)
    return found


@transaction.atomic
def app_authorization_challenge(*, token: AccessToken, authorization_token: str) -> str:
    """A new random challenge (base64) for an approved authorization of this token."""
    found = _pending(token, authorization_token)
    found.challenge = base64.b64encode(secrets.token_bytes(32)).decode()
    found.challenge_issued_at = timezone.now()
    found.save(update_fields=["challenge", "challenge_issued_at", "updated"])
    return found.challenge


@transaction.atomic
def app_authorization_take_challenge(*, token: AccessToken, authorization_token: str
                                     ) -> tuple[AppAuthorization, bytes]:
    """The authorization and its challenge, which is used up now, whatever comes next."""
    found = _pending(token, authorization_token)
    challenge, issued = found.challenge, found.challenge_issued_at
    if not challenge or issued is None or \
            (timezone.now() - issued).total_seconds() > CHALLENGE_SECONDS:
        raise DomainError(NO_CHALLENGE)
    found.challenge, found.challenge_issued_at = "", None
    found.save(update_fields=["challenge", "challenge_issued_at", "updated"])
    return found, base64.b64decode(challenge)


def challenge_signature_check(*, authorization: AppAuthorization, challenge: bytes,
                              signed_challenge: str, date: int) -> None:
    """AuthMethods.GetToken signs challenge || BitConverter.GetBytes(unix seconds) (little
    endian) with SHA-512 and PKCS#1 v1.5."""
    if abs(timezone.now().timestamp() - date) > DATE_SKEW_SECONDS:
        raise DomainError(STALE_DATE)
    try:
        signature = base64.b64decode(signed_challenge, validate=True)
        key = serialization.load_pem_public_key(authorization.public_key_pem.encode())
        assert isinstance(key, rsa.RSAPublicKey)
        key.verify(signature, challenge + struct.pack("<q", date), padding.PKCS1v15(),
                   hashes.SHA512())
    except (InvalidSignature, binascii.Error, ValueError, struct.error):
        raise DomainError(BAD_SIGNATURE) from None


@transaction.atomic
def app_authorization_issue_token(*, authorization: AppAuthorization, actor: Actor) -> str:
    """The application's token, shown once; valid for the approved number of days."""
    secret = tokens.new_secret()
    now = timezone.now()
    expires = now + dt.timedelta(days=authorization.expires_days)
    claimed = AppAuthorization.objects.filter(
        pk=authorization.pk, token_hash="", revoked_at__isnull=True).update(
        token_hash=tokens.hash_secret(secret), token_issued_at=now, token_expires=expires,
        updated=now)
    if not claimed:
        raise DomainError(ALREADY_CLAIMED)
    log_change(vendor=authorization.access_token.vendor, actor=actor, obj=authorization,
               action="token issued", changes={"token_expires": [None, expires.isoformat()]})
    return tokens.encode(authorization.access_token_id,
                         f"{TOKEN_PREFIX}{authorization.pk}:{secret}")


@transaction.atomic
def app_authorization_revoke(*, authorization: AppAuthorization, actor: Actor
                             ) -> AppAuthorization:
    """End an authorization: its token stops working at once (it is not cached)."""
    updated = AppAuthorization.objects.filter(
        pk=authorization.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    authorization.refresh_from_db()
    if updated:
        log_change(vendor=authorization.vendor, actor=actor, obj=authorization,
                   action="revoked")
    return authorization


def app_token_authenticate(token_id: int, secret: str) -> AccessToken | None:
    """The in-memory token an application token stands for: the vendor's token it was issued
    under, allowed user.GetLicenseKeys only, carrying its authorization (see
    app_authorization_of). None when malformed, revoked, expired, when its vendor token is
    revoked, or when the person who approved it no longer belongs to the customer."""
    row_part, _, secret_part = secret.removeprefix(TOKEN_PREFIX).partition(":")
    if not (row_part.isascii() and row_part.isdigit()) or len(row_part) > 18 \
            or not secret_part.isascii():
        return None
    # The person who approved must still belong to the customer: leaving it ends the token.
    still_member = CustomerMembership.objects.filter(customer_id=OuterRef("customer_id"),
                                                     user_id=OuterRef("user_id"))
    found = (AppAuthorization.objects
             .select_related("access_token__vendor__signing_key", "customer")
             .filter(Exists(still_member), pk=int(row_part), access_token_id=token_id,
                     revoked_at__isnull=True, token_expires__gt=timezone.now(),
                     access_token__revoked_at__isnull=True).first())
    if found is None or not hmac.compare_digest(tokens.hash_secret(secret_part),
                                                found.token_hash):
        return None
    derived = copy.copy(found.access_token)
    derived.permissions = [GET_LICENSE_KEYS]
    derived.key_lock_required = False  # GetLicenseKeys names no key
    derived._app_authorization = found
    return derived


def app_authorization_of(token: AccessToken) -> AppAuthorization | None:
    """The authorization of a token made by app_authorization_issue_token, else None."""
    found = getattr(token, "_app_authorization", None)
    return found if isinstance(found, AppAuthorization) else None


def authorized_machine_codes(authorization: AppAuthorization) -> list[str]:
    """The machine codes the customer's people authorized for this vendor, in force now."""
    return sorted(set(
        AppAuthorization.objects.for_customer(authorization.customer).in_force()
        .filter(vendor_id=authorization.vendor_id).exclude(machine_code="")
        .values_list("machine_code", flat=True)))
