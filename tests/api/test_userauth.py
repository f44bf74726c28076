"""userauth/*: users of the vendor's application, through the official Python client
(licensing.methods.User) against a live server, and by raw HTTP for errors, the brakes on
password guessing, reset tokens, Normal vs Admin tokens, locks and tenant isolation."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.hashers import check_password
from django.core.cache import cache
from django.test import Client, override_settings
from django.utils import timezone
from licensing.methods import User

from apps.api import errors
from apps.audit.models import ObjectLogEntry
from apps.licensing.api_methods import USER_AUTH_ADMIN, USER_AUTH_NORMAL
from apps.licensing.models import AppUser
from apps.licensing.services import userauth as rules
from tests.factories import CustomerFactory, ProductFactory, make_key, make_vendor
from tests.licensing.keypool import pooled_signing_keys  # noqa: F401


@pytest.fixture(autouse=True)
def clear_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def customer(server):
    return CustomerFactory(vendor=server.vendor, name="Ada", email="ada@example.com")


def _register(server, username="alice", password="s3cret pass", **params) -> dict:
    return server.post("userauth/Register", username=username, password=password, **params)


# --- Through the official client -----------------------------------------------------------

def test_register_then_login_returns_the_customers_licenses(server, customer):
    key = make_key(server.product, customer=customer)
    make_key(server.product)  # another key, of no customer: not the user's

    result, message = User.register(server.token, "alice", "s3cret pass",
                                    email="alice@example.com", customerId=customer.pk)
    assert (result["result"], message) == (0, "")
    licenses, message = User.login(server.token, "alice", "s3cret pass")

    assert message == ""
    assert [k["key"] for k in licenses] == [key.key]
    assert licenses[0]["productId"] == server.product.pk
    assert licenses[0]["customer"]["id"] == customer.pk
    user = AppUser.objects.get(vendor=server.vendor, username="alice")
    assert user.email == "alice@example.com" and user.customer_id == customer.pk
    assert user.password != "s3cret pass" and check_password("s3cret pass", user.password)
    assert user.last_login is not None


def test_login_with_a_wrong_password_is_refused(server):
    User.register(server.token, "alice", "right")
    assert User.login(server.token, "alice", "wrong") == (None, rules.AUTHENTICATION_FAILED)
    assert User.login(server.token, "nobody", "right") == (None, rules.AUTHENTICATION_FAILED)


def test_login_of_an_unassociated_user_lists_no_licenses(server):
    User.register(server.token, "bob", "pw")
    assert User.login(server.token, "BOB", "pw") == ([], "")  # names in any case


def test_associate_and_dissociate_through_the_client(server, customer):
    key = make_key(server.product, customer=customer)
    User.register(server.token, "alice", "pw")

    assert User.associate(server.token, "alice", customer.pk)[1] == ""
    assert [k["key"] for k in User.login(server.token, "alice", "pw")[0]] == [key.key]
    assert User.dissociate(server.token, "alice")[1] == ""
    assert User.login(server.token, "alice", "pw") == ([], "")
    assert AppUser.objects.get(username="alice").customer_id is None


def test_get_users_through_the_client(server, customer):
    User.register(server.token, "alice", "pw", email="a@example.com", customerId=customer.pk)
    User.register(server.token, "bob", "pw")

    users, message = User.get_users(server.token)
    assert message == ""
    assert [(u["username"], u["email"], u["customerId"]) for u in users] == [
        ("alice", "a@example.com", customer.pk), ("bob", "", 0)]
    created = dt.datetime.strptime(users[0]["created"], "%Y-%m-%dT%H:%M:%S")
    assert abs(created.replace(tzinfo=dt.UTC) - timezone.now()) < dt.timedelta(minutes=5)
    only, _ = User.get_users(server.token, customer.pk)
    assert [u["username"] for u in only] == ["alice"]


def test_change_password_with_the_old_password_through_the_client(server):
    User.register(server.token, "alice", "old pw")
    result, message = User.change_password(server.token, "alice", "new pw",
                                           old_password="old pw")
    assert (result["result"], message) == (0, "")
    assert User.login(server.token, "alice", "old pw")[1] == rules.AUTHENTICATION_FAILED
    assert User.login(server.token, "alice", "new pw")[1] == ""


def test_reset_token_changes_the_password_once_through_the_client(server):
    User.register(server.token, "alice", "forgotten")
    token, message = User.reset_password_token(server.token, "alice")
    assert message == "" and len(token) >= 32
    user = AppUser.objects.get(username="alice")
    assert token not in user.reset_token_hash  # only the digest is stored

    assert User.change_password(server.token, "alice", "fresh",
                                password_reset_token=token)[1] == ""
    assert User.login(server.token, "alice", "fresh")[1] == ""
    # Single use: the same token cannot set another password.
    assert User.change_password(server.token, "alice", "stolen", password_reset_token=token) \
        == (None, rules.PASSWORD_NOT_UPDATED)
    assert User.login(server.token, "alice", "fresh")[1] == ""


def test_admin_mode_sets_a_password_without_the_old_one_through_the_client(server):
    User.register(server.token, "alice", "unknown")
    assert User.change_password(server.token, "alice", "set by admin", admin_mode=True)[1] == ""
    assert User.login(server.token, "alice", "set by admin")[1] == ""


def test_remove_user_through_the_client(server):
    User.register(server.token, "alice", "pw")
    assert User.remove_user(server.token, "alice")[1] == ""
    assert not AppUser.objects.filter(username="alice").exists()
    assert User.remove_user(server.token, "alice") == (None, rules.USERNAME_UNKNOWN)
    assert User.login(server.token, "alice", "pw")[1] == rules.AUTHENTICATION_FAILED


# --- Errors and validation (raw HTTP) -------------------------------------------------------

@pytest.mark.parametrize("params", [
    {"username": "", "password": "pw"}, {"username": "alice", "password": ""},
    {"username": "   ", "password": "pw"}, {"password": "pw"},
])
def test_empty_user_name_or_password_is_refused(server, params):
    assert server.post("userauth/Register", **params) == {
        "result": 1, "message": rules.NO_CREDENTIALS}
    assert server.post("userauth/Login", **params)["message"] == rules.NO_CREDENTIALS
    assert not AppUser.objects.exists()


def test_user_name_and_password_length_limits(server):
    assert _register(server, username="u" * 101)["message"] == rules.USERNAME_TOO_LONG
    assert _register(server, password="p" * 257)["message"] == rules.PASSWORD_TOO_LONG
    assert _register(server, username="bad\x07name")["message"] == rules.USERNAME_INVALID
    assert _register(server, email="not an email")["message"] == rules.EMAIL_INVALID
    assert not AppUser.objects.exists()
    assert _register(server, username="u" * 100, password="p" * 256)["result"] == 0


def test_a_user_name_is_taken_in_any_case(server):
    assert _register(server, username="Alice")["result"] == 0
    assert _register(server, username="aLICE") == {"result": 1,
                                                   "message": rules.USERNAME_TAKEN}
    assert AppUser.objects.count() == 1


def test_register_with_an_unknown_customer_is_refused(server):
    assert _register(server, customerid=999999)["message"] == rules.CUSTOMER_NOT_FOUND
    assert not AppUser.objects.exists()


def test_a_second_user_is_refused_unless_the_customer_allows_several(server, customer):
    assert _register(server, username="one", customerid=customer.pk)["result"] == 0
    assert _register(server, username="two", customerid=customer.pk)["message"] == \
        rules.CUSTOMER_HAS_USER
    _register(server, username="three")
    assert server.post("userauth/Associate", username="three",
                       customerid=customer.pk)["message"] == rules.CUSTOMER_HAS_USER
    assert list(customer.app_users.values_list("username", flat=True)) == ["one"]

    customer.allow_multiple_user_association = True
    customer.save()
    assert server.post("userauth/Associate", username="three",
                       customerid=customer.pk)["result"] == 0
    assert customer.app_users.count() == 2


def test_associate_needs_a_known_user_and_customer(server, customer):
    assert server.post("userauth/Associate", username="ghost", customerid=customer.pk) == {
        "result": 1, "message": rules.USERNAME_UNKNOWN}
    _register(server)
    assert server.post("userauth/Associate", username="alice", customerid=0)["message"] == \
        rules.CUSTOMER_NOT_FOUND


def test_change_password_needs_old_password_or_token(server):
    _register(server, password="old")
    refused = {"result": 1, "message": rules.PASSWORD_NOT_UPDATED}
    assert server.post("userauth/ChangePassword", username="alice", newpassword="x") == refused
    assert server.post("userauth/ChangePassword", username="alice", newpassword="x",
                       oldpassword="wrong") == refused
    assert server.post("userauth/ChangePassword", username="alice", newpassword="x",
                       passwordresettoken="made-up") == refused
    assert server.post("userauth/ChangePassword", username="alice", newpassword="")[
        "message"] == rules.NO_CREDENTIALS
    assert check_password("old", AppUser.objects.get().password)


def test_an_expired_reset_token_is_refused(server):
    _register(server, password="old")
    token = server.post("userauth/ResetPasswordToken", username="alice")["passwordResetToken"]
    AppUser.objects.update(reset_token_expires=timezone.now() - dt.timedelta(seconds=1))
    assert server.post("userauth/ChangePassword", username="alice", newpassword="new",
                       passwordresettoken=token)["message"] == rules.PASSWORD_NOT_UPDATED
    assert check_password("old", AppUser.objects.get().password)


def test_a_reset_token_expires_after_a_day_and_a_newer_one_replaces_it(server):
    _register(server, password="old")
    first = server.post("userauth/ResetPasswordToken", username="alice")["passwordResetToken"]
    user = AppUser.objects.get()
    assert dt.timedelta(hours=23, minutes=59) < user.reset_token_expires - timezone.now() \
        <= dt.timedelta(hours=24)
    second = server.post("userauth/ResetPasswordToken", username="alice")["passwordResetToken"]
    assert server.post("userauth/ChangePassword", username="alice", newpassword="new",
                       passwordresettoken=first)["message"] == rules.PASSWORD_NOT_UPDATED
    assert server.post("userauth/ChangePassword", username="alice", newpassword="new",
                       passwordresettoken=second)["result"] == 0


def test_changing_the_password_voids_an_outstanding_reset_token(server):
    _register(server, password="old")
    token = server.post("userauth/ResetPasswordToken", username="alice")["passwordResetToken"]
    server.post("userauth/ChangePassword", username="alice", newpassword="new",
                oldpassword="old")
    assert server.post("userauth/ChangePassword", username="alice", newpassword="evil",
                       passwordresettoken=token)["message"] == rules.PASSWORD_NOT_UPDATED


# --- Normal vs Admin tokens ------------------------------------------------------------------

ADMIN_ONLY = [
    ("userauth/Register", {"username": "x", "password": "y"}),
    ("userauth/Associate", {"username": "alice", "customerid": 1}),
    ("userauth/Dissociate", {"username": "alice"}),
    ("userauth/GetUsers", {}),
    ("userauth/ResetPasswordToken", {"username": "alice"}),
    ("userauth/RemoveUser", {"username": "alice"}),
]


@pytest.mark.parametrize(("method", "params"), ADMIN_ONLY)
def test_a_normal_token_may_not_call_admin_methods(server, method, params):
    _register(server)
    normal = server.token_for([USER_AUTH_NORMAL])
    assert server.post(method, token=normal, **params) == {
        "result": 1, "message": errors.ACCESS_DENIED}
    assert list(AppUser.objects.values_list("username", "customer_id")) == [("alice", None)]
    assert not AppUser.objects.exclude(reset_token_hash="").exists()


def test_a_normal_token_logs_in_and_changes_a_password_but_not_in_admin_mode(server):
    _register(server, password="old")
    normal = server.token_for([USER_AUTH_NORMAL])
    assert User.login(normal, "alice", "old") == ([], "")
    assert User.change_password(normal, "alice", "new", admin_mode=True) == (
        None, errors.ACCESS_DENIED)
    assert User.change_password(normal, "alice", "new", old_password="old")[1] == ""
    assert User.login(normal, "alice", "new")[1] == ""


def test_an_admin_token_needs_admin_mode_to_skip_the_old_password(server):
    _register(server, password="old")
    admin = server.token_for([USER_AUTH_ADMIN])
    assert User.change_password(admin, "alice", "new") == (None, rules.PASSWORD_NOT_UPDATED)
    assert User.change_password(admin, "alice", "new", admin_mode=True)[1] == ""


def test_a_token_without_userauth_permissions_is_denied(server):
    _register(server)
    other = server.token_for(["key.GetKey"])
    assert User.login(other, "alice", "s3cret pass") == (None, errors.ACCESS_DENIED)


# --- Tenant isolation and locks ---------------------------------------------------------------

def test_another_vendors_token_never_reaches_the_users_or_customers(server, customer):
    _register(server, password="pw", customerid=customer.pk)
    make_key(server.product, customer=customer)
    other_vendor = make_vendor("Other vendor")
    from apps.audit.log import Actor
    from apps.licensing.services import token_create
    _, foreign = token_create(vendor=other_vendor, actor=Actor.for_system("test"), name="x",
                              permissions=[USER_AUTH_ADMIN, USER_AUTH_NORMAL])

    assert User.login(foreign, "alice", "pw") == (None, rules.AUTHENTICATION_FAILED)
    assert User.get_users(foreign) == ([], "")
    assert User.get_users(foreign, customer.pk) == (None, rules.CUSTOMER_NOT_FOUND)
    for call in (User.dissociate, User.remove_user, User.reset_password_token):
        assert call(foreign, "alice") == (None, rules.USERNAME_UNKNOWN)
    assert User.change_password(foreign, "alice", "x", admin_mode=True) == (
        None, rules.PASSWORD_NOT_UPDATED)
    # Its own user may not be tied to this vendor's customer, and the name is its own to use.
    assert User.register(foreign, "alice", "pw", customerId=customer.pk) == (
        None, rules.CUSTOMER_NOT_FOUND)
    assert User.register(foreign, "alice", "theirs")[1] == ""
    assert User.login(foreign, "alice", "theirs") == ([], "")
    user = AppUser.objects.get(vendor=server.vendor)
    assert user.customer_id == customer.pk and check_password("pw", user.password)


def test_a_product_locked_token_lists_only_its_products_keys(server, customer):
    own = make_key(server.product, customer=customer)
    other_product = ProductFactory(vendor=server.vendor)
    make_key(other_product, customer=customer)
    _register(server, password="pw", customerid=customer.pk)
    locked = server.token_for([USER_AUTH_NORMAL], product=server.product)

    licenses, message = User.login(locked, "alice", "pw")
    assert message == "" and [k["key"] for k in licenses] == [own.key]


def test_a_product_locked_admin_token_reaches_only_users_within_its_lock(server, customer):
    make_key(ProductFactory(vendor=server.vendor), customer=customer)  # another product's
    _register(server, username="outside", customerid=customer.pk)
    _register(server, username="free")
    locked = server.token_for([USER_AUTH_ADMIN], product=server.product)

    assert [u["username"] for u in User.get_users(locked)[0]] == ["free"]
    assert User.remove_user(locked, "outside") == (None, rules.USERNAME_UNKNOWN)
    assert User.associate(locked, "free", customer.pk) == (None, rules.CUSTOMER_NOT_FOUND)
    assert AppUser.objects.count() == 2


def test_a_key_locked_token_logs_in_to_that_key_only(server, customer):
    key = make_key(server.product, customer=customer)
    make_key(server.product, customer=customer)
    _register(server, password="pw", customerid=customer.pk)
    locked = server.token_for([USER_AUTH_NORMAL, USER_AUTH_ADMIN], locked_key=key)

    assert [k["key"] for k in User.login(locked, "alice", "pw")[0]] == [key.key]
    # Vendor-wide user management is beyond a key lock.
    assert User.register(locked, "bob", "pw") == (None, errors.ACCESS_DENIED)


def test_a_key_lock_minus_one_token_cannot_set_passwords_in_admin_mode(server, customer):
    """A key lock -1 token ships inside the application: its users log in and change their
    own password with the old one, but setting anyone's password without it (AdminMode) is
    vendor-wide user management, which no key-locked token may do."""
    make_key(server.product, customer=customer)
    _register(server, password="pw", customerid=customer.pk)
    _register(server, username="free", password="pw")
    shipped = server.token_for([USER_AUTH_NORMAL, USER_AUTH_ADMIN], key_lock_required=True)

    for username in ("alice", "free"):
        assert User.change_password(shipped, username, "hijacked", admin_mode=True)[1] \
            == rules.PASSWORD_NOT_UPDATED
        assert check_password("pw", AppUser.objects.get(username=username).password)
    assert User.login(shipped, "alice", "pw")[1] == ""
    assert User.change_password(shipped, "alice", "new pw", old_password="pw")[1] == ""
    assert check_password("new pw", AppUser.objects.get(username="alice").password)


# --- The object log --------------------------------------------------------------------------

def test_changes_are_in_the_object_log_without_secrets(server, customer):
    _register(server, password="first pw")
    server.post("userauth/Associate", username="alice", customerid=customer.pk)
    token = server.post("userauth/ResetPasswordToken", username="alice")["passwordResetToken"]
    server.post("userauth/ChangePassword", username="alice", newpassword="second pw",
                passwordresettoken=token)
    server.post("userauth/Dissociate", username="alice")
    server.post("userauth/RemoveUser", username="alice")

    entries = ObjectLogEntry.objects.filter(vendor=server.vendor,
                                            object_type="licensing.appuser").order_by("id")
    assert [e.action for e in entries] == [
        "app user registered", "app user associated", "app user password reset token created",
        "app user password changed", "app user dissociated", "app user removed"]
    assert all(e.actor_type == "token" for e in entries)
    text = " ".join(str(e.changes) for e in entries)
    assert "first pw" not in text and "second pw" not in text and token not in text


# --- Brakes on password guessing -------------------------------------------------------------

def _login(client: Client, token: str, username: str, password: str, ip: str) -> dict:
    return client.post("/api/userauth/Login", {"token": token, "username": username,
                                               "password": password},
                       REMOTE_ADDR=ip).json()


@pytest.fixture
def admin_token(db):
    from apps.audit.log import Actor
    from apps.licensing.services import app_user_register, token_create

    vendor = make_vendor("Brakes")
    for name in ("alice", "bob", "carol"):
        app_user_register(vendor=vendor, actor=Actor.for_system("test"), username=name,
                          password=f"{name} pw")
    return token_create(vendor=vendor, actor=Actor.for_system("test"), name="t",
                        permissions=[USER_AUTH_NORMAL, USER_AUTH_ADMIN])[1]


@pytest.mark.usefixtures("one_rate_window")
@override_settings(USERAUTH_FAILURES_PER_USER=(3, 900), USERAUTH_FAILURES_PER_IP=(100, 900))
def test_a_user_name_is_locked_after_failed_logins_from_any_ip(admin_token):
    client = Client()
    for n in range(3):
        body = _login(client, admin_token, "alice", "guess", f"198.51.100.{n}")
        assert body["message"] == rules.AUTHENTICATION_FAILED

    # From yet another address, with the right password: refused for the window.
    assert _login(client, admin_token, "ALICE", "alice pw", "198.51.100.9") == {
        "result": 1, "message": errors.TOO_MANY_REQUESTS}
    assert _login(client, admin_token, "bob", "bob pw", "198.51.100.9")["result"] == 0
    # Guessing by ChangePassword is braked by the same count.
    assert client.post("/api/userauth/ChangePassword", {
        "token": admin_token, "username": "alice", "oldpassword": "alice pw",
        "newpassword": "x"}, REMOTE_ADDR="198.51.100.9").json()["message"] == \
        errors.TOO_MANY_REQUESTS


@pytest.mark.usefixtures("one_rate_window")
@override_settings(USERAUTH_FAILURES_PER_USER=(100, 900), USERAUTH_FAILURES_PER_IP=(4, 900))
def test_an_ip_is_locked_after_failed_logins_across_names(admin_token):
    client, ip = Client(), "203.0.113.7"
    for name in ("alice", "bob", "carol", "dave"):
        assert _login(client, admin_token, name, "guess", ip)["message"] == \
            rules.AUTHENTICATION_FAILED

    assert _login(client, admin_token, "carol", "carol pw", ip) == {
        "result": 1, "message": errors.TOO_MANY_REQUESTS}
    assert _login(client, admin_token, "carol", "carol pw", "203.0.113.8")["result"] == 0


@pytest.mark.usefixtures("one_rate_window")
@override_settings(USERAUTH_FAILURES_PER_USER=(100, 900), USERAUTH_FAILURES_PER_IP=(3, 900))
def test_a_correct_password_does_not_reset_the_ips_count_for_other_names(admin_token):
    client, ip = Client(), "203.0.113.20"
    assert _login(client, admin_token, "alice", "guess", ip)["result"] == 1
    assert _login(client, admin_token, "bob", "guess", ip)["result"] == 1
    assert _login(client, admin_token, "carol", "carol pw", ip)["result"] == 0  # own account
    assert _login(client, admin_token, "alice", "guess 2", ip)["message"] == \
        rules.AUTHENTICATION_FAILED  # the third failure: the limit is now used up
    assert _login(client, admin_token, "bob", "bob pw", ip)["message"] == \
        errors.TOO_MANY_REQUESTS


@pytest.mark.usefixtures("one_rate_window")
@override_settings(USERAUTH_FAILURES_PER_USER=(2, 900), USERAUTH_FAILURES_PER_IP=(100, 900))
def test_wrong_reset_tokens_count_as_failed_attempts(admin_token):
    client, ip = Client(), "192.0.2.44"

    def change(token: str) -> dict:
        return client.post("/api/userauth/ChangePassword", {
            "token": admin_token, "username": "bob", "newpassword": "new",
            "passwordresettoken": token}, REMOTE_ADDR=ip).json()

    real = client.post("/api/userauth/ResetPasswordToken", {
        "token": admin_token, "username": "bob"}, REMOTE_ADDR=ip).json()["passwordResetToken"]
    assert change("guess-1")["message"] == rules.PASSWORD_NOT_UPDATED
    assert change("guess-2")["message"] == rules.PASSWORD_NOT_UPDATED
    assert change(real)["message"] == errors.TOO_MANY_REQUESTS
    assert check_password("bob pw", AppUser.objects.get(username="bob").password)


def test_the_api_reference_documents_every_userauth_method_and_error(client, db):
    page = client.get("/docs/api/").content.decode()
    for name in ("Login", "Register", "Associate", "Dissociate", "GetUsers", "ChangePassword",
                 "ResetPasswordToken", "RemoveUser"):
        assert f"/api/userauth/{name}" in page
    for message in (rules.NO_CREDENTIALS, rules.AUTHENTICATION_FAILED, rules.USERNAME_TAKEN,
                    rules.USERNAME_UNKNOWN, rules.CUSTOMER_NOT_FOUND,
                    rules.PASSWORD_NOT_UPDATED):
        assert message in page
