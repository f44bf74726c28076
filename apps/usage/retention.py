"""Retention of the Web API log: rows older than WEBAPI_LOG_RETENTION_DAYS are deleted.

On PostgreSQL, where the log is partitioned by month (apps/usage/partitions.py), every month
that ends before the cut-off is dropped whole first; what is left older than the cut-off (the
start of the month the cut-off falls in, rows waiting in the default partition, and SQLite's
one table) goes in batches as follows.

The log grows with every API call (one row each) and nothing else ever removes it. Pruning
runs per vendor, oldest rows first, in batches of a bounded size, each batch its own short
statement in autocommit: no long transaction, no lock held across batches, and API calls keep
inserting meanwhile. Each batch finds its rows through the (vendor, time) index. A run stops
after `max_batches` batches so that one run has a bounded length; the next run continues
where it stopped. Running it twice, or two runs at once, deletes nothing extra: each only
deletes rows older than the cut-off, which is the same for everyone.

Findings of the anomaly detector keep the ids of the log rows they cite; once those rows are
pruned the finding still shows its summary, but no longer the rows themselves.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.db.models import Exists, OuterRef
from django.utils import timezone

from apps.accounts.models import Vendor
from apps.usage.models import WebApiLog
from apps.usage.partitions import weblog_partitions_drop

logger = logging.getLogger(__name__)


def weblog_cutoff(*, days: int, now: dt.datetime | None = None) -> dt.datetime | None:
    """Rows with a time before this are prunable; None when retention is off (days <= 0)."""
    if days <= 0:
        return None
    return (now or timezone.now()) - dt.timedelta(days=days)


def weblog_prune(*, days: int, batch_size: int, max_batches: int,
                 now: dt.datetime | None = None) -> int:
    """Delete Web API log rows older than `days` days, every vendor, in batches of at most
    `batch_size` rows and at most `max_batches` batches in all. Returns the rows deleted.
    days <= 0 keeps everything."""
    cutoff = weblog_cutoff(days=days, now=now)
    if cutoff is None:
        return 0
    # On PostgreSQL the months wholly before the cut-off go first, a partition at a time:
    # dropping a month of millions of rows takes as long as dropping an empty one.
    deleted = sum(rows for _, rows in weblog_partitions_drop(before=cutoff))
    batch_size, budget = max(1, batch_size), max(1, max_batches)
    old_rows = WebApiLog.objects.filter(vendor=OuterRef("pk"), time__lt=cutoff)
    vendor_ids = list(Vendor.objects.filter(Exists(old_rows)).order_by("pk")
                      .values_list("pk", flat=True))
    for vendor_id in vendor_ids:
        while budget > 0:
            budget -= 1
            removed = _prune_batch(vendor_id=vendor_id, cutoff=cutoff, batch_size=batch_size)
            deleted += removed
            if removed < batch_size:
                break
        if budget <= 0:
            logger.info("Web API log retention: batch limit reached, the next run goes on")
            break
    if deleted:
        logger.info("Web API log retention: deleted %d rows older than %s", deleted, cutoff)
    return deleted


def _prune_batch(*, vendor_id: int, cutoff: dt.datetime, batch_size: int) -> int:
    ids = list(WebApiLog.objects.filter(vendor_id=vendor_id, time__lt=cutoff)
               .order_by("time").values_list("pk", flat=True)[:batch_size])
    if not ids:
        return 0
    # No signals and no relations point at the log, so this is one DELETE ... WHERE id IN.
    count, _ = WebApiLog.objects.filter(pk__in=ids).delete()
    return count
