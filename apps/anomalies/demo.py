"""Demo data for `seed_demo`: a few days of synthetic Web API log for the demo vendor, with
injected anomalies, a trained detector and its findings. A key-sharing anomaly is moved onto
one of the demo's real keys, so that "block the key" and "open the customer" can be tried.

Kept small (a few thousand rows) so that seed_demo stays a matter of seconds."""

from __future__ import annotations

import numpy as np

from apps.accounts.models import Vendor
from apps.licensing.models import LicenseKey

from .models import AnomalySettings, DetectorVersion
from .services import anomaly_detect, anomaly_model_train
from .services.synthetic import (
    free_id_offset,
    synthetic_log_generate,
    synthetic_log_import,
    synthetic_log_shift_ids,
)

DEMO_DAYS = 5
DEMO_CUSTOMERS = 40
DEMO_SEED = 7
DEMO_SENSITIVITY = 8.0  # "High": a demo should show a few findings a day


def _onto_real_key(log, key: LicenseKey) -> None:
    """Let the first key-sharing label happen on `key` (and its product)."""
    label = next((lab for lab in log.labels if lab.kind == "key_sharing" and lab.key), None)
    if label is None:
        return
    frame = log.frame
    vocab = frame.vocabs["key"]
    matches = np.flatnonzero(vocab == label.key)
    if not len(matches):
        return
    vocab[matches[0]] = key.key
    frame.product_id[frame.codes["key"] == matches[0]] = key.product_id
    label.key, label.product_id = key.key, key.product_id


def anomaly_demo_seed(*, vendor: Vendor) -> DetectorVersion | None:
    """Give the demo vendor a log, a detector and findings, once (nothing when it has a
    detector already)."""
    if DetectorVersion.objects.for_vendor(vendor).exists():
        return None
    log = synthetic_log_generate(days=DEMO_DAYS, seed=DEMO_SEED, customers=DEMO_CUSTOMERS,
                                 instances_per_kind=1)
    key = (LicenseKey.objects.for_vendor(vendor).filter(customer__isnull=False, block=False)
           .order_by("pk").first())
    if key is not None:
        _onto_real_key(log, key)
    synthetic_log_shift_ids(log, offset=free_id_offset())
    synthetic_log_import(vendor=vendor, log=log)
    # The demo's findings are old news: no digest e-mail for them, but the digest stays on.
    settings_row, _ = AnomalySettings.objects.update_or_create(
        vendor=vendor, defaults={"email_digest": False, "sensitivity": DEMO_SENSITIVITY})
    version = anomaly_model_train(vendor=vendor)
    anomaly_detect(vendor=vendor)
    settings_row.email_digest = True
    settings_row.save(update_fields=["email_digest", "updated"])
    return version
