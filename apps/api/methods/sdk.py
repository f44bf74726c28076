"""sdk/SignApplication: the SDK signer's call (sdk-signer/; apps.sdk_licensing).

Not a Cryptolens method (Cryptolens' own signing utility uses key/Activate and data objects,
which are served as they are). One call activates the developer machine on the key, with
key/Activate's rule and errors, and returns a certificate the SDK verifies offline."""

from __future__ import annotations

import base64
from typing import Any

from apps.core.errors import DomainError
from apps.licensing.services.seats import Device
from apps.sdk_licensing.certificates import ALGORITHM, Application
from apps.sdk_licensing.services import (
    BAD_ALGORITHM,
    BAD_FINGERPRINT,
    EXPIRED,
    NAME_TOO_LONG,
    NO_MACHINE_CODE,
    REVOKED,
    sdk_application_sign,
)
from apps.usage import states

from ..access import Reach
from ..context import ApiContext
from ..errors import ApiError
from ..registry import Param, api_method
from .common import P_FIELDS, P_KEY, P_PRODUCT, fields_hidden
from .key import COMMON_ERRORS, P_FRIENDLY, device_params


@api_method(
    "sdk.SignApplication", reach=Reach.KEY,
    summary="Activate a developer machine on the key (as key/Activate: the key's seats are "
            "the developer machines) and return a certificate, signed with the vendor's key, "
            "binding the license, the application's fingerprint, the machine and the time. "
            "The SDK verifies it offline (sdk-signer).",
    params=(P_PRODUCT, P_KEY,
            Param("MachineCode", "string", "The developer machine (at most 128 characters)."),
            P_FRIENDLY,
            Param("Fingerprint", "string", "The application's fingerprint: 64 hex characters "
                  "(sdk-signer's algorithm)."),
            Param("Algorithm", "string", "The fingerprint's algorithm.", ALGORITHM),
            Param("ApplicationName", "string", "The application's file or folder name (at "
                  "most 255 characters), shown on the vendor's page."),
            P_FIELDS),
    returns="certificate (base64 of the signed JSON), signature (base64, RSA-SHA256), "
            "certificateId",
    errors=(*COMMON_ERRORS, "The key is blocked and cannot be accessed.",
            "Cannot activate the new device as the limit has been reached.",
            "The machine code cannot exceed 128 chars in length.", NO_MACHINE_CODE, REVOKED,
            EXPIRED, BAD_FINGERPRINT, BAD_ALGORITHM, NAME_TOO_LONG),
)
def sign_application(ctx: ApiContext) -> dict[str, Any]:
    params = ctx.params
    machine_code, friendly_name = device_params(ctx)
    application = Application(name=params.str("ApplicationName"),
                              fingerprint=params.str("Fingerprint").strip(),
                              algorithm=params.str("Algorithm") or ALGORITHM)
    key = ctx.key()
    hidden = fields_hidden(ctx, params.int("FieldsToReturn", 0, minimum=0, maximum=2**31))
    try:
        signed = sdk_application_sign(key=key, device=Device(machine_code, friendly_name, ctx.ip),
                                      application=application, fields_hidden=hidden,
                                      actor=ctx.actor)
    except DomainError as exc:
        raise ApiError(exc.message, exc.state or states.ACTIVATION_FAILED) from None
    ctx.record.state = signed.activation_state
    return {"certificate": base64.b64encode(signed.payload).decode(),
            "signature": base64.b64encode(signed.signature).decode(),
            "certificateId": signed.certificate_id}
