"""The e-mail digest of new high-severity findings: one mail per vendor per run."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from apps.accounts.models import Membership, Role, Vendor

from ..models import Finding
from ..selectors import finding_products


def _recipients(vendor: Vendor) -> list[str]:
    return sorted(set(Membership.objects.filter(vendor=vendor, role__in=(Role.OWNER, Role.ADMIN))
                      .exclude(user__email="").values_list("user__email", flat=True)))


def _url(path: str) -> str:
    return settings.ANOMALY_PORTAL_URL.rstrip("/") + path


@transaction.atomic
def anomaly_digest_send(*, vendor: Vendor) -> int:
    """Mail the vendor's owners and admins one digest of the high-severity findings not yet
    notified, and mark them notified; return how many it listed (0: no mail).

    The findings are marked in the same transaction that sends: if the mail server refuses,
    nothing is marked and the next run tries again; a second run never repeats a finding."""
    findings = list(Finding.objects.for_vendor(vendor).select_for_update()
                    .filter(severity=Finding.Severity.HIGH, status=Finding.Status.NEW,
                            notified_at__isnull=True).order_by("-score"))
    recipients = _recipients(vendor)
    if not findings or not recipients:
        return 0
    for finding in findings:
        finding.url = _url(reverse("vendor_portal:anomaly_detail", args=[finding.pk]))
    context = {
        "vendor": vendor, "findings": findings, "site_name": settings.SITE_NAME,
        "rows": finding_products(vendor=vendor, findings=findings),
        "list_url": _url(reverse("vendor_portal:anomaly_list")),
    }
    count = len(findings)
    message = EmailMultiAlternatives(
        subject=f"[{settings.SITE_NAME}] {count} new high-severity "
                f"anomal{'y' if count == 1 else 'ies'} for {vendor.name}",
        body=render_to_string("emails/anomaly_digest.txt", context),
        to=recipients,
    )
    message.attach_alternative(render_to_string("emails/anomaly_digest.html", context),
                               "text/html")
    Finding.objects.filter(pk__in=[f.pk for f in findings]).update(notified_at=timezone.now())
    message.send()
    return count
