"""Deleting keys, customers and products, the way Cryptolens does it.

- A key goes with its devices (activations), its data objects and the access tokens locked to
  it (a token locked to one key can reach nothing else).
- A customer goes with its customer-portal memberships and invitation links; its keys stay,
  detached (Cryptolens' RemoveCustomer does the same), and so do license-server
  configurations made for it.
- A product goes with all its keys (and what each key takes along), its license templates,
  activation forms and the access tokens locked to it. Because that can be thousands of keys,
  the caller passes the number of keys the person confirmed; a different number is refused.

Refused: a key a reseller issued, and a product with such keys or with templates granted to
resellers. Issuances are the billing report and issuance rights are never removed (Cryptolens:
"rights can be blocked but not removed"), so they keep their key and template (PROTECT).

What stays in every case: the Web API log, events and the object log, which store plain values
(product id, key string) rather than references. Each deletion is one transaction: the checks,
the object-log entries and the rows removed commit together or not at all.

What a deletion removes is counted by Django's own deletion collector, the code that deletes
the rows, so the confirmation page names exactly what will go, relations of other apps too.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import cast

from django.db import models, router, transaction
from django.db.models import CharField, ProtectedError, RestrictedError
from django.db.models.deletion import Collector
from django.db.models.functions import Cast

from apps.audit.log import Actor, log_change, snapshot
from apps.audit.models import ObjectLogEntry
from apps.core.errors import DomainError
from apps.licensing.models import (
    AccessToken,
    Customer,
    Issuance,
    IssuanceRight,
    LicenseKey,
    Product,
)
from apps.licensing.services.catalog import CUSTOMER_FIELDS, PRODUCT_FIELDS
from apps.licensing.services.credentials import token_cache_clear
from apps.licensing.services.keys import KEY_LOG_FIELDS
from apps.usage.models import Event, WebApiLog

# How the confirmation pages name the rows of each model (singular, plural).
NOUNS: dict[str, tuple[str, str]] = {
    "licensing.licensekey": ("license key", "license keys"),
    "licensing.activation": ("device (activation)", "devices (activations)"),
    "licensing.dataobject": ("data object", "data objects"),
    "licensing.accesstoken": ("access token locked to it", "access tokens locked to it"),
    "licensing.licensetemplate": ("license template", "license templates"),
    "licensing.activationform": ("activation form", "activation forms"),
    "licensing.customermembership": ("customer-portal user's access (the login stays)",
                                     "customer-portal users' access (their logins stay)"),
    "licensing.portallink": ("portal invitation link", "portal invitation links"),
    "licensing.pendingportaljoin": ("portal sign-up waiting for e-mail confirmation",
                                    "portal sign-ups waiting for e-mail confirmation"),
}
# Rows that stay with a reference cleared (on_delete=SET_NULL).
DETACHED_NOUNS: dict[str, tuple[str, str]] = {
    "licensing.licensekey.customer": ("license key, kept without a customer",
                                      "license keys, kept without a customer"),
}


@dataclass(frozen=True)
class Count:
    """A number of rows of one kind: `what` names the model, `noun` is said to people."""

    what: str
    number: int
    singular: str
    plural: str

    @property
    def noun(self) -> str:
        return self.singular if self.number == 1 else self.plural

    def __str__(self) -> str:
        return f"{self.number} {self.noun}"


@dataclass(frozen=True)
class DeletionPlan:
    """What deleting an object would remove, what would stay, and why it may be refused."""

    removed: list[Count] = field(default_factory=list)
    kept: list[Count] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)

    @property
    def allowed(self) -> bool:
        return not self.refusals

    def removed_count(self, what: str) -> int:
        return sum(c.number for c in self.removed if c.what == what)

    def kept_count(self, what: str) -> int:
        return sum(c.number for c in self.kept if c.what == what)


def _nouns(model: type[models.Model]) -> tuple[str, str]:
    meta = model._meta
    owner = meta.auto_created  # the model that declared a many-to-many field, else False
    if isinstance(owner, type):
        return (f"link from a {owner._meta.verbose_name}",
                f"links from {owner._meta.verbose_name_plural}")
    return NOUNS.get(meta.label_lower, (str(meta.verbose_name), str(meta.verbose_name_plural)))


def _collect(obj: models.Model) -> tuple[list[Count], list[Count], list[str]]:
    """Rows Django would delete with `obj` (without `obj` itself), rows it would detach, and
    what protects `obj`, exactly as `obj.delete()` would decide."""
    collector = Collector(using=router.db_for_write(type(obj)))
    try:
        collector.collect([obj])
    except (ProtectedError, RestrictedError) as error:
        blocking = error.protected_objects if isinstance(error, ProtectedError) \
            else error.restricted_objects
        kinds = Counter(_nouns(type(row))[1] for row in blocking)
        return [], [], [f"Still used by {n} {kind}." for kind, n in sorted(kinds.items())]
    removed: Counter[type[models.Model]] = Counter()
    for model, instances in collector.data.items():
        removed[model] += len(instances)
    for queryset in collector.fast_deletes:
        removed[queryset.model] += queryset.count()
    removed[type(obj)] -= 1
    detached: Counter[tuple[type[models.Model], str]] = Counter()
    for (model_field, _), batches in collector.field_updates.items():
        for batch in batches:
            number = batch.count() if isinstance(batch, models.QuerySet) \
                else len(cast(list, batch))
            detached[model_field.model, model_field.name] += number
    order = list(NOUNS)
    ranked = sorted(removed.items(), key=lambda item: (
        order.index(item[0]._meta.label_lower) if item[0]._meta.label_lower in order
        else len(order), item[0]._meta.label_lower))
    return (
        [Count(m._meta.label_lower, n, *_nouns(m)) for m, n in ranked if n],
        [Count(f"{m._meta.label_lower}.{name}", n,
               *DETACHED_NOUNS.get(f"{m._meta.label_lower}.{name}", (
                   f"{m._meta.verbose_name}, kept without its {name}",
                   f"{m._meta.verbose_name_plural}, kept without their {name}")))
         for (m, name), n in detached.items() if n],
        [],
    )


def _log_counts(*, vendor_id: int, product_id: int, key: str | None = None) -> list[Count]:
    rows = {"vendor_id": vendor_id, "product_id": product_id,
            **({"key": key} if key is not None else {})}
    return [
        Count("usage.webapilog", WebApiLog.objects.filter(**rows).count(),
                 "Web API log row", "Web API log rows"),
        Count("usage.event", Event.objects.filter(**rows).count(), "event", "events"),
    ]


def _object_log_count(vendor_id: int, *objects: models.Model) -> int:
    entries = ObjectLogEntry.objects.filter(vendor_id=vendor_id)
    condition = models.Q(pk__in=[])
    for obj in objects:
        condition |= models.Q(object_type=obj._meta.label_lower, object_id=str(obj.pk))
    return entries.filter(condition).count()


def _object_log(number: int) -> Count:
    return Count("audit.objectlogentry", number, "object-log entry", "object-log entries")


# --- Keys ---------------------------------------------------------------------------------


def _issuance_refusal(key: LicenseKey) -> str | None:
    issuance = Issuance.objects.filter(key=key).select_related("reseller").first()
    if issuance is None:
        return None
    return (f"Reseller “{issuance.reseller}” issued this key on {issuance.time:%Y-%m-%d}; it "
            "stays on the billing report, so it cannot be deleted. Block it instead.")


def key_deletion_plan(*, key: LicenseKey) -> DeletionPlan:
    """What deleting `key` removes and keeps, or why it is refused."""
    removed, detached, refusals = _collect(key)
    refusal = _issuance_refusal(key)
    if refusal:
        refusals = [refusal]
    vendor_id = key.product.vendor_id
    kept = [*detached, *_log_counts(vendor_id=vendor_id, product_id=key.product_id, key=key.key),
            _object_log(_object_log_count(vendor_id, key))]
    return DeletionPlan(removed=removed, kept=kept, refusals=refusals)


@transaction.atomic
def key_delete(*, key: LicenseKey, actor: Actor) -> DeletionPlan:
    """Delete a key with its devices, data objects and the tokens locked to it. Refused
    (DomainError) for a key a reseller issued. Returns what was removed and kept."""
    # The key row lock makes a concurrent activation wait, then find no key.
    key = (LicenseKey.objects.select_for_update(of=("self",))
           .select_related("product__vendor", "customer").get(pk=key.pk))
    plan = key_deletion_plan(key=key)
    _refuse(plan)
    tokens = list(AccessToken.objects.filter(locked_key=key).values_list("name", flat=True))
    _log_key_deleted(key, actor, tokens=tokens)
    key.delete()
    _forget_tokens(plan)
    return plan


def _log_key_deleted(key: LicenseKey, actor: Actor, *, tokens: list[str], reason: str = ""
                     ) -> None:
    """The key's last object-log entry: its fields, devices and data objects as they were."""
    changes = {name: [value, None] for name, value in snapshot(key, KEY_LOG_FIELDS).items()}
    changes["devices"] = [[a.machine_code for a in key.activations.all()], None]
    changes["data_objects"] = [[d.name for d in key.data_objects.all()], None]
    if tokens:
        changes["access_tokens"] = [tokens, None]
    if reason:
        changes["reason"] = [reason, None]
    log_change(vendor=key.product.vendor, actor=actor, obj=key, action="deleted",
               changes=changes)


def _forget_tokens(plan: DeletionPlan) -> None:
    """Deleted tokens must not stay in this process's authentication cache (other processes
    drop theirs within seconds, and find the token gone)."""
    if plan.removed_count("licensing.accesstoken"):
        transaction.on_commit(token_cache_clear)


def _refuse(plan: DeletionPlan) -> None:
    if not plan.allowed:
        raise DomainError(" ".join(plan.refusals))


# --- Customers ----------------------------------------------------------------------------


def customer_deletion_plan(*, customer: Customer) -> DeletionPlan:
    """What deleting `customer` removes (portal access and invitation links) and keeps (its
    keys, detached, and the history)."""
    removed, detached, refusals = _collect(customer)
    kept = [*detached, _object_log(_object_log_count(customer.vendor_id, customer))]
    return DeletionPlan(removed=removed, kept=kept, refusals=refusals)


@transaction.atomic
def customer_delete(*, customer: Customer, actor: Actor) -> DeletionPlan:
    """Delete a customer. Its keys stay, without a customer (each key's history says so); its
    portal users lose access to its portal and its invitation links stop working."""
    customer = (Customer.objects.select_for_update(of=("self",)).select_related("vendor")
                .get(pk=customer.pk))
    plan = customer_deletion_plan(customer=customer)
    _refuse(plan)
    name = str(customer)
    changes = {n: [v, None] for n, v in snapshot(customer, CUSTOMER_FIELDS).items()}
    changes["portal_users"] = [list(customer.portal_members.values_list("user__email",
                                                                        flat=True)), None]
    log_change(vendor=customer.vendor, actor=actor, obj=customer, action="deleted",
               changes=changes)
    keys = list(LicenseKey.objects.select_for_update(of=("self",)).filter(customer=customer)
                .select_related("product"))
    LicenseKey.objects.filter(pk__in=[k.pk for k in keys]).update(customer=None)
    for key in keys:
        log_change(vendor=customer.vendor, actor=actor, obj=key, action="updated",
                   changes={"customer": [name, None]})
    customer.delete()
    return plan


# --- Products -----------------------------------------------------------------------------


def _product_refusals(product: Product) -> list[str]:
    refusals = []
    issued = Issuance.objects.filter(key__product=product).count()
    if issued:
        refusals.append(f"Resellers issued {issued} of this product's keys; they stay on the "
                        "billing report, so the product cannot be deleted.")
    granted = IssuanceRight.objects.filter(template__product=product).values(
        "template").distinct().count()
    if granted:
        refusals.append(f"{granted} of this product's license templates "
                        f"{'is' if granted == 1 else 'are'} granted to resellers; issuance "
                        "rights are never removed, so the product cannot be deleted.")
    return refusals


def product_deletion_plan(*, product: Product) -> DeletionPlan:
    """What deleting `product` removes (its keys and all that goes with them), keeps (the
    logs), or why it is refused."""
    refusals = _product_refusals(product)
    removed, detached, protected = ([], [], []) if refusals else _collect(product)
    key_ids = LicenseKey.objects.filter(product=product).annotate(
        object_id=Cast("pk", CharField())).values("object_id")
    history = ObjectLogEntry.objects.filter(vendor_id=product.vendor_id).filter(
        models.Q(object_type="licensing.product", object_id=str(product.pk))
        | models.Q(object_type="licensing.licensekey", object_id__in=key_ids)).count()
    kept = [*detached, *_log_counts(vendor_id=product.vendor_id, product_id=product.pk),
            _object_log(history)]
    return DeletionPlan(removed=removed, kept=kept, refusals=refusals or protected)


@transaction.atomic
def product_delete(*, product: Product, actor: Actor, confirmed_keys: int) -> DeletionPlan:
    """Delete a product with all its keys. `confirmed_keys` is the number of keys the person
    was shown and agreed to delete: if keys were added or removed since, nothing happens."""
    # Key creation locks the product row too: no key appears while this one is held.
    product = (Product.objects.select_for_update(of=("self",)).select_related("vendor")
               .get(pk=product.pk))
    plan = product_deletion_plan(product=product)
    _refuse(plan)
    keys = list(LicenseKey.objects.filter(product=product).select_related("customer")
                .prefetch_related("activations", "data_objects"))
    if len(keys) != confirmed_keys:
        raise DomainError(f"The product now has {len(keys)} keys, not {confirmed_keys}: "
                          "look at what will be deleted again.")
    tokens: dict[int, list[str]] = {}
    for key_id, name in AccessToken.objects.filter(locked_key__product=product).values_list(
            "locked_key_id", "name"):
        tokens.setdefault(key_id, []).append(name)
    for key in keys:
        key.product = product
        _log_key_deleted(key, actor, tokens=tokens.get(key.pk, []),
                         reason=f"product “{product.name}” deleted")
    changes = {n: [v, None] for n, v in snapshot(product, PRODUCT_FIELDS).items()}
    changes["keys"] = [len(keys), None]
    locked = list(AccessToken.objects.filter(
        models.Q(product=product) | models.Q(template_lock__product=product)
    ).values_list("name", flat=True))
    if locked:
        changes["access_tokens"] = [locked, None]
    log_change(vendor=product.vendor, actor=actor, obj=product, action="deleted",
               changes=changes)
    product.delete()
    _forget_tokens(plan)
    return plan
