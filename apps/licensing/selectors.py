"""Page reads, with the joins each page needs."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, TypedDict

from django.db import connection
from django.db.models import Count, Max, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce, Lower
from django.utils import timezone

from apps.accounts.models import Vendor
from apps.audit.models import ObjectLogEntry
from apps.licensing.models import (
    Activation,
    AppUser,
    Customer,
    DataObject,
    LicenseKey,
    Product,
)

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations


class ActivationCount(TypedDict):
    """What `.annotate(activation_count=device_count())` adds to a key."""

    activation_count: int


def device_count() -> Coalesce:
    """A key's devices, for `.annotate(activation_count=device_count())` on a page of keys:
    counted for each key the page shows (a correlated subquery through the devices' key
    index), not by grouping every device of every key before the page's LIMIT, which made a
    key list's cost grow with the vendor's devices."""
    per_key = (Activation.objects.filter(key=OuterRef("pk")).order_by().values("key")
               .annotate(n=Count("pk")).values("n"))
    return Coalesce(Subquery(per_key), 0)


class KeyCount(TypedDict):
    """What `.annotate(key_count=Count("keys"))` adds to a customer."""

    key_count: int


def product_list(*, vendor: Vendor) -> QuerySet[Product]:
    return Product.objects.for_vendor(vendor).annotate(key_count=Count("keys")).order_by(
        "name", "id"
    )


def key_list(*, product: Product, query: str = "", status: str = ""
             ) -> QuerySet[WithAnnotations[LicenseKey, ActivationCount]]:
    """Keys of a product, searched by key, customer, notes, internal note or machine code and
    filtered by status (blocked, expired, trial, active)."""
    keys = product.keys.select_related("customer").annotate(activation_count=device_count())
    query = query.strip()
    if query:
        keys = keys.filter(
            Q(key__icontains=query)
            | Q(notes__icontains=query)
            | Q(internal_note__icontains=query)
            | Q(customer__name__icontains=query)
            | Q(customer__email__icontains=query)
            | Q(customer__company_name__icontains=query)
            | Q(pk__in=Activation.objects.filter(
                Q(machine_code__icontains=query) | Q(friendly_name__icontains=query)
            ).values("key_id"))
        )
    now = timezone.now()
    if status == "blocked":
        keys = keys.filter(block=True)
    elif status == "expired":
        keys = keys.expired(now)
    elif status == "trial":
        keys = keys.filter(trial_activation=True)
    elif status == "active":
        keys = keys.active(now)
    return keys.order_by("-serial")


def key_detail(*, key: LicenseKey) -> dict:
    """What the vendor's key page shows besides its devices (paged: `key_devices`)."""
    return {
        "features": list(zip(key.product.feature_names, key.features, strict=True)),
        "device_count": key.activations.count(),
        "data_objects": list(key.data_objects.all()),
        "log": list(ObjectLogEntry.objects.for_vendor(key.product.vendor).for_object(key)[:10]),
        "expiry_notices": list(key.expiry_notices.all()[:20]),
    }


def key_devices(*, key: LicenseKey, query: str = "") -> QuerySet[Activation]:
    """A key's devices, node-locked first, then floating, each oldest first, narrowed to those
    whose friendly name, machine code or IP address contains `query` (any case)."""
    devices = key.activations.all()
    query = query.strip()
    if query:
        devices = devices.filter(Q(friendly_name__icontains=query)
                                 | Q(machine_code__icontains=query) | Q(ip__icontains=query))
    return devices.order_by("floating", "time", "id")


def attach_machine_data_objects(*, key: LicenseKey, devices: Iterable[Activation]
                                ) -> list[Activation]:
    """The devices (of one page), each given its machine code's data objects as
    `machine_data`, in one query: the key page shows them under their device."""
    devices = list(devices)
    by_code: dict[str, list[DataObject]] = {}
    for obj in DataObject.objects.filter(
            machine_key=key, machine_code__in={d.machine_code for d in devices}).order_by("id"):
        by_code.setdefault(obj.machine_code, []).append(obj)
    for device in devices:
        device.machine_data = by_code.get(device.machine_code, [])  # type: ignore[attr-defined]
    return devices


def product_data_objects(*, product: Product) -> list[DataObject]:
    """The product's own data objects (Cryptolens' ReferencerType 1), for its key list."""
    return list(product.data_objects.order_by("id"))


def customer_list(*, vendor: Vendor, query: str = ""
                  ) -> QuerySet[WithAnnotations[Customer, KeyCount]]:
    customers = Customer.objects.for_vendor(vendor).annotate(key_count=Count("keys"))
    query = query.strip()
    if query:
        customers = customers.filter(
            Q(name__icontains=query) | Q(email__icontains=query)
            | Q(company_name__icontains=query) | Q(notes__icontains=query)
        )
    return customers.order_by("name", "id")


def app_user_list(*, vendor: Vendor, query: str = "", without_customer: bool = False
                  ) -> QuerySet[AppUser]:
    """Every user of the vendor's application (userauth), with its customer if it has one:
    those of no customer are seen nowhere else."""
    users = AppUser.objects.for_vendor(vendor).select_related("customer")
    query = query.strip()
    if query:
        users = users.filter(Q(username__icontains=query) | Q(email__icontains=query))
    if without_customer:
        users = users.filter(customer__isnull=True)
    return users.order_by(Lower("username"), "id")


def object_log(*, vendor: Vendor, object_type: str = "", object_id: str = "", query: str = "",
               actor: tuple[str, int | None] | None = None,
               since: dt.datetime | None = None, until: dt.datetime | None = None
               ) -> QuerySet[ObjectLogEntry]:
    """The vendor's object log, newest first, narrowed by kind (and one object of it), actor
    (type and id: a person, a token or the system), time range and free text."""
    entries = ObjectLogEntry.objects.for_vendor(vendor)
    if object_type:
        entries = entries.filter(object_type=object_type)
        if object_id:
            entries = entries.filter(object_id=object_id)
    if actor is not None:
        entries = entries.filter(actor_type=actor[0], actor_id=actor[1])
    if since is not None:
        entries = entries.filter(time__gte=since)
    if until is not None:
        entries = entries.filter(time__lt=until)
    if query.strip():
        q = query.strip()
        entries = entries.filter(
            Q(object_repr__icontains=q) | Q(actor_label__icontains=q) | Q(action__icontains=q)
        )
    return entries


OBJECT_LOG_COLUMNS = ["Time", "ActorType", "ActorId", "Actor", "Action", "ObjectType",
                      "ObjectId", "Object", "Changes"]


def object_log_rows(entries: QuerySet[ObjectLogEntry]):
    """CSV rows of object-log entries (changes as JSON: field -> [before, after])."""
    for entry in entries.iterator(chunk_size=2000):
        yield [entry.time.isoformat(), entry.actor_type, entry.actor_id or "", entry.actor_label,
               entry.action, entry.object_type, entry.object_id, entry.object_repr,
               json.dumps(entry.changes, default=str, sort_keys=True)]


def object_log_actors(*, vendor: Vendor) -> list[tuple[str, int | None, str]]:
    """Everyone who ever changed something of the vendor's: (type, id, latest label)."""
    rows = (ObjectLogEntry.objects.for_vendor(vendor).values("actor_type", "actor_id")
            .annotate(label=Max("actor_label")).order_by("actor_type", "label"))
    return [(row["actor_type"], row["actor_id"], row["label"]) for row in rows]


# The dashboard's counts in one statement, written out: six ORM counts cost the page more to
# build than the database took to answer them (4.4 ms of CPU against 0.2). "Active" is
# LicenseKeyQuerySet.active() in SQL; tests/vendor_portal/test_dashboard.py checks that each
# count is the key list's for the same filter.
_DASHBOARD_SQL = """
SELECT (SELECT COUNT(*) FROM licensing_product WHERE vendor_id = %(vendor)s),
    COUNT(k.id),
    COALESCE(SUM(CASE WHEN NOT k.block AND (k.expires >= %(now)s OR k.period = 0)
                 THEN 1 ELSE 0 END), 0),
    COALESCE(SUM(CASE WHEN k.block THEN 1 ELSE 0 END), 0),
    (SELECT COUNT(*) FROM licensing_customer WHERE vendor_id = %(vendor)s),
    (SELECT COUNT(*) FROM licensing_activation a
       JOIN licensing_licensekey ak ON ak.id = a.key_id
       JOIN licensing_product ap ON ap.id = ak.product_id WHERE ap.vendor_id = %(vendor)s)
FROM licensing_licensekey k JOIN licensing_product p ON p.id = k.product_id
WHERE p.vendor_id = %(vendor)s"""


def dashboard_counts(*, vendor: Vendor) -> dict[str, int]:
    """Products, keys (active: not blocked and not expired; blocked), customers and devices."""
    with connection.cursor() as cursor:
        cursor.execute(_DASHBOARD_SQL, {
            "vendor": vendor.pk,
            "now": connection.ops.adapt_datetimefield_value(timezone.now())})
        row = cursor.fetchone()
    names = ("products", "keys", "active_keys", "blocked_keys", "customers", "activations")
    return dict(zip(names, (int(n) for n in row), strict=True))


def recent_keys(*, vendor: Vendor, limit: int = 10) -> list[LicenseKey]:
    return list(
        LicenseKey.objects.for_vendor(vendor).select_related("product", "customer")
        .annotate(activation_count=device_count()).order_by("-created", "-id")[:limit]
    )


def customer_key_list(*, customer: Customer) -> QuerySet[LicenseKey]:
    """A customer's keys with their seats in use (node-locked, and floating right now)."""
    now = timezone.now()
    return (LicenseKey.objects.filter(customer=customer).select_related("product")
            .annotate(seats_used=Count("activations", filter=Q(activations__floating=False)),
                      floating_used=Count("activations", filter=Q(
                          activations__floating=True, activations__floating_expires__gt=now)))
            .order_by("product__name", "product_id", "serial"))


def customer_report_keys(*, customer: Customer) -> list[LicenseKey]:
    """The keys a customer's own reports may cover (any key can be used floating: the
    client's FloatingTimeInterval decides, not the key)."""
    return list(LicenseKey.objects.filter(customer=customer).select_related("product")
                .order_by("product__name", "product_id", "serial"))


def customer_device_search(*, customer: Customer, query: str = "") -> QuerySet[Activation]:
    """Devices on all of a customer's keys whose friendly name or machine code contains
    `query` (any case)."""
    devices = Activation.objects.filter(key__customer=customer).select_related("key__product")
    if query:
        devices = devices.filter(Q(friendly_name__icontains=query)
                                 | Q(machine_code__icontains=query))
    return devices.order_by(Lower("friendly_name"), "machine_code", "id")


def report_choices(*, vendor: Vendor) -> dict[str, list[tuple[int, str]]]:
    """Products and customers a vendor's report can be narrowed to."""
    return {
        "products": list(Product.objects.for_vendor(vendor).order_by("name")
                         .values_list("pk", "name")),
        "customers": list(Customer.objects.for_vendor(vendor).order_by("name")
                          .values_list("pk", "name")),
    }
