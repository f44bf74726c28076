import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.test import RequestFactory
from django.utils import timezone

from apps import access
from apps.accounts.models import Reseller, Role
from apps.accounts.services import invitation_create
from apps.audit.log import Actor
from apps.licensing import services
from apps.licensing.models import CustomerMembership

from .factories import UserFactory, add_member, make_activation, make_key

MISSING = 10**9


def _token(tenant):
    return services.token_create(vendor=tenant.vendor, actor=Actor.for_system(), name="t",
                                 permissions=["key.GetKey"])[0]


def _invitation(tenant):
    return invitation_create(vendor=tenant.vendor, invited_by=tenant.owner,
                             email=f"guest-{tenant.vendor.pk}@example.com", role=Role.READ_ONLY,
                             accept_url_template="https://portal.test/{token}")


# (access function, how to get the tenant's object, lowest level that reads it)
TOP_LEVEL = {
    "product": (access.access_product, lambda t: t.product),
    "key": (access.access_key, lambda t: t.key),
    "customer": (access.access_customer, lambda t: t.customer),
    "token": (access.access_token, _token),
}
OWNER_ONLY = {
    "member": (access.access_member, lambda t: t.membership(t.admin)),
    "invitation": (access.access_invitation, _invitation),
}


@pytest.mark.parametrize("name", TOP_LEVEL)
def test_member_gets_own_object_at_read_level(tenant, name):
    fn, get = TOP_LEVEL[name]
    obj = get(tenant)
    for user in (tenant.owner, tenant.admin, tenant.read_only):
        assert fn(tenant.membership(user), obj.pk) == obj


@pytest.mark.parametrize("name", TOP_LEVEL)
def test_writers_get_own_object_at_write_level(tenant, name):
    fn, get = TOP_LEVEL[name]
    obj = get(tenant)
    assert fn(tenant.membership(tenant.owner), obj.pk, level="write") == obj
    assert fn(tenant.membership(tenant.admin), obj.pk, level="write") == obj


@pytest.mark.parametrize("name", [*TOP_LEVEL, *OWNER_ONLY])
def test_other_vendors_object_is_404(tenant, other_tenant, name):
    fn, get = {**TOP_LEVEL, **OWNER_ONLY}[name]
    foreign = get(other_tenant)
    with pytest.raises(Http404):
        fn(tenant.membership(tenant.owner), foreign.pk)


@pytest.mark.parametrize("name", [*TOP_LEVEL, *OWNER_ONLY])
def test_missing_id_is_404(tenant, name):
    fn, _ = {**TOP_LEVEL, **OWNER_ONLY}[name]
    with pytest.raises(Http404):
        fn(tenant.membership(tenant.owner), MISSING)


@pytest.mark.parametrize("name", TOP_LEVEL)
def test_read_only_member_is_denied_write_level(tenant, name):
    fn, get = TOP_LEVEL[name]
    with pytest.raises(PermissionDenied):
        fn(tenant.membership(tenant.read_only), get(tenant).pk, level="write")


@pytest.mark.parametrize("name", TOP_LEVEL)
def test_level_is_checked_before_the_lookup(tenant, other_tenant, name):
    fn, get = TOP_LEVEL[name]
    with pytest.raises(PermissionDenied):
        fn(tenant.membership(tenant.read_only), get(other_tenant).pk, level="write")


@pytest.mark.parametrize("name", OWNER_ONLY)
def test_owner_only_objects(tenant, name):
    fn, get = OWNER_ONLY[name]
    obj = get(tenant)
    assert fn(tenant.membership(tenant.owner), obj.pk) == obj
    for user in (tenant.admin, tenant.read_only):
        with pytest.raises(PermissionDenied):
            fn(tenant.membership(user), obj.pk)


def test_owner_level_denies_admins_on_any_access(tenant):
    with pytest.raises(PermissionDenied):
        access.access_product(tenant.membership(tenant.admin), tenant.product.pk, level="owner")
    assert access.access_product(tenant.membership(tenant.owner), tenant.product.pk,
                                 level="owner") == tenant.product


def test_activation_is_found_only_under_its_own_key(tenant, other_tenant):
    membership = tenant.membership(tenant.read_only)
    assert access.access_activation(membership, tenant.key, tenant.activation.pk) == \
        tenant.activation
    sibling = make_key(tenant.product)
    make_activation(sibling, "sibling-machine")
    with pytest.raises(Http404):
        access.access_activation(membership, sibling, tenant.activation.pk)
    with pytest.raises(Http404):
        access.access_activation(membership, tenant.key, other_tenant.activation.pk)
    with pytest.raises(Http404):
        access.access_activation(membership, tenant.key, MISSING)
    with pytest.raises(PermissionDenied):
        access.access_activation(membership, tenant.key, tenant.activation.pk, level="write")
    assert access.access_activation(tenant.membership(tenant.admin), tenant.key,
                                    tenant.activation.pk, level="write") == tenant.activation


def test_data_object_is_found_only_under_its_own_key(tenant, other_tenant):
    membership = tenant.membership(tenant.read_only)
    assert access.access_data_object(membership, tenant.key, tenant.data_object.pk) == \
        tenant.data_object
    sibling = make_key(tenant.product)
    with pytest.raises(Http404):
        access.access_data_object(membership, sibling, tenant.data_object.pk)
    with pytest.raises(Http404):
        access.access_data_object(membership, tenant.key, other_tenant.data_object.pk)
    with pytest.raises(Http404):
        access.access_data_object(membership, tenant.key, MISSING)
    with pytest.raises(PermissionDenied):
        access.access_data_object(membership, tenant.key, tenant.data_object.pk, level="write")


def test_membership_in_a_second_vendor_does_not_leak_into_the_first(tenant, other_tenant):
    # The owner of B is also read-only in A: acting as A they still cannot reach B's key.
    add_member(tenant.vendor, Role.READ_ONLY, user=other_tenant.owner)
    in_a = tenant.membership(other_tenant.owner)
    with pytest.raises(Http404):
        access.access_key(in_a, other_tenant.key.pk)
    assert access.access_key(in_a, tenant.key.pk) == tenant.key


def _request(user):
    request = RequestFactory().get("/")
    request.user = user
    request.session = SessionStore()
    return request


def test_choose_vendor_switches_only_to_own_vendors(tenant, other_tenant):
    add_member(other_tenant.vendor, Role.ADMIN, user=tenant.owner)
    request = _request(tenant.owner)
    assert access.current_membership(request).vendor == tenant.vendor
    assert access.choose_vendor(request, other_tenant.vendor.pk).vendor == other_tenant.vendor
    assert access.current_membership(request).vendor == other_tenant.vendor
    stranger = _request(tenant.read_only)
    with pytest.raises(Http404):
        access.choose_vendor(stranger, other_tenant.vendor.pk)
    assert access.current_membership(stranger).vendor == tenant.vendor


# --- The header's links to the other portals: one statement (access.other_portals_of) that
# must say what customer_memberships_of and resellerships_of say.

@pytest.mark.parametrize(("belongs", "resells", "expected"), [
    ("none", "none", (False, False)),
    ("member", "none", (True, False)),
    ("none", "invited", (False, False)),  # an invitation not accepted yet is no reseller
    ("none", "accepted", (False, True)),
    ("member", "accepted", (True, True)),
])
def test_the_headers_portal_links_agree_with_the_memberships(tenant, other_tenant, belongs,
                                                             resells, expected):
    user = UserFactory()
    if belongs == "member":
        CustomerMembership.objects.create(customer=tenant.customer, user=user)
    if resells != "none":
        Reseller.objects.create(vendor=other_tenant.vendor, user=user, name="R",
                                email=user.email,
                                accepted_at=timezone.now() if resells == "accepted" else None)
    request = RequestFactory().get("/")
    request.user = user

    links = access.other_portals_of(request)

    assert links == expected
    assert links == (bool(access.customer_memberships_of(user)),
                     bool(access.resellerships_of(user)))
