"""Reads for the vendor's reseller pages: rights, issued keys, the per-reseller log."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import Count, Q, QuerySet

from apps.accounts.models import Reseller, Vendor
from apps.audit.models import ObjectLogEntry
from apps.licensing.models import Customer, IssuanceRight, LicenseKey, LicenseTemplate
from apps.licensing.selectors import ActivationCount, device_count

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations


def reseller_list(*, vendor: Vendor) -> QuerySet[Reseller]:
    return (Reseller.objects.for_vendor(vendor)
            .annotate(right_count=Count("rights", distinct=True),
                      key_count=Count("issuances", distinct=True)))


def reseller_rights(*, reseller: Reseller) -> QuerySet[IssuanceRight]:
    return IssuanceRight.objects.filter(reseller=reseller).select_related("template__product")


def reseller_keys(*, reseller: Reseller, query: str = ""
                  ) -> QuerySet[WithAnnotations[LicenseKey, ActivationCount]]:
    """The keys a reseller issued, newest first, with their device counts; `query` searches
    the key and its customer's name, e-mail address and company."""
    keys = LicenseKey.objects.filter(reseller=reseller)
    if query:
        keys = keys.filter(Q(key__icontains=query) | Q(customer__name__icontains=query)
                           | Q(customer__email__icontains=query)
                           | Q(customer__company_name__icontains=query))
    return (keys.select_related("product", "customer")
            .annotate(activation_count=device_count())
            .order_by("-created", "-id"))


def reseller_log(*, reseller: Reseller) -> QuerySet[ObjectLogEntry]:
    """Entries about the reseller itself, its rights and the customers it created."""
    right_ids = [str(pk) for pk in IssuanceRight.objects.filter(reseller=reseller)
                 .values_list("pk", flat=True)]
    customer_ids = [str(pk) for pk in Customer.objects.filter(reseller=reseller)
                    .values_list("pk", flat=True)]
    return ObjectLogEntry.objects.for_vendor(reseller.vendor).filter(
        Q(object_type=Reseller._meta.label_lower, object_id=str(reseller.pk))
        | Q(object_type=IssuanceRight._meta.label_lower, object_id__in=right_ids)
        | Q(object_type=Customer._meta.label_lower, object_id__in=customer_ids))


def template_list(*, product) -> QuerySet[LicenseTemplate]:
    return (LicenseTemplate.objects.filter(product=product)
            .annotate(right_count=Count("rights", distinct=True),
                      issued_count=Count("issuances", distinct=True)))


def template_log(*, template: LicenseTemplate) -> QuerySet[ObjectLogEntry]:
    return ObjectLogEntry.objects.for_vendor(template.product.vendor).for_object(template)
