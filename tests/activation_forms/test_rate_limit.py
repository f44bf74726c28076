"""Failed attempts on an activation form are limited per IP address and form, so that the page
cannot be used to guess keys."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.test import override_settings

from apps.licensing.services import activation_forms as service
from apps.usage import states
from apps.usage.models import WebApiLog
from tests.licensing.keypool import pooled_signing_keys  # noqa: F401  (autouse: fast RSA keys)

from .conftest import NEW_PC, OTHER_PC, EndUser, open_form

WRONG_KEY = "AAAAA-BBBBB-CCCCC-DDDDD"
WINDOW = 600
LIMIT = 10


@pytest.fixture
def clock(monkeypatch):
    """The limiter's clock, at the start of a window; move it with clock.now += seconds."""
    state = SimpleNamespace(now=float(WINDOW * 3_000_000))
    monkeypatch.setattr(service, "time", SimpleNamespace(time=lambda: state.now))
    return state


def _fail(user: EndUser, times: int) -> None:
    for _ in range(times):
        response = user.submit(WRONG_KEY, OTHER_PC)
        assert response.status_code == 200, "refused before the limit"


def _is_try_again_page(response) -> bool:
    return response.status_code == 429 and \
        "Too many attempts, try again later" in response.content.decode()


def test_ten_failures_lock_the_form_for_that_ip_even_for_a_right_key(end_user, tenant, clock):
    _fail(end_user, LIMIT)
    response = end_user.submit(tenant.key.key, NEW_PC)

    assert _is_try_again_page(response)
    assert "Content-Disposition" not in response
    assert int(response["Retry-After"]) == WINDOW
    # No key check was made: the right key did not activate anything.
    assert not tenant.key.activations.filter(machine_code=NEW_PC).exists()


def test_the_locked_ip_sees_the_try_again_page_when_opening_the_form(end_user, clock):
    _fail(end_user, LIMIT)
    assert _is_try_again_page(end_user.get())


def test_nine_failures_still_let_the_right_key_through(end_user, tenant, clock):
    _fail(end_user, LIMIT - 1)
    response = end_user.submit(tenant.key.key, NEW_PC)
    assert "Content-Disposition" in response


def test_the_limit_is_per_ip_address(end_user, tenant, clock):
    _fail(end_user, LIMIT)
    neighbour = EndUser(end_user.form, ip="198.51.100.20")
    assert "Content-Disposition" in neighbour.submit(tenant.key.key, NEW_PC)


def test_the_limit_is_per_form(end_user, tenant, clock):
    _fail(end_user, LIMIT)
    other_form = EndUser(open_form(tenant.product, title="Second form"), ip=end_user.ip)
    assert "Content-Disposition" in other_form.submit(tenant.key.key, NEW_PC)


def test_successful_downloads_do_not_count(end_user, tenant, clock, registered_pc):
    for n in range(LIMIT + 2):
        assert "Content-Disposition" in end_user.submit(tenant.key.key, registered_pc), n


def test_the_counter_starts_again_in_the_next_window(end_user, tenant, clock):
    clock.now += WINDOW - 60  # the failures come late in the window
    _fail(end_user, LIMIT)
    assert int(end_user.submit(WRONG_KEY, OTHER_PC)["Retry-After"]) == 60

    clock.now += 59
    assert _is_try_again_page(end_user.submit(tenant.key.key, NEW_PC))
    clock.now += 1
    assert "Content-Disposition" in end_user.submit(tenant.key.key, NEW_PC)


@override_settings(ACTIVATION_FORM_MAX_FAILURES=3, ACTIVATION_FORM_FAILURE_WINDOW_SECONDS=60)
def test_limit_and_window_come_from_settings(end_user, clock):
    _fail(end_user, 3)
    response = end_user.submit(WRONG_KEY, OTHER_PC)
    assert _is_try_again_page(response)
    assert int(response["Retry-After"]) == 60


def test_refused_attempts_are_logged_too(end_user, tenant, clock):
    _fail(end_user, LIMIT)
    end_user.submit(tenant.key.key, NEW_PC)

    rows = WebApiLog.objects.for_vendor(tenant.vendor)
    assert rows.count() == LIMIT + 1
    assert set(rows.values_list("state", flat=True)) == {states.ACTIVATION_FAILED}
    assert rows.first().key == tenant.key.key
