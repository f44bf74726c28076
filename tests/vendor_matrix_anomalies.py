"""Permission-matrix rows for the vendor portal's anomaly findings and the anomaly model pages."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from apps.anomalies.models import Finding
from tests.matrix import LOGIN

from .vendor_matrix import NOT_ALLOWED, READ_OBJECT, WRITE_OBJECT_POST, Row, World

# A POST to "your vendor's" settings: the other vendor's owner changes his own (302).
WRITE_VENDOR_POST = (LOGIN, 302, 302, 403, 302)


def finding_of(world: World) -> dict:
    """A new high-severity key finding of the tenant's key, made once per test."""
    tenant = world.tenant
    finding = Finding.objects.filter(vendor=tenant.vendor).first()
    if finding is None:
        end = timezone.now().replace(microsecond=0)
        finding = Finding.objects.create(
            vendor=tenant.vendor, subject_kind="key", subject=tenant.key.key,
            product_id=tenant.product.pk, label="Key sharing", start=end - dt.timedelta(hours=2),
            end=end, score=9.5, severity="high", reasons=["14 distinct machine codes in 1 hour"],
            log_ids=[], groups=[f"key:{tenant.key.key}:1"])
    return {"finding_id": finding.pk}


ROWS: dict[str, Row] = {
    "anomaly_list": Row(),
    "anomaly_detail": Row(finding_of, get=READ_OBJECT),
    "anomaly_mark_expected": Row(finding_of, get=NOT_ALLOWED, post=WRITE_OBJECT_POST),
    "anomaly_block_key": Row(finding_of, get=NOT_ALLOWED, post=WRITE_OBJECT_POST),
    "anomaly_model": Row(),
    "anomaly_settings": Row(get=NOT_ALLOWED, post=WRITE_VENDOR_POST, data=lambda w: {
        "sensitivity": "8.0", "enabled": "on", "email_digest": "on"}),
    "anomaly_retrain": Row(get=NOT_ALLOWED, post=WRITE_VENDOR_POST),
}
