"""User accounts of a vendor's application (Cryptolens' user authentication, `userauth/*`).

The rules live here once, for the Web API and both portals: user names unique per vendor
(case-insensitively), passwords kept only as Django password hashes, a customer that does not
allow multiple user association has one user at most, and a password reset token is single
use, expires after a day and is stored only as its SHA-256 digest.

Messages: where Cryptolens' Web API reference (app.cryptolens.io/docs/api/v3/<Method>) lists
the error, its words are used; the others are marked (inferred)."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import unicodedata

from django.contrib.auth.hashers import check_password, make_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from apps.accounts.models import Vendor
from apps.audit.log import Actor, log_change
from apps.core.errors import DomainError
from apps.licensing.models import AppUser, Customer

MAX_USERNAME = 100  # AppUser.username
MAX_EMAIL = 100  # AppUser.email
MAX_PASSWORD = 256  # (inferred) long enough for any pass phrase, short enough to hash cheaply
RESET_TOKEN_LIFETIME = dt.timedelta(hours=24)

# Login, Register, ChangePassword pages: "No username or password supplied."
NO_CREDENTIALS = "No username or password supplied."
# Login page.
AUTHENTICATION_FAILED = "Unable to authenticate user."
# Register page.
USERNAME_TAKEN = "Username already exists. Please pick a different one."
# Associate page (also used, inferred, by the other methods that name a user).
USERNAME_UNKNOWN = "Username does not exist."
# Register and Associate pages.
CUSTOMER_NOT_FOUND = "Customer not found."
# ChangePassword page: every refused change (wrong old password, bad or used reset token).
PASSWORD_NOT_UPDATED = "Could not update the password."
USERNAME_TOO_LONG = f"The username cannot be longer than {MAX_USERNAME} characters."  # (inferred)
USERNAME_INVALID = "The username cannot contain control characters."  # (inferred)
PASSWORD_TOO_LONG = f"The password cannot be longer than {MAX_PASSWORD} characters."  # (inferred)
EMAIL_INVALID = "The email is not valid."  # (inferred)
# (inferred) Cryptolens' AddCustomer: "AllowMultipleUserAssociation: If set to true, it will be
# possible to associate multiple user accounts with this customer"; its refusal is not documented.
CUSTOMER_HAS_USER = ("This customer already has a user and does not allow multiple user "
                     "association.")


class CredentialsRejected(DomainError):
    """A password or reset token did not match: the caller counts it as a failed attempt."""


# A hash of nothing anyone knows: checked when the user name is unknown, so that an unknown
# name costs as long as a wrong password and the answer's timing tells nothing.
_DUMMY_HASH: str | None = None


def _burn_a_hash(password: str) -> None:
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = make_password(secrets.token_urlsafe(16))
    check_password(password, _DUMMY_HASH)


def clean_username(username: str) -> str:
    """The user name as stored and looked up: surrounding spaces dropped."""
    username = username.strip()
    if not username:
        raise DomainError(NO_CREDENTIALS, field="username")
    if len(username) > MAX_USERNAME:
        raise DomainError(USERNAME_TOO_LONG, field="username")
    if any(unicodedata.category(char) in ("Cc", "Cf") for char in username):
        raise DomainError(USERNAME_INVALID, field="username")
    return username


def _check_password_rules(password: str) -> None:
    if not password:
        raise DomainError(NO_CREDENTIALS, field="password")
    if len(password) > MAX_PASSWORD:
        raise DomainError(PASSWORD_TOO_LONG, field="password")


def _clean_email(email: str) -> str:
    email = email.strip()
    if not email:
        return ""
    if len(email) > MAX_EMAIL:
        raise DomainError(EMAIL_INVALID, field="email")
    try:
        validate_email(email)
    except ValidationError:
        raise DomainError(EMAIL_INVALID, field="email") from None
    return email


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _check_room(customer: Customer, user: AppUser | None) -> None:
    """Lock the customer's row, then refuse a second user where only one is allowed (two
    concurrent associations queue on the lock, so the second sees the first)."""
    locked = Customer.objects.select_for_update().get(pk=customer.pk)
    if locked.allow_multiple_user_association:
        return
    others = AppUser.objects.filter(customer_id=locked.pk)
    if user is not None:
        others = others.exclude(pk=user.pk)
    if others.exists():
        raise DomainError(CUSTOMER_HAS_USER, field="customer")


def app_user_find(*, vendor: Vendor, username: str) -> AppUser | None:
    """The vendor's user of that name (any case), or None."""
    username = username.strip()
    if not username or len(username) > MAX_USERNAME:
        return None
    return (AppUser.objects.filter(vendor=vendor, username__iexact=username)
            .select_related("customer").first())


def app_user_list(*, vendor: Vendor, customer_id: int | None = None, username: str = "",
                  email: str = "") -> QuerySet[AppUser]:
    users = AppUser.objects.for_vendor(vendor).select_related("customer")
    if customer_id:
        users = users.filter(customer_id=customer_id)
    if username:
        users = users.filter(username__iexact=username.strip())
    if email:
        users = users.filter(email__iexact=email.strip())
    return users.order_by("username", "id")


@transaction.atomic
def app_user_register(*, vendor: Vendor, actor: Actor, username: str, password: str,
                      email: str = "", customer: Customer | None = None) -> AppUser:
    """Create a user of the vendor's application, optionally associated with a customer."""
    username = clean_username(username)
    _check_password_rules(password)
    email = _clean_email(email)
    if customer is not None:
        if customer.vendor_id != vendor.pk:
            raise DomainError(CUSTOMER_NOT_FOUND, field="customer")
        _check_room(customer, None)
    if AppUser.objects.filter(vendor=vendor, username__iexact=username).exists():
        raise DomainError(USERNAME_TAKEN, field="username")
    try:
        with transaction.atomic():  # a concurrent registration of the name: the constraint
            user = AppUser.objects.create(vendor=vendor, username=username, email=email,
                                          password=make_password(password), customer=customer)
    except IntegrityError:
        raise DomainError(USERNAME_TAKEN, field="username") from None
    log_change(vendor=vendor, actor=actor, obj=user, action="app user registered",
               changes={"username": [None, username], "email": [None, email],
                        "customer": [None, customer]})
    return user


def app_user_authenticate(*, vendor: Vendor, username: str, password: str) -> AppUser | None:
    """The user whose name and password these are (its last login updated), or None. An
    unknown name takes as long to refuse as a wrong password."""
    user = app_user_find(vendor=vendor, username=username)
    if user is None or not password:
        _burn_a_hash(password)
        return None
    if not check_password(password, user.password):
        return None
    now = timezone.now()
    AppUser.objects.filter(pk=user.pk).update(last_login=now)
    user.last_login = now
    return user


@transaction.atomic
def app_user_associate(*, user: AppUser, actor: Actor, customer: Customer) -> AppUser:
    """Associate the user with a customer of the same vendor (replacing any other)."""
    if customer.vendor_id != user.vendor_id:
        raise DomainError(CUSTOMER_NOT_FOUND, field="customer")
    _check_room(customer, user)
    before = user.customer
    if before is not None and before.pk == customer.pk:
        return user
    AppUser.objects.filter(pk=user.pk).update(customer=customer)
    user.customer = customer
    log_change(vendor=user.vendor, actor=actor, obj=user, action="app user associated",
               changes={"customer": [before, customer]})
    return user


@transaction.atomic
def app_user_dissociate(*, user: AppUser, actor: Actor) -> AppUser:
    before = user.customer
    if before is None:
        return user
    AppUser.objects.filter(pk=user.pk).update(customer=None)
    user.customer = None
    log_change(vendor=user.vendor, actor=actor, obj=user, action="app user dissociated",
               changes={"customer": [before, None]})
    return user


@transaction.atomic
def app_user_change_password(*, user: AppUser, actor: Actor, new_password: str,
                             old_password: str = "", reset_token: str = "",
                             admin: bool = False) -> AppUser:
    """Set a new password: in admin mode as it is; otherwise only with the old password or
    an unused, unexpired reset token (CredentialsRejected when neither matches). The row is
    locked, so a reset token can be used once even by concurrent calls; any outstanding
    reset token stops working once the password changes."""
    _check_password_rules(new_password)
    locked = AppUser.objects.select_for_update().get(pk=user.pk)
    if admin:
        how = "admin mode"
    elif reset_token:
        now = timezone.now()
        valid = (locked.reset_token_hash and locked.reset_token_expires is not None
                 and locked.reset_token_expires > now
                 and hmac.compare_digest(locked.reset_token_hash, _digest(reset_token)))
        if not valid:
            raise CredentialsRejected(PASSWORD_NOT_UPDATED)
        how = "reset token"
    elif old_password:
        if not check_password(old_password, locked.password):
            raise CredentialsRejected(PASSWORD_NOT_UPDATED)
        how = "old password"
    else:
        raise CredentialsRejected(PASSWORD_NOT_UPDATED)
    locked.password = make_password(new_password)
    locked.reset_token_hash, locked.reset_token_expires = "", None
    locked.save(update_fields=["password", "reset_token_hash", "reset_token_expires"])
    log_change(vendor=locked.vendor, actor=actor, obj=locked, action="app user password changed",
               changes={"by": [None, how]})
    return locked


@transaction.atomic
def app_user_reset_token_create(*, user: AppUser, actor: Actor) -> str:
    """A new password reset token (returned once; only its digest is kept), valid for
    RESET_TOKEN_LIFETIME and for one ChangePassword. It replaces any earlier one."""
    token = secrets.token_urlsafe(32)
    expires = timezone.now() + RESET_TOKEN_LIFETIME
    AppUser.objects.filter(pk=user.pk).update(reset_token_hash=_digest(token),
                                              reset_token_expires=expires)
    user.reset_token_hash, user.reset_token_expires = _digest(token), expires
    log_change(vendor=user.vendor, actor=actor, obj=user,
               action="app user password reset token created",
               changes={"reset_token_expires": [None, expires]})
    return token


@transaction.atomic
def app_user_remove(*, user: AppUser, actor: Actor) -> None:
    log_change(vendor=user.vendor, actor=actor, obj=user, action="app user removed",
               changes={"username": [user.username, None], "email": [user.email, None],
                        "customer": [user.customer, None]})
    AppUser.objects.filter(pk=user.pk).delete()
