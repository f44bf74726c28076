"""Cryptolens' "user account authorization": auth/GetChallenge, auth/GetToken and
User/GetLicenseKeys, as the .NET client calls them (Cryptolens.Licensing,
UserAccountAuth/AuthMethods.cs, UserAccountAuth/UserLoginAuth.cs, Models/UserLoginAuthModels.cs).
The flow and its rules live in apps.licensing.services.app_authorizations."""

from __future__ import annotations

import base64
import json
import struct
from typing import Any

from django.utils import timezone

from apps.core.errors import DomainError
from apps.licensing import license_payload, signing
from apps.licensing.license_payload import LicenseView
from apps.licensing.models import LicenseKey
from apps.licensing.services.app_authorizations import (
    ALREADY_CLAIMED,
    BAD_SIGNATURE,
    NO_CHALLENGE,
    NOT_APPROVED,
    STALE_DATE,
    app_authorization_challenge,
    app_authorization_issue_token,
    app_authorization_of,
    app_authorization_take_challenge,
    authorized_machine_codes,
    challenge_signature_check,
)

from .. import access, errors
from ..access import Reach
from ..context import ApiContext
from ..errors import ApiError
from ..registry import Param, api_method
from .common import P_SIGN, P_SIGN_METHOD

FLOW = ("The application (.NET UserAccount.GetLicenseKeys) opens /User/AuthorizeApp/ in the "
        "browser; a person of one of your customers signs in to the customer portal and "
        "approves it. ")
P_AUTHORIZATION = Param("AuthorizationToken", "string",
                        "The base64 random value the application put in the /User/AuthorizeApp/ "
                        "link.")


def _authorization_token(ctx: ApiContext) -> str:
    value = ctx.params.str("AuthorizationToken", max_length=200).strip()
    if not value:
        raise ApiError(errors.INCORRECT_INPUT)
    return value


@api_method(
    "auth.GetChallenge", reach=Reach.USER,
    summary=FLOW + "Once approved (the person has 15 minutes), this answers a fresh random "
            "challenge for the application to sign; before that it answers an error, and the "
            ".NET client asks again every 3 seconds. Call it with the token whose id was "
            "TokenId in the link; each call replaces the previous challenge.",
    params=(P_AUTHORIZATION,),
    returns="challenge (base64 of 32 random bytes)",
    errors=(errors.UNABLE_TO_AUTHENTICATE, errors.ACCESS_DENIED, errors.INCORRECT_INPUT,
            NOT_APPROVED, ALREADY_CLAIMED),
)
def get_challenge(ctx: ApiContext) -> dict[str, Any]:
    value = _authorization_token(ctx)
    try:
        challenge = app_authorization_challenge(token=ctx.token, authorization_token=value)
    except DomainError as exc:
        raise ApiError(exc.message) from None
    return {"challenge": challenge}


@api_method(
    "auth.GetToken", reach=Reach.USER,
    summary=FLOW + "The application proves it holds the private key of the PublicKey it "
            "showed: SignedChallenge is RSA PKCS#1 v1.5 / SHA-512 over the challenge bytes "
            "followed by Date as a little-endian 64-bit integer. Date must be within 5 minutes "
            "of the server's clock and the challenge at most 2 minutes old; a challenge is "
            "used up by the first try, right or wrong. The answer is an access token that may "
            "call User/GetLicenseKeys only, for that customer only, for the number of days "
            "the link asked (Expires); it is issued once per authorization.",
    params=(P_AUTHORIZATION,
            Param("SignedChallenge", "string", "Base64 signature of challenge || Date."),
            Param("Date", "int", "Unix seconds (UTC) when the challenge was signed.")),
    returns="token (the application's access token)",
    errors=(errors.UNABLE_TO_AUTHENTICATE, errors.ACCESS_DENIED, errors.INCORRECT_INPUT,
            NOT_APPROVED, ALREADY_CLAIMED, NO_CHALLENGE, BAD_SIGNATURE, STALE_DATE),
)
def get_token(ctx: ApiContext) -> dict[str, Any]:
    params = ctx.params
    value = _authorization_token(ctx)
    signed = params.str("SignedChallenge", max_length=2000).strip()
    date = params.int("Date", 0, minimum=-(2**63), maximum=2**63 - 1)
    if not signed or not date:
        raise ApiError(errors.INCORRECT_INPUT)
    try:
        authorization, challenge = app_authorization_take_challenge(
            token=ctx.token, authorization_token=value)
        challenge_signature_check(authorization=authorization, challenge=challenge,
                                  signed_challenge=signed, date=date)
        token = app_authorization_issue_token(authorization=authorization, actor=ctx.actor)
    except DomainError as exc:
        raise ApiError(exc.message) from None
    return {"token": token}


@api_method(
    "user.GetLicenseKeys", reach=Reach.USER,
    summary="The licenses of the customer whose person authorized the application, signed: "
            "call it with the token auth/GetToken gave (no other token may). `results` is "
            "base64 of the UTF-8 JSON list of {licenseKey (the camelCase LicenseKey object "
            "with its LinqSign signature, as key/GetKey answers it), metadata, result, "
            "message}; `activatedMachineCodes` is base64 of the JSON list of the machine codes "
            "the customer's people authorized; `signature` is RSA PKCS#1 v1.5 / SHA-256 with "
            "your signing key over the results bytes, then the activatedMachineCodes bytes, "
            "then signDate as a little-endian 64-bit integer (verify it with your public key, "
            "as UserLoginAuth.cs does). The token's product lock narrows the list.",
    params=(P_SIGN, P_SIGN_METHOD,
            Param("MachineCode", "string", "The device asking; the .NET client checks it "
                  "against activatedMachineCodes.")),
    returns="results, activatedMachineCodes, signature (empty unless Sign), signDate "
            "(Unix seconds)",
    errors=(errors.UNABLE_TO_AUTHENTICATE, errors.ACCESS_DENIED, errors.INCORRECT_INPUT),
)
def get_license_keys(ctx: ApiContext) -> dict[str, Any]:
    authorization = app_authorization_of(ctx.token)
    if authorization is None:  # a vendor token, even one ticked with this permission
        raise ApiError(errors.ACCESS_DENIED)
    params = ctx.params
    sign = params.bool("Sign", False)
    params.sign_method()  # validated; both methods get this answer (the .NET client's shape)
    params.str("MachineCode", max_length=128)
    now = timezone.now()
    keys = access.keys(ctx.token, LicenseKey.objects.filter(
        customer=authorization.customer, product__vendor_id=authorization.vendor_id)
        .select_related("product", "customer", "reseller")
        .prefetch_related("activations", "data_objects").order_by("product_id", "serial"))
    signing_key = ctx.vendor.signing_key
    results = []
    for key in keys:
        view = LicenseView(key=key, activations=list(key.activations.all()), sign_date=now,
                           fields_to_return=ctx.token.fields_hidden)
        license_key = (license_payload.linq_sign(view, signing_key)["licenseKey"] if sign
                       else license_payload.linq_object(view) | {"signature": None})
        results.append({"licenseKey": license_key, "metadata": None, "result": 0,
                        "message": ""})
    results_bytes = json.dumps(results, ensure_ascii=False, separators=(",", ":")).encode()
    machines_bytes = json.dumps(authorized_machine_codes(authorization),
                                ensure_ascii=False, separators=(",", ":")).encode()
    sign_date = int(now.timestamp())
    signature = base64.b64encode(signing.sign(
        signing_key.private_key_encrypted,
        results_bytes + machines_bytes + struct.pack("<q", sign_date))).decode() if sign else ""
    return {"results": base64.b64encode(results_bytes).decode(),
            "activatedMachineCodes": base64.b64encode(machines_bytes).decode(),
            "signature": signature, "signDate": sign_date}
