"""auth/GetToken under real concurrency, on PostgreSQL: the same rightly signed challenge sent
by 24 parallel callers yields exactly one application token (Cryptolens' user account
authorization, apps.licensing.services.app_authorizations). The challenge is taken under a row
lock (select_for_update) and the token issued by a conditional UPDATE, so a second caller finds
the challenge used up or the token issued. gunicorn runs 2 worker processes x 8 threads, as in
test_bounded_increment.py. SQLite serialises writers anyway, so this skips there."""

from __future__ import annotations

import json
import threading
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from apps.audit.log import Actor
from apps.licensing.models import AccessToken, AppAuthorization, Customer
from apps.licensing.services import token_create
from apps.licensing.services.app_authorizations import (
    ALREADY_CLAIMED,
    NO_CHALLENGE,
    app_authorization_challenge,
)
from tests import servers
from tests.api.user_account_flow import plausible_params
from tests.factories import make_vendor

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs PostgreSQL: set DATABASE_URL=postgres://... to run",
    ),
]

CALLERS = 24


@pytest.fixture(scope="module")
def base_url(django_db_setup, tmp_path_factory) -> Iterator[str]:
    log = tmp_path_factory.mktemp("gunicorn") / "gunicorn.log"
    process, base = servers.start(log, workers=2, threads=8, timeout=60)
    try:
        servers.wait_until_up(process, base, log)
        yield base
    finally:
        servers.stop(process)


def _post(base: str, path: str, data: dict[str, str]) -> dict:
    request = urllib.request.Request(f"{base}/api/{path}",
                                     data=urllib.parse.urlencode(data).encode())
    with urllib.request.urlopen(request, timeout=60) as response:
        assert response.status == 200
        return json.loads(response.read())


def test_parallel_get_token_calls_issue_one_token(base_url, transactional_db):
    vendor = make_vendor("Apps Ltd")
    customer = Customer.objects.create(vendor=vendor, name="Contoso")
    token_row, token = token_create(vendor=vendor, actor=Actor.for_system("test"),
                                    name="shipped",
                                    permissions=["auth.GetChallenge", "auth.GetToken"])
    signed = plausible_params("auth.GetToken", token=token, customer=customer)
    go = threading.Event()

    def call() -> dict:
        go.wait()
        return _post(base_url, "auth/GetToken/", {"token": token, **{
            k: str(v) for k, v in signed.items()}})

    with ThreadPoolExecutor(max_workers=CALLERS) as pool:
        futures = [pool.submit(call) for _ in range(CALLERS)]
        go.set()
        bodies = [f.result() for f in futures]

    outcomes = Counter(b["message"] if b["result"] else "token" for b in bodies)
    assert outcomes["token"] == 1, outcomes
    assert set(outcomes) <= {"token", NO_CHALLENGE, ALREADY_CLAIMED}
    row = AppAuthorization.objects.get()
    assert row.token_hash and row.challenge == ""
    # The challenge is spent: another one cannot be asked for either.
    with pytest.raises(Exception, match=ALREADY_CLAIMED):
        app_authorization_challenge(token=AccessToken.objects.get(pk=token_row.pk),
                                    authorization_token=signed["AuthorizationToken"])
