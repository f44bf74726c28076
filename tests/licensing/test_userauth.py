"""The app-user services (apps/licensing/services/userauth.py): the rules every interface
shares, including the two that must hold under concurrency (on PostgreSQL): a reset token
sets one password only, and a one-user customer gets one user only."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable

import pytest
from django.contrib.auth.hashers import check_password
from django.db import connection
from django.utils import timezone

from apps.audit.log import Actor
from apps.audit.models import ObjectLogEntry
from apps.core.errors import DomainError
from apps.licensing.models import AppUser
from apps.licensing.services import (
    app_user_associate,
    app_user_authenticate,
    app_user_change_password,
    app_user_dissociate,
    app_user_register,
    app_user_remove,
    app_user_reset_token_create,
)
from apps.licensing.services import userauth as rules
from apps.licensing.services.userauth import CredentialsRejected
from tests.factories import CustomerFactory, make_vendor

ACTOR = Actor.for_system("test")


@pytest.fixture
def vendor(db):
    return make_vendor("App vendor")


def _register(vendor, username="alice", password="pw", **kwargs) -> AppUser:
    return app_user_register(vendor=vendor, actor=ACTOR, username=username, password=password,
                             **kwargs)


def test_the_password_is_stored_as_a_django_hash(vendor):
    user = _register(vendor, password="correct horse")
    assert user.password != "correct horse"
    assert check_password("correct horse", user.password)
    assert "correct horse" not in str(list(ObjectLogEntry.objects.values("changes")))


def test_user_names_are_unique_per_vendor_in_any_case(vendor):
    _register(vendor, username="Alice")
    with pytest.raises(DomainError) as refused:
        _register(vendor, username=" alice ")
    assert refused.value.message == rules.USERNAME_TAKEN
    _register(make_vendor("Another"), username="alice")  # another vendor's namespace
    assert AppUser.objects.filter(username__iexact="alice").count() == 2


@pytest.mark.parametrize(("username", "password", "email", "message"), [
    ("", "pw", "", rules.NO_CREDENTIALS),
    ("alice", "", "", rules.NO_CREDENTIALS),
    ("a" * 101, "pw", "", rules.USERNAME_TOO_LONG),
    ("tab\there", "pw", "", rules.USERNAME_INVALID),
    ("alice", "p" * 257, "", rules.PASSWORD_TOO_LONG),
    ("alice", "pw", "no-at-sign", rules.EMAIL_INVALID),
    ("alice", "pw", "a" * 96 + "@x.io", rules.EMAIL_INVALID),
])
def test_invalid_registrations_are_refused(vendor, username, password, email, message):
    with pytest.raises(DomainError) as refused:
        _register(vendor, username=username, password=password, email=email)
    assert refused.value.message == message
    assert not AppUser.objects.exists()


def test_authenticate_checks_the_password_and_records_the_login(vendor):
    _register(vendor, password="pw")
    assert app_user_authenticate(vendor=vendor, username="alice", password="nope") is None
    assert AppUser.objects.get().last_login is None
    user = app_user_authenticate(vendor=vendor, username="ALICE", password="pw")
    assert user is not None and AppUser.objects.get().last_login is not None
    assert app_user_authenticate(vendor=make_vendor("Other"), username="alice",
                                 password="pw") is None


def test_a_customer_without_multiple_association_takes_one_user(vendor):
    customer = CustomerFactory(vendor=vendor)
    first = _register(vendor, username="first", customer=customer)
    second = _register(vendor, username="second")
    with pytest.raises(DomainError) as refused:
        app_user_associate(user=second, actor=ACTOR, customer=customer)
    assert refused.value.message == rules.CUSTOMER_HAS_USER
    app_user_associate(user=first, actor=ACTOR, customer=customer)  # again: no change, fine
    app_user_dissociate(user=first, actor=ACTOR)
    app_user_associate(user=second, actor=ACTOR, customer=customer)  # room now
    assert list(customer.app_users.values_list("username", flat=True)) == ["second"]


def test_another_vendors_customer_is_refused(vendor):
    foreign = CustomerFactory(vendor=make_vendor("Other"))
    with pytest.raises(DomainError):
        _register(vendor, customer=foreign)
    user = _register(vendor)
    with pytest.raises(DomainError):
        app_user_associate(user=user, actor=ACTOR, customer=foreign)
    assert AppUser.objects.get().customer_id is None


def test_a_reset_token_is_single_use_and_only_its_digest_is_stored(vendor):
    user = _register(vendor, password="old")
    token = app_user_reset_token_create(user=user, actor=ACTOR)
    stored = AppUser.objects.get()
    assert token not in stored.reset_token_hash and len(stored.reset_token_hash) == 64

    app_user_change_password(user=user, actor=ACTOR, new_password="new", reset_token=token)
    with pytest.raises(CredentialsRejected):
        app_user_change_password(user=user, actor=ACTOR, new_password="again",
                                 reset_token=token)
    assert check_password("new", AppUser.objects.get().password)


def test_an_expired_reset_token_is_refused(vendor):
    user = _register(vendor, password="old")
    token = app_user_reset_token_create(user=user, actor=ACTOR)
    AppUser.objects.update(reset_token_expires=timezone.now() - dt.timedelta(minutes=1))
    with pytest.raises(CredentialsRejected):
        app_user_change_password(user=user, actor=ACTOR, new_password="new", reset_token=token)
    assert check_password("old", AppUser.objects.get().password)


def test_admin_mode_needs_no_old_password_but_other_modes_do(vendor):
    user = _register(vendor, password="old")
    for kwargs in ({}, {"old_password": "wrong"}):
        with pytest.raises(CredentialsRejected):
            app_user_change_password(user=user, actor=ACTOR, new_password="new", **kwargs)
    app_user_change_password(user=user, actor=ACTOR, new_password="new", admin=True)
    assert check_password("new", AppUser.objects.get().password)


def test_remove_keeps_the_customer_and_logs(vendor):
    customer = CustomerFactory(vendor=vendor)
    user = _register(vendor, customer=customer)
    app_user_remove(user=user, actor=ACTOR)
    assert not AppUser.objects.exists()
    customer.refresh_from_db()
    assert ObjectLogEntry.objects.filter(action="app user removed",
                                         object_id=str(user.pk)).exists()


def test_removing_a_customer_leaves_its_users_unassociated(vendor):
    customer = CustomerFactory(vendor=vendor)
    _register(vendor, customer=customer)
    customer.delete()
    assert AppUser.objects.get().customer_id is None


# --- Concurrency (PostgreSQL) --------------------------------------------------------------

def _race(calls: list[Callable[[], object]]) -> list[object]:
    """Run the calls in threads released together; each result or the exception raised."""
    barrier = threading.Barrier(len(calls))
    results: list[object] = [None] * len(calls)

    def run(index: int) -> None:
        try:
            barrier.wait()
            results[index] = calls[index]()
        except Exception as exc:
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


needs_postgres = pytest.mark.skipif(connection.vendor != "postgresql",
                                    reason="needs PostgreSQL: set DATABASE_URL")


@needs_postgres
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_reset_token_used_concurrently_sets_one_password():
    vendor = make_vendor("Race")
    user = _register(vendor, password="old")
    token = app_user_reset_token_create(user=user, actor=ACTOR)
    results = _race([
        (lambda n=n: app_user_change_password(user=user, actor=ACTOR, new_password=f"new {n}",
                                              reset_token=token))
        for n in range(8)])
    winners = [r for r in results if isinstance(r, AppUser)]
    assert len(winners) == 1
    assert all(isinstance(r, CredentialsRejected) for r in results if r not in winners)
    winner = next(n for n, r in enumerate(results) if isinstance(r, AppUser))
    assert check_password(f"new {winner}", AppUser.objects.get().password)


@needs_postgres
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_registrations_give_a_one_user_customer_one_user():
    vendor = make_vendor("Race")
    customer = CustomerFactory(vendor=vendor)
    results = _race([(lambda n=n: _register(vendor, username=f"user{n}", customer=customer))
                     for n in range(8)])
    assert sum(isinstance(r, AppUser) for r in results) == 1
    assert AppUser.objects.filter(customer=customer).count() == 1
    assert {r.message for r in results if isinstance(r, DomainError)} == {
        rules.CUSTOMER_HAS_USER}
