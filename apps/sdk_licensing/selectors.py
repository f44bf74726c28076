"""Page reads of SDK licensing: a product's developer machines, with what each signed, and
the certificates (signatures) of a product or of one of its machines."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, TypedDict

from django.db.models import Count, F, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from apps.licensing.models import Activation, Product

from .models import DeveloperMachine, SdkCertificate

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations


class MachineFigures(TypedDict):
    """What `machine_list` adds to each machine."""

    certificate_count: int
    key_count: int
    seats_held: int
    latest_application: str | None
    latest_fingerprint: str | None


def _certificates_matching(query: str) -> Q:
    return (Q(key_string__icontains=query) | Q(fingerprint__icontains=query)
            | Q(application_name__icontains=query))


def machine_list(*, product: Product, query: str = ""
                 ) -> QuerySet[WithAnnotations[DeveloperMachine, MachineFigures]]:
    """The product's developer machines, most recently signing first, each with
    `certificate_count`, `key_count` (distinct keys it signed with), `seats_held` (seats it
    holds on the product's keys now: none once revoked) and its latest signature's
    `latest_application` and `latest_fingerprint`. `query` matches the machine code, the
    friendly name, or a key, fingerprint or application name of any of its signatures."""
    latest = SdkCertificate.objects.filter(machine=OuterRef("pk")).order_by("-signed_at", "-id")
    seats = (Activation.objects.filter(key__product_id=OuterRef("product_id"),
                                       machine_code=OuterRef("machine_code"), floating=False)
             .order_by().values("machine_code").annotate(n=Count("id")).values("n"))
    machines = product.developer_machines.all()
    query = query.strip()
    if query:
        machines = machines.filter(
            Q(machine_code__icontains=query) | Q(friendly_name__icontains=query)
            | Q(pk__in=SdkCertificate.objects.filter(
                _certificates_matching(query), machine__product=product).values("machine_id")))
    return machines.annotate(
        certificate_count=Count("certificates"),
        key_count=Count("certificates__key_string", distinct=True),
        seats_held=Coalesce(Subquery(seats, output_field=IntegerField()), 0),
        latest_application=Subquery(latest.values("application_name")[:1]),
        latest_fingerprint=Subquery(latest.values("fingerprint")[:1]),
    ).order_by(F("last_signed_at").desc(nulls_last=True), "-id")


def attach_keys_used(machines: Iterable[DeveloperMachine]) -> list[DeveloperMachine]:
    """The machines (of one page), each given `keys_used`: the keys it signed with, as
    (key string, key id or None once the key is deleted) pairs, in one query."""
    machines = list(machines)
    used: dict[int, dict[str, int | None]] = {}
    rows = (SdkCertificate.objects.filter(machine__in=machines)
            .values_list("machine_id", "key_string", "key_id").distinct()
            .order_by("machine_id", "key_string"))
    for machine_id, key_string, key_id in rows:
        keys = used.setdefault(machine_id, {})
        keys[key_string] = keys.get(key_string) or key_id
    for machine in machines:
        machine.keys_used = list(used.get(machine.pk, {}).items())  # type: ignore[attr-defined]
    return machines


def certificate_list(*, product: Product, machine: DeveloperMachine | None = None,
                     query: str = "") -> QuerySet[SdkCertificate]:
    """The product's signatures (of one machine when given), newest first, with their
    machine and key. `query` matches the key, fingerprint, application name, machine code or
    friendly name."""
    certificates = SdkCertificate.objects.filter(machine__product=product)
    if machine is not None:
        certificates = certificates.filter(machine=machine)
    query = query.strip()
    if query:
        certificates = certificates.filter(
            _certificates_matching(query) | Q(machine__machine_code__icontains=query)
            | Q(machine__friendly_name__icontains=query))
    return certificates.select_related("machine", "key").order_by("-signed_at", "-id")
