"""auth/* methods: auth/KeyLock, a key-locked token made at run time (page "Key Lock",
app.cryptolens.io/docs/api/v3/KeyLock; wire reference §1.1)."""

from __future__ import annotations

from typing import Any

from apps.core.errors import DomainError
from apps.licensing.services.credentials import token_derive_key_locked

from .. import errors
from ..access import Reach
from ..context import ApiContext
from ..errors import ApiError
from ..registry import api_method
from .common import P_KEY, P_PRODUCT


@api_method(
    "auth.KeyLock", reach=Reach.KEY,
    summary="Turn this access token into one locked to the key named by ProductId and Key, "
            "with the same methods (auth.KeyLock excepted) and locks. Meant for tokens with key "
            "lock -1 (the call names its key), for which it needs no permission of its own, as "
            "at Cryptolens; other tokens need the auth.KeyLock permission. No row is stored: "
            "the new token is derived from this one, and revoking this token revokes it. Call "
            "it once per start and keep the answer in memory.",
    params=(P_PRODUCT, P_KEY),
    returns="keyId (the key's GlobalId, not its key string), token (the new access token)",
    errors=(errors.UNABLE_TO_AUTHENTICATE, errors.ACCESS_DENIED, errors.INCORRECT_INPUT,
            errors.PRODUCT_NOT_FOUND, errors.KEY_NOT_FOUND, errors.KEY_LOCKED),
)
def key_lock(ctx: ApiContext) -> dict[str, Any]:
    # Cryptolens answers the key's id ("i.e. not the key string") and the token; the key
    # lies within this token's own locks (ctx.key, apps.api.access).
    key = ctx.key(devices=False)
    try:
        token_string = token_derive_key_locked(token=ctx.token, key=key)
    except DomainError as exc:
        raise ApiError(exc.message) from None
    return {"keyId": key.pk, "token": token_string}
