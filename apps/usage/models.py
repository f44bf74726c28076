"""The Web API log and what is derived from it: registered events, floating-seat sessions
and the report tables' progress marks. The tables kept the names they had in apps.licensing."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone

from apps.accounts.models import Vendor


class WebApiLogQuerySet(models.QuerySet):
    def for_vendor(self, vendor: Vendor) -> WebApiLogQuerySet:
        return self.filter(vendor=vendor)


class WebApiLog(models.Model):
    """One Web API call, with Cryptolens' 4-digit state code (20xx activation, 10xx
    validation, 60xx deactivation, 30xx key creation; third digit 1 = success, 2 = failure).

    Plain values rather than foreign keys: the log outlives keys and products, and writing it
    must stay a single cheap INSERT on the hot path.

    On PostgreSQL the table is partitioned by month on `time` (apps/usage/partitions.py), and
    its primary key there is (id, time): ids still come from one sequence and stay unique,
    and Django addresses rows by id as everywhere else. On SQLite it is one plain table."""

    # No index of its own: every index of the log starts with the vendor (one index less to
    # keep up on every call and every imported row). No constraint in the database either:
    # PostgreSQL would check it for every row written, an index probe of the vendors' table
    # and a KEY SHARE lock on the vendor's row that every concurrent call of the vendor takes
    # (a multixact once two overlap), a third of the import's cost per row. Rows are only
    # written for a vendor the caller holds (the token's, the importer's), and deleting a
    # vendor deletes its rows (on_delete, through the ORM) as before.
    vendor = models.ForeignKey(Vendor, on_delete=models.CASCADE, related_name="+",
                               db_index=False, db_constraint=False)
    time = models.DateTimeField(default=timezone.now)
    product_id = models.BigIntegerField(null=True, blank=True)
    key = models.CharField(max_length=64, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    state = models.PositiveSmallIntegerField()
    machine_code = models.CharField(max_length=128, blank=True)
    friendly_name = models.CharField(max_length=255, blank=True)
    floating_expires = models.DateTimeField(null=True, blank=True)
    method = models.CharField(max_length=64)
    user_agent = models.CharField(max_length=255, blank=True)
    do_int_value = models.BigIntegerField(null=True, blank=True)
    do_id = models.BigIntegerField(null=True, blank=True)
    token_id = models.BigIntegerField(null=True, blank=True)
    # ISO 3166 alpha-2 code of the caller's IP, from the vendor-configured GeoIP database.
    country = models.CharField(max_length=2, blank=True, default="", db_default="")
    # The Id a row had in the log it was imported from (a Cryptolens export, another
    # install). A vendor's row is identified by its source Id and time (unique together:
    # on PostgreSQL a unique index must contain the partition key, `time`), so a file
    # imported twice adds nothing; the row's own primary key is always this table's.
    source_id = models.BigIntegerField(null=True, blank=True)

    objects = WebApiLogQuerySet.as_manager()

    class Meta:
        db_table = "licensing_webapilog"
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["vendor", "source_id", "time"],
                                    condition=Q(source_id__isnull=False),
                                    name="webapilog_unique_source_id_time"),
        ]
        indexes = [
            models.Index(fields=["vendor", "-id"], name="licensing_w_vendor__eb4453_idx"),
            models.Index(fields=["vendor", "product_id", "key", "-id"],
                         name="licensing_w_vendor__83dd0e_idx"),
            models.Index(fields=["vendor", "time"], name="licensing_w_vendor__5cc178_idx"),
            # The floating-seat report reads only seat rows (2014, 2015, 6011) and refusals
            # (2024) of a time range: a partial index skips the other calls.
            models.Index(fields=["vendor", "time"], name="webapilog_floating_time",
                         condition=Q(state__in=[2014, 2015, 6011, 2024])),
            # Usage reports: successful activations (devices, end users, countries) and
            # failed calls (top failing keys) of a range.
            models.Index(fields=["vendor", "time"], name="webapilog_activated_time",
                         condition=Q(state__gte=2010, state__lt=2020)),
            models.Index(fields=["vendor", "time"], name="webapilog_failed_time",
                         condition=Q(state__gte=1020, state__lt=1030)
                         | Q(state__gte=2020, state__lt=2030)),
        ]

    def __str__(self) -> str:
        return f"{self.time:%Y-%m-%d %H:%M:%S} {self.method} {self.state}"

    @property
    def succeeded(self) -> bool:
        return (self.state % 100) // 10 == 1


class FloatingSession(models.Model):
    """One floating seat held by one device on one key, from its first activation to its
    release or expiry: the Web API log's heartbeats condensed (apps/usage/sessions.py
    keeps it up to date), so seat reports read thousands of sessions instead of
    millions of log rows. Derived data: it can always be rebuilt from the log."""

    vendor = models.ForeignKey(Vendor, on_delete=models.CASCADE, related_name="+")
    product_id = models.BigIntegerField(null=True, blank=True)
    key = models.CharField(max_length=64)
    machine_code = models.CharField(max_length=128)
    # Unix seconds: the reports' window functions work in whole seconds on both databases.
    start_t = models.BigIntegerField()
    end_t = models.BigIntegerField()
    overdraft = models.BooleanField(default=False)

    class Meta:
        db_table = "licensing_floatingsession"
        indexes = [models.Index(fields=["vendor", "start_t"],
                                name="licensing_f_vendor__73e3ea_idx"),
                   models.Index(fields=["vendor", "product_id", "key", "machine_code",
                                        "end_t"], name="licensing_f_vendor__98ec67_idx")]

    def __str__(self) -> str:
        return f"{self.key} {self.machine_code} {self.start_t}-{self.end_t}"


class ReportProgress(models.Model):
    """How far (by log id) a vendor's derived report tables have read the Web API log."""

    vendor = models.OneToOneField(Vendor, on_delete=models.CASCADE, related_name="+")
    floating_log_id = models.BigIntegerField(default=0)

    class Meta:
        db_table = "licensing_reportprogress"

    def __str__(self) -> str:
        return f"{self.vendor_id}: floating sessions up to log id {self.floating_log_id}"


class Event(models.Model):
    """An event registered by the vendor's software (ai/RegisterEvent)."""

    vendor = models.ForeignKey(Vendor, on_delete=models.CASCADE, related_name="+")
    time = models.DateTimeField(default=timezone.now)
    product_id = models.BigIntegerField(null=True, blank=True)
    key = models.CharField(max_length=64, blank=True)
    machine_code = models.CharField(max_length=128, blank=True)
    feature_name = models.CharField(max_length=100, blank=True)
    event_name = models.CharField(max_length=100, blank=True)
    value = models.BigIntegerField(default=0)
    currency = models.CharField(max_length=10, blank=True)
    metadata = models.TextField(max_length=10000, blank=True)

    class Meta:
        db_table = "licensing_event"
        ordering = ["-id"]
        indexes = [models.Index(fields=["vendor", "-id"], name="licensing_e_vendor__5b1e16_idx"),
                   models.Index(fields=["vendor", "product_id", "key", "-id"],
                                name="licensing_e_vendor__422884_idx")]

    def __str__(self) -> str:
        return f"{self.event_name} ({self.feature_name})"
