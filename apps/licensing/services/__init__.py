"""Licensing services: every write goes through here, whatever the interface."""

from apps.licensing.services.activations import activation_release
from apps.licensing.services.app_authorizations import (
    app_authorization_approve,
    app_authorization_revoke,
)
from apps.licensing.services.catalog import (
    customer_create,
    customer_update,
    product_create,
    product_update,
)
from apps.licensing.services.credentials import (
    signing_key_create,
    signing_key_retire,
    signing_key_rotate,
    token_authenticate,
    token_create,
    token_revoke,
)
from apps.licensing.services.data_objects import (
    data_object_add,
    data_object_change_int,
    data_object_remove,
    data_object_update,
)
from apps.licensing.services.keys import (
    KeySpec,
    key_create,
    key_extend,
    key_set_blocked,
    key_set_expiry,
    key_update,
)
from apps.licensing.services.messages import message_create, message_remove
from apps.licensing.services.userauth import (
    app_user_associate,
    app_user_authenticate,
    app_user_change_password,
    app_user_dissociate,
    app_user_register,
    app_user_remove,
    app_user_reset_token_create,
)

__all__ = [
    "KeySpec",
    "activation_release",
    "app_authorization_approve",
    "app_authorization_revoke",
    "app_user_associate",
    "app_user_authenticate",
    "app_user_change_password",
    "app_user_dissociate",
    "app_user_register",
    "app_user_remove",
    "app_user_reset_token_create",
    "customer_create",
    "customer_update",
    "data_object_add",
    "data_object_change_int",
    "data_object_remove",
    "data_object_update",
    "key_create",
    "key_extend",
    "key_set_blocked",
    "key_set_expiry",
    "key_update",
    "message_create",
    "message_remove",
    "product_create",
    "product_update",
    "signing_key_create",
    "signing_key_retire",
    "signing_key_rotate",
    "token_authenticate",
    "token_create",
    "token_revoke",
]
