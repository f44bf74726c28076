"""Trial keys made on request by the vendor's software (key/CreateTrialKey)."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from apps.audit.log import Actor
from apps.core.errors import DomainError
from apps.licensing.models import MAX_MACHINE_CODE_LENGTH, Activation, LicenseKey, Product
from apps.licensing.services.keys import KeySpec, key_create
from apps.usage import states

MACHINE_CODE_NULL = "The machine code cannot be null."
MACHINE_CODE_TOO_LONG = "The machine code cannot exceed 128 chars in length."
ALREADY_TRIALLED = "This machine code has already activated the trial."


@transaction.atomic
def key_create_trial(*, product: Product, machine_code: str, friendly_name: str = "",
                     ip: str | None = None, actor: Actor,
                     days: int | None = None) -> tuple[LicenseKey, bool]:
    """Return the machine's trial key, creating it on the first call: (key, created).

    The key runs `days` (the access token's feature lock: Cryptolens' "15 days by default, or
    feature-lock days", page "Create Trial Key") or else product.trial_period_days from now,
    has the product's trial and time-limited features on, and is activated on the machine. A
    machine gets one trial per product: while its key is still an unblocked trial it is
    returned again, otherwise the call is refused.
    The product row is locked so that parallel calls for one machine make one key."""
    if not machine_code:
        raise DomainError(MACHINE_CODE_NULL, state=states.KEY_CREATION_FAILED)
    if len(machine_code) > MAX_MACHINE_CODE_LENGTH:
        raise DomainError(MACHINE_CODE_TOO_LONG, state=states.KEY_CREATION_FAILED)
    product = Product.objects.select_for_update().get(pk=product.pk)
    existing = LicenseKey.objects.filter(product=product, trial_machine_code=machine_code
                                         ).order_by("-serial").first()
    if existing is not None:
        if existing.block or not _still_trial(product, existing):
            raise DomainError(ALREADY_TRIALLED, state=states.KEY_CREATION_FAILED)
        return existing, False
    features = [False] * 8
    for marker in (product.trial_feature, product.time_limited_feature):
        if marker:
            features[marker - 1] = True
    spec = KeySpec(period=days or product.trial_period_days, features=features,
                   max_no_of_machines=max(1, product.trial_max_machines),
                   notes="Trial key")
    key = key_create(product=product, actor=actor, spec=spec)[0]
    LicenseKey.objects.filter(pk=key.pk).update(trial_machine_code=machine_code)
    key.trial_machine_code = machine_code
    Activation.objects.create(key=key, machine_code=machine_code, friendly_name=friendly_name,
                              ip=ip, time=timezone.now())
    return key, True


def _still_trial(product: Product, key: LicenseKey) -> bool:
    if product.trial_feature:
        return key.features[product.trial_feature - 1]
    return True
