"""Read replica routing: log reads go to the replica, everything else to the primary."""

from __future__ import annotations

from unittest import mock

import pytest
from django.conf import settings
from django.db import connections

from apps.accounts.models import Vendor
from apps.core.dbrouters import REPLICA, PrimaryReplicaRouter, read_alias
from apps.licensing.models import LicenseKey
from apps.usage.models import Event, WebApiLog

router = PrimaryReplicaRouter()


@pytest.fixture
def with_replica():
    replica = {**settings.DATABASES["default"]}
    with mock.patch.dict(settings.DATABASES, {REPLICA: replica}):
        yield


def test_log_reads_go_to_the_replica(with_replica):
    assert router.db_for_read(WebApiLog) == REPLICA
    assert router.db_for_read(Event) == REPLICA


def test_other_reads_and_all_writes_stay_on_the_primary(with_replica):
    assert router.db_for_read(LicenseKey) is None  # None: Django's default database
    assert router.db_for_read(Vendor) is None
    assert router.db_for_write(WebApiLog) == "default"


def test_reads_inside_a_transaction_stay_on_the_primary(with_replica, monkeypatch):
    monkeypatch.setattr(connections["default"], "in_atomic_block", True)
    assert router.db_for_read(WebApiLog) is None


def test_without_a_replica_nothing_is_routed():
    assert REPLICA not in settings.DATABASES
    assert router.db_for_read(WebApiLog) is None


def test_explicit_heavy_reads_use_the_replica_when_there_is_one(with_replica):
    assert read_alias() == REPLICA


def test_explicit_heavy_reads_use_the_primary_without_a_replica():
    assert read_alias() == "default"


def test_migrations_run_on_the_primary_only():
    assert router.allow_migrate("default", "licensing") is True
    assert router.allow_migrate(REPLICA, "licensing") is False


def test_the_settings_add_the_replica_alias_and_router_from_the_environment():
    import subprocess
    import sys

    from tests.test_deploy_settings import ROOT

    code = ("from django.conf import settings as s; "
            "print(s.DATABASES['replica']['HOST'], s.DATABASES['replica']['TEST'], "
            "s.DATABASE_ROUTERS)")
    env = {"DEBUG": "1", "DJANGO_SETTINGS_MODULE": "licensing_portal.settings",
           "DATABASE_URL": "postgres://u:p@127.0.0.1:5432/portal",
           "DATABASE_REPLICA_URL": "postgres://ro:p@10.0.0.6:5432/portal", "PATH": "/usr/bin"}
    out = subprocess.run([sys.executable, "-c", "import django; django.setup(); " + code],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
                         check=True).stdout
    assert out.split()[0] == "10.0.0.6"
    assert "'MIRROR': 'default'" in out
    assert "apps.core.dbrouters.PrimaryReplicaRouter" in out
