"""userauth/* methods: users of the vendor's application log in with a name and password
instead of a license key (Cryptolens' "User verifications").

Sources: the Web API reference pages app.cryptolens.io/docs/api/v3/{Login, Register,
Associate, ChangePassword} (parameters, errors), the official clients
(cryptolens-python licensing/methods.py class User: what each call sends and reads;
cryptolens-dotnet Cryptolens.Licensing/SKMv3/User.cs and Models/WebAPIModels.cs:
LoginUserResult.LicenseKeys, GetUsersResult.Users of UserObj {Username, Email, Created,
CustomerId}, ResetPasswordResult.PasswordResetToken, GetUsersModel {UserName, Email,
CustomerId}). Login and ChangePassword accept a UserAuthNormal or UserAuthAdmin token (the
Normal one is meant to ship inside the application); the others need UserAuthAdmin."""

from __future__ import annotations

from typing import Any

from apps.core.errors import DomainError
from apps.licensing import services
from apps.licensing.api_methods import USER_AUTH_ADMIN, USER_AUTH_NORMAL
from apps.licensing.license_payload import iso
from apps.licensing.models import AppUser, Customer
from apps.licensing.services import userauth as rules
from apps.licensing.services.userauth import CredentialsRejected

from .. import access, errors, ratelimit
from ..access import Reach
from ..context import ApiContext
from ..errors import ApiError
from ..registry import Param, api_method
from .common import customer_license_keys

NORMAL_OR_ADMIN = (USER_AUTH_NORMAL, USER_AUTH_ADMIN)
ADMIN = (USER_AUTH_ADMIN,)

P_USERNAME = Param("Username", "string", f"The user name (1 to {rules.MAX_USERNAME} "
                   "characters; any case finds the user).")
P_CUSTOMER = Param("CustomerId", "int", "The customer to associate the user with.", "0")
COMMON_ERRORS = (errors.UNABLE_TO_AUTHENTICATE, errors.ACCESS_DENIED, errors.INCORRECT_INPUT)


def _username(ctx: ApiContext) -> str:
    # Params.str refuses nothing here (max_length None): the service words the length error.
    return ctx.params.str("Username").strip()


def _user(ctx: ApiContext) -> AppUser:
    """The user named by Username, within the token's locks, or "Username does not exist."."""
    user = access.app_user(ctx.token, _username(ctx))
    if user is None:
        raise ApiError(rules.USERNAME_UNKNOWN)
    return user


def _customer_param(ctx: ApiContext) -> Customer | None:
    customer_id = ctx.params.int("CustomerId", 0, minimum=0, maximum=2**31)
    if not customer_id:
        return None
    customer = access.app_user_customer(ctx.token, customer_id)
    if customer is None:
        raise ApiError(rules.CUSTOMER_NOT_FOUND)
    return customer


def _check_not_blocked(ctx: ApiContext, username: str) -> None:
    retry_after = ratelimit.login_retry_after(ctx.vendor.pk, username, ctx.ip)
    if retry_after:
        raise ApiError(errors.TOO_MANY_REQUESTS)


def _failed(ctx: ApiContext, username: str, message: str) -> ApiError:
    ratelimit.record_login_failure(ctx.vendor.pk, username, ctx.ip)
    return ApiError(message)


@api_method(
    "userauth.Login", reach=Reach.USER, permissions=NORMAL_OR_ADMIN,
    summary="Check a user's name and password and return the licenses of the customer the "
            "user is associated with (none when unassociated). Failed attempts are limited "
            "per user name and per IP address.",
    params=(P_USERNAME, Param("Password", "string", "The user's password.")),
    returns="licenseKeys: the customer's keys as GetCustomerLicenses with Detailed=true lists "
            "them, within the token's locks",
    errors=(*COMMON_ERRORS, rules.NO_CREDENTIALS, rules.AUTHENTICATION_FAILED,
            errors.TOO_MANY_REQUESTS),
)
def login(ctx: ApiContext) -> dict[str, Any]:
    username, password = _username(ctx), ctx.params.str("Password")
    if not username or not password:
        raise ApiError(rules.NO_CREDENTIALS)
    _check_not_blocked(ctx, username)
    user = services.app_user_authenticate(vendor=ctx.vendor, username=username,
                                          password=password)
    if user is None:
        raise _failed(ctx, username, rules.AUTHENTICATION_FAILED)
    return {"licenseKeys": customer_license_keys(ctx, user.customer, detailed=True)}


@api_method(
    "userauth.Register", reach=Reach.VENDOR, permissions=ADMIN,
    summary="Register a user of your application, optionally associated with a customer "
            "(a customer that does not allow multiple user association takes one user). "
            "The password is stored as a salted hash only.",
    params=(P_USERNAME,
            Param("Password", "string", f"1 to {rules.MAX_PASSWORD} characters."),
            Param("Email", "string", f"Optional, at most {rules.MAX_EMAIL} characters."),
            P_CUSTOMER),
    returns="result and message only",
    errors=(*COMMON_ERRORS, rules.NO_CREDENTIALS, rules.USERNAME_TAKEN,
            rules.CUSTOMER_NOT_FOUND, rules.CUSTOMER_HAS_USER, rules.USERNAME_TOO_LONG,
            rules.USERNAME_INVALID, rules.PASSWORD_TOO_LONG, rules.EMAIL_INVALID),
)
def register(ctx: ApiContext) -> dict[str, Any]:
    username, password = _username(ctx), ctx.params.str("Password")
    if not username or not password:
        raise ApiError(rules.NO_CREDENTIALS)
    customer = _customer_param(ctx)
    try:
        services.app_user_register(vendor=ctx.vendor, actor=ctx.actor, username=username,
                                   password=password, email=ctx.params.str("Email"),
                                   customer=customer)
    except DomainError as exc:
        raise ApiError(exc.message) from None
    return {}


@api_method(
    "userauth.Associate", reach=Reach.VENDOR, permissions=ADMIN,
    summary="Associate a user with a customer (replacing any earlier one): Login then "
            "returns that customer's licenses.",
    params=(P_USERNAME, P_CUSTOMER),
    returns="result and message only",
    errors=(*COMMON_ERRORS, rules.USERNAME_UNKNOWN, rules.CUSTOMER_NOT_FOUND,
            rules.CUSTOMER_HAS_USER),
)
def associate(ctx: ApiContext) -> dict[str, Any]:
    user = _user(ctx)
    customer = _customer_param(ctx)
    if customer is None:
        raise ApiError(rules.CUSTOMER_NOT_FOUND)
    try:
        services.app_user_associate(user=user, actor=ctx.actor, customer=customer)
    except DomainError as exc:
        raise ApiError(exc.message) from None
    return {}


@api_method(
    "userauth.Dissociate", reach=Reach.VENDOR, permissions=ADMIN,
    summary="Dissociate a user from its customer: Login then returns no licenses.",
    params=(P_USERNAME,),
    returns="result and message only",
    errors=(*COMMON_ERRORS, rules.USERNAME_UNKNOWN),
)
def dissociate(ctx: ApiContext) -> dict[str, Any]:
    services.app_user_dissociate(user=_user(ctx), actor=ctx.actor)
    return {}


@api_method(
    "userauth.GetUsers", reach=Reach.VENDOR, permissions=ADMIN,
    summary="List the users of your application, optionally of one customer.",
    params=(P_CUSTOMER, Param("Username", "string", "Only the user of this name.", ""),
            Param("Email", "string", "Only users with this e-mail.", "")),
    returns="users: [{username, email, created (yyyy-MM-ddTHH:mm:ss, UTC), customerId (0: "
            "none)}]",
    errors=(*COMMON_ERRORS, rules.CUSTOMER_NOT_FOUND),
)
def get_users(ctx: ApiContext) -> dict[str, Any]:
    customer = _customer_param(ctx)
    users = access.app_users(ctx.token, rules.app_user_list(
        vendor=ctx.vendor, customer_id=customer.pk if customer else None,
        username=ctx.params.str("Username"), email=ctx.params.str("Email")))
    return {"users": [{"username": u.username, "email": u.email,
                       "created": iso(u.created), "customerId": u.customer_id or 0}
                      for u in users]}


@api_method(
    "userauth.ChangePassword", reach=Reach.USER, permissions=NORMAL_OR_ADMIN,
    summary="Change a user's password: with the old password or a password reset token "
            "(any userauth token), or with AdminMode=true and a UserAuthAdmin token, the new "
            "password alone. A reset token works once; wrong old passwords and tokens count "
            "as failed logins.",
    params=(P_USERNAME, Param("NewPassword", "string", f"1 to {rules.MAX_PASSWORD} characters."),
            Param("OldPassword", "string", "The current password.", ""),
            Param("PasswordResetToken", "string", "A token from ResetPasswordToken.", ""),
            Param("AdminMode", "bool", "Set the password without the old one (UserAuthAdmin "
                  "tokens only).", "false")),
    returns="result and message only",
    errors=(*COMMON_ERRORS, rules.NO_CREDENTIALS, rules.PASSWORD_NOT_UPDATED,
            rules.PASSWORD_TOO_LONG, errors.TOO_MANY_REQUESTS),
)
def change_password(ctx: ApiContext) -> dict[str, Any]:
    params = ctx.params
    username, new_password = _username(ctx), params.str("NewPassword")
    if not username or not new_password:
        raise ApiError(rules.NO_CREDENTIALS)
    admin = params.bool("AdminMode", False)
    if admin and not ctx.has_permission(USER_AUTH_ADMIN):
        raise ApiError(errors.ACCESS_DENIED)
    if not admin:
        _check_not_blocked(ctx, username)
    user = access.app_user(ctx.token, username, proven=not admin)
    if user is None:
        if admin:
            raise ApiError(rules.PASSWORD_NOT_UPDATED)
        raise _failed(ctx, username, rules.PASSWORD_NOT_UPDATED)
    try:
        services.app_user_change_password(
            user=user, actor=ctx.actor, new_password=new_password, admin=admin,
            old_password=params.str("OldPassword"),
            reset_token=params.str("PasswordResetToken", max_length=200))
    except CredentialsRejected as exc:
        raise _failed(ctx, username, exc.message) from None
    except DomainError as exc:
        raise ApiError(exc.message) from None
    return {}


@api_method(
    "userauth.ResetPasswordToken", reach=Reach.VENDOR, permissions=ADMIN,
    summary="Make a password reset token for a user, to pass on to them for ChangePassword. "
            "It works once, for 24 hours, and replaces any earlier one; only its digest is "
            "stored.",
    params=(P_USERNAME,),
    returns="passwordResetToken",
    errors=(*COMMON_ERRORS, rules.USERNAME_UNKNOWN),
)
def reset_password_token(ctx: ApiContext) -> dict[str, Any]:
    token = services.app_user_reset_token_create(user=_user(ctx), actor=ctx.actor)
    return {"passwordResetToken": token}


@api_method(
    "userauth.RemoveUser", reach=Reach.VENDOR, permissions=ADMIN,
    summary="Remove a user of your application (its customer and licenses stay).",
    params=(P_USERNAME,),
    returns="result and message only",
    errors=(*COMMON_ERRORS, rules.USERNAME_UNKNOWN),
)
def remove_user(ctx: ApiContext) -> dict[str, Any]:
    services.app_user_remove(user=_user(ctx), actor=ctx.actor)
    return {}

