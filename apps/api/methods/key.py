"""key/* methods: activation, verification and key management."""

from __future__ import annotations

from typing import Any

from apps.core.errors import DomainError
from apps.licensing import services
from apps.licensing.models import MAX_NOTES_LENGTH
from apps.licensing.services.issuing import keys_issue
from apps.licensing.services.keys import NOTES_TOO_LONG
from apps.licensing.services.resellers import (
    RESELLER_NOT_FOUND,
    key_create_from_template,
    keys_set_reseller,
)
from apps.licensing.services.seats import Device, key_activate, key_deactivate
from apps.licensing.services.trials import key_create_trial
from apps.usage import states

from .. import access, errors
from ..access import Reach
from ..context import ApiContext
from ..errors import ApiError
from ..registry import Param, api_method
from .common import (
    P_FIELDS,
    P_FLOATING,
    P_KEY,
    P_METADATA,
    P_MODEL_VERSION,
    P_PRODUCT,
    P_SIGN,
    P_SIGN_METHOD,
    license_response,
    reread,
)
from .customer import P_ALLOW_MULTIPLE, new_customer_from_params, portal_link

P_MACHINE = Param("MachineCode", "string", "Identifies the device (at most 128 characters).")
P_FRIENDLY = Param("FriendlyName", "string", "A label for the device, e.g. its host name.")
COMMON_ERRORS = (errors.UNABLE_TO_AUTHENTICATE, errors.ACCESS_DENIED, errors.INCORRECT_INPUT,
                 errors.PRODUCT_NOT_FOUND, errors.KEY_NOT_FOUND, errors.KEY_LOCKED)


def device_params(ctx: ApiContext) -> tuple[str, str]:
    """MachineCode and FriendlyName of a call that activates a device (key/Activate,
    sdk/SignApplication), written to its log row; the row says "activation failed" until
    the call says otherwise."""
    ctx.record.state = states.ACTIVATION_FAILED
    machine_code = ctx.params.str("MachineCode")
    friendly_name = ctx.params.str("FriendlyName", max_length=255)
    ctx.record.machine_code = machine_code[:128]
    ctx.record.friendly_name = friendly_name
    return machine_code, friendly_name


def _domain(exc: DomainError, default_state: int) -> ApiError:
    return ApiError(exc.message, exc.state or default_state)


def activate_known_device(ctx: ApiContext) -> dict[str, Any] | None:
    """Re-activation of a device that holds its node-locked seat, what every copy does at
    start-up, and the heartbeat of a device that holds a live floating seat: one statement
    reads the key, renews the floating seat and writes the log row (apps.licensing.fastpath),
    outside any transaction. None: `activate` decides."""
    machine_code, friendly_name = device_params(ctx)
    interval = ctx.params.int("FloatingTimeInterval", 0, minimum=0, maximum=10**9)
    if not machine_code:
        return None
    if interval:
        served = ctx.fast_heartbeat(machine_code=machine_code, friendly_name=friendly_name,
                                    interval=interval)
    else:
        served = ctx.fast_path(machine_code=machine_code, friendly_name=friendly_name,
                               state=states.ACTIVATION_EXISTING)
    if served is None:
        return None
    return ctx.fast_answer(served, lambda: license_response(
        ctx, served.key, served.current, floating_interval=interval))


@api_method(
    "key.Activate", reach=Reach.KEY, fast=activate_known_device,
    summary="Activate a device on a key (node-locked or floating) and return the signed key. "
            "A device that is already activated just gets the signed key.",
    params=(P_PRODUCT, P_KEY, P_MACHINE, P_FRIENDLY, P_SIGN, P_SIGN_METHOD, P_FIELDS,
            P_METADATA, P_MODEL_VERSION, P_FLOATING,
            Param("MaxOverdraft", "int", "Floating seats allowed beyond MaxNoOfMachines.", "0"),
            Param("OSInfo", "string", "Ignored (the .NET client sends it).")),
    returns="licenseKey, signature (StringSign), metadata (if asked)",
    errors=(*COMMON_ERRORS, "The key is blocked and cannot be accessed.",
            "Cannot activate the new device as the limit has been reached.",
            "The machine code cannot exceed 128 chars in length."),
)
def activate(ctx: ApiContext) -> dict[str, Any]:
    params = ctx.params
    machine_code, friendly_name = device_params(ctx)
    interval = params.int("FloatingTimeInterval", 0, minimum=0, maximum=10**9)
    overdraft = params.int("MaxOverdraft", 0, minimum=0, maximum=10**6)
    # Seats are counted in the database (KeySeats), not by loading every device of the key: a
    # key with thousands of devices would be read twice per call. Its devices are read once,
    # after the change, for the answer.
    key = ctx.key(devices=False)
    try:
        result = key_activate(key=key, device=Device(machine_code, friendly_name, ctx.ip),
                              floating_interval=interval, max_overdraft=overdraft,
                              actor=ctx.actor)
    except DomainError as exc:
        raise _domain(exc, states.ACTIVATION_FAILED) from None
    ctx.record.state = result.state
    if result.activation is not None and result.activation.floating:
        ctx.record.floating_expires = result.activation.floating_expires
    key = reread(key)  # with its devices as they are now (a seat, perhaps a trial's expiry)
    return license_response(ctx, key, result.activation, floating_interval=interval)


@api_method(
    "key.GetKey", reach=Reach.KEY,
    summary="Return the signed key without activating anything (read-only). Blocked keys are "
            "returned too: check Block.",
    params=(P_PRODUCT, P_KEY, P_SIGN, P_SIGN_METHOD, P_FIELDS, P_METADATA, P_MODEL_VERSION,
            Param("FloatingTimeInterval", "int", "With Metadata: count floating seats in use.",
                  "0")),
    returns="licenseKey, signature, metadata (if asked)",
    errors=COMMON_ERRORS,
)
def get_key(ctx: ApiContext) -> dict[str, Any]:
    ctx.record.state = states.VALIDATION_FAILED
    interval = ctx.params.int("FloatingTimeInterval", 0, minimum=0, maximum=10**9)
    served = ctx.fast_path(machine_code=None, state=states.VALIDATION_OK)
    if served is not None:
        body = ctx.fast_answer(served, lambda: license_response(
            ctx, served.key, None, floating_interval=interval))
    else:
        body = license_response(ctx, ctx.key(), None, floating_interval=interval)
    ctx.record.state = states.VALIDATION_OK
    return body


@api_method(
    "key.Deactivate", reach=Reach.KEY,
    summary="Free a device's seat. With Floating=true, release a floating seat (never fails).",
    params=(P_PRODUCT, P_KEY, P_MACHINE,
            Param("Floating", "bool", "Release a floating seat.", "false"),
            Param("OSInfo", "string", "Ignored.")),
    errors=(*COMMON_ERRORS, "The key is blocked and cannot be accessed.",
            "Either the machine code was never activated or key activation feature was never "
            "set up."),
)
def deactivate(ctx: ApiContext) -> dict[str, Any]:
    ctx.record.state = states.DEACTIVATION_FAILED
    machine_code = ctx.params.str("MachineCode", max_length=128)
    ctx.record.machine_code = machine_code
    floating = ctx.params.bool("Floating", False)
    key = ctx.key(devices=False)  # the answer lists no devices
    if not machine_code and not floating:
        raise ApiError(
            "Either the machine code was never activated or key activation feature was never "
            "set up.", states.DEACTIVATION_FAILED)
    try:
        ctx.record.state = key_deactivate(key=key, machine_code=machine_code,
                                          floating=floating, actor=ctx.actor)
    except DomainError as exc:
        raise _domain(exc, states.DEACTIVATION_FAILED) from None
    return {}


def _features(ctx: ApiContext) -> list[bool]:
    return [ctx.params.bool(f"F{n}", False) for n in range(1, 9)]


@api_method(
    "key.CreateKey", reach=Reach.PRODUCT,
    summary="Create one or more keys, optionally for an existing or a new customer.",
    params=(P_PRODUCT, Param("Period", "int", "Days until the key expires.", "0"),
            *[Param(f"F{n}", "bool", f"Feature {n}.", "false") for n in range(1, 9)],
            Param("Notes", "string", "At most 500 characters."),
            Param("Block", "bool", "Create blocked.", "false"),
            Param("CustomerId", "int", "Attach to this customer.", "0"),
            Param("NewCustomer", "bool", "Create a customer from Name, Email, CompanyName "
                  "(needs customer.AddCustomer too).", "false"),
            Param("AddOrUseExistingCustomer", "bool", "Like NewCustomer, but reuse the "
                  "customer with the same Email.", "false"),
            Param("Name", "string", "New customer's name."),
            Param("Email", "string", "New customer's e-mail."),
            Param("CompanyName", "string", "New customer's company."),
            Param("TrialActivation", "bool", "Start the countdown at first activation.",
                  "false"),
            Param("MaxNoOfMachines", "int", "Seats; 0 = not node-locked.", "0"),
            Param("AllowedMachines", "string", "Pre-approved machine codes, one per line."),
            Param("NoOfKeys", "int", "How many keys (1-1000).", "1"),
            P_ALLOW_MULTIPLE,
            Param("ResellerId", "int", "Attach the keys to this reseller (0 = none). A token "
                  "with a product or key lock may not name one.", "0")),
    returns="key (the first key), keys (all, when NoOfKeys > 1), customerId (when a customer "
            "was attached)",
    errors=(*COMMON_ERRORS, NOTES_TOO_LONG, errors.CUSTOMER_NOT_FOUND, RESELLER_NOT_FOUND),
)
def create_key(ctx: ApiContext) -> dict[str, Any]:
    ctx.record.state = states.KEY_CREATION_FAILED
    product = ctx.product()
    params = ctx.params
    notes = params.str("Notes", max_length=MAX_NOTES_LENGTH, message=NOTES_TOO_LONG)
    count = params.int("NoOfKeys", 1, minimum=1, maximum=1000)
    new_customer = None
    customer = None
    if params.bool("NewCustomer") or params.bool("AddOrUseExistingCustomer"):
        if not ctx.has_permission("customer.AddCustomer"):
            raise ApiError(errors.ACCESS_DENIED)
        new_customer = new_customer_from_params(
            ctx, reuse_by_email=params.bool("AddOrUseExistingCustomer"))
        if new_customer.reuse_by_email:
            access.check_customer_reuse(ctx.token, new_customer.email)
    elif params.int("CustomerId", 0):
        customer = access.customer_to_attach(ctx.token, params.int("CustomerId"))
        if customer is None:
            raise ApiError(errors.CUSTOMER_NOT_FOUND)
    # Cryptolens' CreateKey takes ResellerId (.NET CreateKeyModel); an id that is not this
    # vendor's reseller is refused with the words of its reseller portal's template error.
    reseller_id = params.int("ResellerId", 0)
    reseller = access.reseller_to_attach(ctx.token, reseller_id) if reseller_id else None
    if reseller_id and reseller is None:
        raise ApiError(RESELLER_NOT_FOUND)
    spec = services.KeySpec(
        period=params.int("Period", 0, minimum=0, maximum=36500),
        features=_features(ctx), notes=notes, block=params.bool("Block"), customer=customer,
        max_no_of_machines=params.int("MaxNoOfMachines", 0, minimum=0, maximum=10**6),
        trial_activation=params.bool("TrialActivation"),
        allowed_machines=params.str("AllowedMachines", max_length=100_000),
    )
    try:
        issued = keys_issue(
            product=product, actor=ctx.actor, spec=spec, count=count, new_customer=new_customer,
            portal_invitation=new_customer is not None
            and ctx.params.bool("EnableCustomerAssociation", False), reseller=reseller)
    except DomainError as exc:
        raise _domain(exc, states.KEY_CREATION_FAILED) from None
    keys, customer = issued.keys, issued.customer
    ctx.record.state = states.KEY_CREATED
    ctx.record.key = keys[0].key
    body: dict[str, Any] = {"key": keys[0].key}
    if count > 1:
        body["keys"] = [k.key for k in keys]
    if customer is not None:
        body["customerId"] = customer.pk
    if issued.portal_token:
        body["portalLink"] = portal_link(ctx, issued.portal_token)
    return body


@api_method(
    "key.CreateTrialKey", reach=Reach.PRODUCT,
    summary="Create (or return) the trial key of a machine: the token's trial days (its "
            "feature lock) or else the product's trial period, node-locked to that machine.",
    params=(P_PRODUCT, P_MACHINE, P_FRIENDLY),
    returns="key",
    errors=(*COMMON_ERRORS, "This machine code has already activated the trial.",
            "The machine code cannot be null.",
            "The machine code cannot exceed 128 chars in length."),
)
def create_trial_key(ctx: ApiContext) -> dict[str, Any]:
    ctx.record.state = states.KEY_CREATION_FAILED
    product = ctx.product()
    machine_code = ctx.params.str("MachineCode")
    ctx.record.machine_code = machine_code[:128]
    ctx.record.friendly_name = ctx.params.str("FriendlyName", max_length=255)
    try:
        key, _ = key_create_trial(product=product, machine_code=machine_code,
                                  friendly_name=ctx.record.friendly_name, ip=ctx.ip,
                                  actor=ctx.actor, days=ctx.token.trial_days)
    except DomainError as exc:
        raise _domain(exc, states.KEY_CREATION_FAILED) from None
    ctx.record.state = states.TRIAL_CREATED
    ctx.record.key = key.key
    return {"key": key.key}


TEMPLATE_NOT_FOUND = "Could not find the template."


@api_method(
    "key.CreateKeyFromTemplate", reach=Reach.PRODUCT,
    summary="Create a key with the parameters and data objects of a license template. A token "
            "with a template lock may use that template only (other ids: Access denied.); a "
            "token with a product lock only templates of that product.",
    params=(Param("LicenseTemplateId", "int", "The template (its id is on the product's "
                  "Templates page)."),),
    returns="key, rawResponse (always empty)",
    errors=(errors.UNABLE_TO_AUTHENTICATE, errors.ACCESS_DENIED, TEMPLATE_NOT_FOUND,
            errors.KEY_LOCKED),
)
def create_key_from_template(ctx: ApiContext) -> dict[str, Any]:
    ctx.record.state = states.KEY_CREATION_FAILED
    template_id = ctx.params.int("LicenseTemplateId", 0)
    template = access.template(ctx.token, template_id)
    if template is None:
        raise ApiError(TEMPLATE_NOT_FOUND, states.KEY_CREATION_FAILED)
    ctx.record.product_id = template.product_id
    template.product.vendor = ctx.vendor
    try:
        key = key_create_from_template(template=template, actor=ctx.actor)
    except DomainError as exc:
        raise _domain(exc, states.KEY_CREATION_FAILED) from None
    ctx.record.state = states.KEY_CREATED
    ctx.record.key = key.key
    # The Python client unpacks key, rawResponse and message.
    return {"key": key.key, "rawResponse": ""}


def _change(ctx: ApiContext, change) -> dict[str, Any]:
    """Run a key change: locate the key, apply, log state 7010/7020."""
    ctx.record.state = states.KEY_CHANGE_FAILED
    key = ctx.key()
    try:
        outcome = change(key)
    except DomainError as exc:
        raise _domain(exc, states.KEY_CHANGE_FAILED) from None
    ctx.record.state = states.KEY_CHANGED
    return {"_message": outcome if isinstance(outcome, str) else ""}


KEY_PARAMS = (P_PRODUCT, P_KEY)


@api_method("key.BlockKey", reach=Reach.KEY,
            summary="Block a key: Activate and Deactivate refuse it.",
            params=KEY_PARAMS, errors=COMMON_ERRORS)
def block_key(ctx: ApiContext) -> dict[str, Any]:
    return _change(ctx, lambda key: services.key_set_blocked(key=key, actor=ctx.actor,
                                                             blocked=True))


@api_method("key.UnblockKey", reach=Reach.KEY,
            summary="Unblock a key.", params=KEY_PARAMS, errors=COMMON_ERRORS)
def unblock_key(ctx: ApiContext) -> dict[str, Any]:
    return _change(ctx, lambda key: services.key_set_blocked(key=key, actor=ctx.actor,
                                                             blocked=False))


@api_method(
    "key.ExtendLicense", reach=Reach.KEY,
    summary="Add days to the expiry date (counted from today if already expired); negative "
            "days shorten it.",
    params=(*KEY_PARAMS, Param("NoOfDays", "int", "Days to add.")), errors=COMMON_ERRORS)
def extend_license(ctx: ApiContext) -> dict[str, Any]:
    days = ctx.params.int("NoOfDays", 0, minimum=-36500, maximum=36500)
    return _change(ctx, lambda key: services.key_extend(key=key, actor=ctx.actor, days=days))


@api_method(
    "key.MachineLockLimit", reach=Reach.KEY,
    summary="Set the maximum number of machines (0 = not node-locked). "
    "Devices already activated keep their seats.",
    params=(*KEY_PARAMS, Param("NumberOfMachines", "int", "The new limit.")),
    errors=COMMON_ERRORS)
def machine_lock_limit(ctx: ApiContext) -> dict[str, Any]:
    limit = ctx.params.int("NumberOfMachines", 0, minimum=0, maximum=10**6)
    return _change(ctx, lambda key: services.key_update(key=key, actor=ctx.actor,
                                                        max_no_of_machines=limit))


@api_method("key.ChangeNotes", reach=Reach.KEY, summary="Replace the notes of a key.",
            params=(*KEY_PARAMS, Param("Notes", "string", "At most 500 characters.")),
            errors=(*COMMON_ERRORS, NOTES_TOO_LONG))
def change_notes(ctx: ApiContext) -> dict[str, Any]:
    notes = ctx.params.str("Notes", max_length=MAX_NOTES_LENGTH, message=NOTES_TOO_LONG)
    return _change(ctx, lambda key: services.key_update(key=key, actor=ctx.actor, notes=notes))


@api_method(
    "key.ChangeCustomer", reach=Reach.KEY,
    summary="Attach the key to another customer; an unknown CustomerId detaches it.",
    params=(*KEY_PARAMS, Param("CustomerId", "int", "The customer, or 0 for none.")),
    errors=COMMON_ERRORS)
def change_customer(ctx: ApiContext) -> dict[str, Any]:
    customer_id = ctx.params.int("CustomerId", 0)
    customer = access.customer_to_attach(ctx.token, customer_id) if customer_id else None

    def change(key):
        services.key_update(key=key, actor=ctx.actor, customer=customer)
        return errors.CUSTOMER_DETACHED if customer is None and customer_id else ""

    return _change(ctx, change)


# ChangeReseller's reference page (app.cryptolens.io/docs/api/v3/ChangeReseller) lists this
# among its messages; like ChangeCustomer's it reports a success that detached the reseller.
RESELLER_DETACHED = ("The reseller was not found or the id was set to zero. The license will "
                     "no longer have any reseller associated with it.")


@api_method(
    "key.ChangeReseller", reach=Reach.KEY,
    summary="Attach the key to a reseller (it then shows in that reseller's portal and in the "
            "key's Reseller object, ModelVersion 3); 0 or an unknown ResellerId detaches it. "
            "A token with a product or key lock may only detach, or keep the key's reseller.",
    params=(*KEY_PARAMS, Param("ResellerId", "int", "The reseller, or 0 for none.", "0")),
    errors=(*COMMON_ERRORS, RESELLER_DETACHED))
def change_reseller(ctx: ApiContext) -> dict[str, Any]:
    reseller_id = ctx.params.int("ResellerId", 0)

    def change(key):
        reseller = access.reseller_to_attach(ctx.token, reseller_id, key) \
            if reseller_id else None
        keys_set_reseller(keys=[key], reseller=reseller, actor=ctx.actor)
        return RESELLER_DETACHED if reseller is None else ""

    return _change(ctx, change)


def _feature_number(ctx: ApiContext) -> int:
    number = ctx.params.int("Feature", 0, minimum=1, maximum=8)
    if not number:
        raise ApiError(errors.INCORRECT_INPUT)
    return number


@api_method("key.AddFeature", reach=Reach.KEY, summary="Turn feature F1-F8 on.",
            params=(*KEY_PARAMS, Param("Feature", "int", "1 to 8.")), errors=COMMON_ERRORS)
def add_feature(ctx: ApiContext) -> dict[str, Any]:
    number = _feature_number(ctx)
    return _change(ctx, lambda key: services.key_update(key=key, actor=ctx.actor,
                                                        **{f"f{number}": True}))


@api_method("key.RemoveFeature", reach=Reach.KEY, summary="Turn feature F1-F8 off.",
            params=(*KEY_PARAMS, Param("Feature", "int", "1 to 8.")), errors=COMMON_ERRORS)
def remove_feature(ctx: ApiContext) -> dict[str, Any]:
    number = _feature_number(ctx)
    return _change(ctx, lambda key: services.key_update(key=key, actor=ctx.actor,
                                                        **{f"f{number}": False}))


@api_method("key.TrialActivation", reach=Reach.KEY, summary="Turn trial activation on or off.",
            params=(*KEY_PARAMS, Param("Enabled", "bool", "On or off.", "false")),
            errors=COMMON_ERRORS)
def trial_activation(ctx: ApiContext) -> dict[str, Any]:
    enabled = ctx.params.bool("Enabled", False)
    return _change(ctx, lambda key: services.key_update(key=key, actor=ctx.actor,
                                                        trial_activation=enabled))
