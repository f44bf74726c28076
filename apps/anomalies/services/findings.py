"""What a vendor does with a finding and with the detector: review, block, tune, retrain."""

from __future__ import annotations

from django.db import transaction

from apps.accounts.models import Vendor
from apps.audit.log import Actor, diff, log_change, snapshot
from apps.core.errors import DomainError
from apps.licensing.models import LicenseKey
from apps.licensing.services import key_set_blocked

from ..models import AnomalySettings, Finding
from ..selectors import finding_key
from .training import anomaly_settings_get

SETTINGS_FIELDS = ["enabled", "sensitivity", "email_digest", "retrain_nightly"]


def _set_status(*, finding: Finding, actor: Actor, status: str) -> None:
    locked = Finding.objects.select_for_update().get(pk=finding.pk)
    if locked.status == status:
        return
    before = locked.status
    locked.status = status
    locked.save(update_fields=["status", "updated"])
    log_change(vendor=locked.vendor, actor=actor, obj=locked, action=f"marked {status}",
               changes={"status": [before, status]})
    finding.status = status


@transaction.atomic
def finding_mark_expected(*, finding: Finding, actor: Actor) -> Finding:
    """The vendor knows this traffic (a load test, a customer's migration): the finding leaves
    the list of new ones and its windows stay out of the next training, so the detector does
    not learn a one-off as normal."""
    _set_status(finding=finding, actor=actor, status=Finding.Status.EXPECTED)
    return finding


@transaction.atomic
def finding_block_key(*, finding: Finding, actor: Actor) -> LicenseKey:
    """Block the finding's key through the key service (so the object log records the block
    and the Web API refuses the key at once) and confirm the finding."""
    key = finding_key(finding)
    if key is None:
        raise DomainError("This finding is not about one of your license keys.")
    key_set_blocked(key=key, actor=actor, blocked=True)
    _set_status(finding=finding, actor=actor, status=Finding.Status.CONFIRMED)
    return key


@transaction.atomic
def anomaly_settings_update(*, vendor: Vendor, actor: Actor, **fields) -> AnomalySettings:
    """Change the vendor's anomaly settings. A new sensitivity applies from the next training,
    which sets the threshold."""
    unknown = set(fields) - set(SETTINGS_FIELDS)
    if unknown:
        raise TypeError(f"Unknown anomaly settings: {', '.join(sorted(unknown))}")
    row = AnomalySettings.objects.select_for_update().get(
        pk=anomaly_settings_get(vendor=vendor).pk)
    before = snapshot(row, SETTINGS_FIELDS)
    for name, value in fields.items():
        setattr(row, name, value)
    changes = diff(before, snapshot(row, SETTINGS_FIELDS))
    if changes:
        row.save()
        log_change(vendor=vendor, actor=actor, obj=row, action="changed", changes=changes)
    return row


@transaction.atomic
def anomaly_retrain_request(*, vendor: Vendor, actor: Actor) -> None:
    """Queue a retraining now (the "anomalies" queue's worker runs it), and note who asked."""
    from ..tasks import anomaly_model_retrain

    row = anomaly_settings_get(vendor=vendor)
    log_change(vendor=vendor, actor=actor, obj=row, action="retraining requested")
    transaction.on_commit(lambda: anomaly_model_retrain.delay(vendor.pk))
