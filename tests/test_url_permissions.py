"""Who gets what on every vendor-portal URL: a matrix of URL x persona -> status.

Personas: anonymous, the vendor's owner, an admin, a read-only member, and the owner of
another vendor (who must get 404, never 403, on this vendor's objects). Every request runs in a
savepoint that is rolled back, so each persona meets the same data and one test per persona can
walk every URL. A denied request must leave no trace in the object log; an allowed write must
leave one, which also proves the POST data of the row is valid.
"""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import get_resolver, reverse

from apps.accounts.models import Membership, Reseller, Vendor
from apps.licensing.models import (
    ActivationForm,
    CustomerMembership,
    IssuanceRight,
    LicenseTemplate,
    SigningKey,
)
from apps.licensing.services.portal import portal_link_create
from tests.matrix import (
    LOGIN,
    csrf_problems,
    get_problems,
    login_redirect,
    mismatch,
    rolled_back,
    url_names_in,
)

from .vendor_matrix import (
    NOT_ALLOWED,
    OWNER_OBJECT_POST,
    PERSONAS,
    READ_OBJECT,
    WRITE_OBJECT_PAGE,
    WRITE_OBJECT_POST,
    WRITE_PAGE,
    Row,
    World,
)
from .vendor_matrix_anomalies import ROWS as ANOMALY_ROWS
from .vendor_matrix_app_users import ROWS as APP_USER_ROWS
from .vendor_matrix_license_server import ROWS as LICENSE_SERVER_ROWS
from .vendor_matrix_messages import ROWS as MESSAGE_ROWS
from .vendor_matrix_notifications import ROWS as NOTIFICATION_ROWS
from .vendor_matrix_payments import ROWS as PAYMENT_ROWS
from .vendor_matrix_sdk import ROWS as SDK_ROWS
from .vendor_matrix_webhooks import ROWS as WEBHOOK_ROWS


def _product(w: World) -> dict:
    return {"product_id": w.tenant.product.pk}


def _key(w: World) -> dict:
    return {"key_id": w.tenant.key.pk}


def _customer(w: World) -> dict:
    return {"customer_id": w.tenant.customer.pk}


def _data_object(w: World) -> dict:
    return {"key_id": w.tenant.key.pk, "data_object_id": w.tenant.data_object.pk}


def _portal_user(w: World) -> dict:
    return {"member_id": w.portal_user_id}


def _read_only_member(w: World) -> dict:
    return {"member_id": w.tenant.membership(w.tenant.read_only).pk}


def _activation_form(w: World) -> dict:
    form = ActivationForm.objects.filter(product=w.tenant.product).first() or \
        ActivationForm.objects.create(product=w.tenant.product, title="Matrix form")
    return {"form_id": form.pk}


def _reseller_objects(w: World) -> tuple[Reseller, LicenseTemplate, IssuanceRight]:
    """A reseller of the tenant with one right on a template (made once, outside savepoints)."""
    template = LicenseTemplate.objects.get_or_create(product=w.tenant.product,
                                                     name="Matrix template")[0]
    reseller = Reseller.objects.get_or_create(vendor=w.tenant.vendor, name="Matrix reseller",
                                              email="matrix@reseller.example")[0]
    right = IssuanceRight.objects.get_or_create(reseller=reseller, template=template,
                                                defaults={"quota": 5})[0]
    return reseller, template, right


def _previous_signing_key(w: World) -> dict:
    """A superseded (listed, inactive) signing key of the tenant, made once."""
    active = w.tenant.vendor.signing_key
    key = SigningKey.objects.filter(vendor=w.tenant.vendor, active_for__isnull=True).first() or \
        SigningKey.objects.create(vendor=w.tenant.vendor, public_key_pem=active.public_key_pem,
                                  private_key_encrypted=active.private_key_encrypted)
    return {"signing_key_id": key.pk}


def _spare_product(w: World) -> dict:
    """A product of the tenant without keys or templates, made once: one whose deletion no
    reseller right refuses, and whose name needs no typing."""
    from apps.licensing.models import Product

    return {"product_id": Product.objects.get_or_create(vendor=w.tenant.vendor,
                                                        name="Matrix spare product")[0].pk}


def _template(w: World) -> dict:
    return {"template_id": _reseller_objects(w)[1].pk}


def _reseller(w: World) -> dict:
    return {"reseller_id": _reseller_objects(w)[0].pk}


def _right(w: World) -> dict:
    return {"right_id": _reseller_objects(w)[2].pk}


TEMPLATE_DATA = {"name": "Matrix template 2", "period": 30, "max_no_of_machines": 2,
                 "automatic_activation": "on", "floating_time_interval": 0, "max_overdraft": 0,
                 "data_objects": "seats=5"}
PRODUCT_DATA = {"name": "Renamed", "default_max_machines": 1, "trial_period_days": 15,
                "trial_max_machines": 1, "trial_feature": 0, "time_limited_feature": 0}
KEY_DATA = {"max_no_of_machines": 3, "notes": "edited", "automatic_activation": "on"}
ACTIVATION_FORM_DATA = {"title": "Renamed form", "file_format": "string", "validity_days": 30,
                        "allow_new_devices": "on", "enabled": "on"}

MATRIX: dict[str, Row] = {
    "dashboard": Row(),
    # Switching only changes the session, so any member may; a vendor one is not in is 404.
    "switch_vendor": Row(kwargs=lambda w: {"vendor_id": w.tenant.vendor.pk}, get=NOT_ALLOWED,
                         post=(LOGIN, 302, 302, 302, 404), writes=False),
    "product_list": Row(),
    "product_create": Row(get=WRITE_PAGE, post=(LOGIN, 302, 302, 403, 302),
                          data=lambda w: PRODUCT_DATA),
    "product_edit": Row(kwargs=_product, get=WRITE_OBJECT_PAGE, post=WRITE_OBJECT_POST,
                        data=lambda w: PRODUCT_DATA),
    # Deletions: a confirmation page (GET), then POST deletes.
    "product_delete": Row(kwargs=_spare_product, get=WRITE_OBJECT_PAGE, post=WRITE_OBJECT_POST,
                          data=lambda w: {"confirmed_keys": 0}),
    "key_delete": Row(kwargs=_key, get=WRITE_OBJECT_PAGE, post=WRITE_OBJECT_POST),
    "customer_delete": Row(kwargs=_customer, get=WRITE_OBJECT_PAGE, post=WRITE_OBJECT_POST),
    "key_list": Row(kwargs=_product, get=READ_OBJECT),
    "key_create": Row(kwargs=_product, get=WRITE_OBJECT_PAGE, post=WRITE_OBJECT_POST,
                      data=lambda w: {**KEY_DATA, "count": 1, "period": 30}),
    "key_detail": Row(kwargs=_key, get=READ_OBJECT),
    "key_edit": Row(kwargs=_key, get=WRITE_OBJECT_PAGE, post=WRITE_OBJECT_POST,
                    data=lambda w: KEY_DATA),
    "key_block": Row(kwargs=_key, get=NOT_ALLOWED, post=WRITE_OBJECT_POST,
                     data=lambda w: {"block": "1"}),
    "key_extend": Row(kwargs=_key, get=WRITE_OBJECT_PAGE, post=WRITE_OBJECT_POST,
                      data=lambda w: {"days": 30}),
    "key_log": Row(kwargs=_key, get=READ_OBJECT),
    # The file is the response itself; making it for a new device activates that device.
    "license_file": Row(kwargs=_key, get=WRITE_OBJECT_PAGE, post=(LOGIN, 200, 200, 403, 404),
                        data=lambda w: {"machine_code": "matrix-pc", "custom_code": "on",
                                        "file_format": "string",
                                        "validity_days": 30}),
    "bulk_activation": Row(kwargs=_key, get=WRITE_OBJECT_PAGE, post=WRITE_OBJECT_POST,
                           data=lambda w: {"lines": "bulk-pc\tPC", "action": "commit"}),
    "activation_deactivate": Row(
        kwargs=lambda w: {"key_id": w.tenant.key.pk, "activation_id": w.tenant.activation.pk},
        get=NOT_ALLOWED, post=WRITE_OBJECT_POST),
    "key_devices_deactivate": Row(kwargs=_key, get=NOT_ALLOWED, post=WRITE_OBJECT_POST,
                                  data=lambda w: {"activation": [w.tenant.activation.pk]}),
    "data_object_add": Row(kwargs=_key, get=WRITE_OBJECT_PAGE, post=WRITE_OBJECT_POST,
                           data=lambda w: {"name": "seats", "int_value": 5}),
    "data_object_edit": Row(kwargs=_data_object, get=WRITE_OBJECT_PAGE, post=WRITE_OBJECT_POST,
                            data=lambda w: {"name": "usage", "int_value": 4}),
    "data_object_delete": Row(kwargs=_data_object, get=NOT_ALLOWED, post=WRITE_OBJECT_POST),
    "activation_form_list": Row(kwargs=_product, get=READ_OBJECT),
    "activation_form_create": Row(kwargs=_product, get=WRITE_OBJECT_PAGE, post=WRITE_OBJECT_POST,
                                  data=lambda w: ACTIVATION_FORM_DATA),
    "activation_form_edit": Row(kwargs=_activation_form, get=WRITE_OBJECT_PAGE,
                                post=WRITE_OBJECT_POST, data=lambda w: ACTIVATION_FORM_DATA),
    "activation_form_delete": Row(kwargs=_activation_form, get=NOT_ALLOWED,
                                  post=WRITE_OBJECT_POST),
    "template_list": Row(kwargs=_product, get=READ_OBJECT),
    "template_create": Row(kwargs=_product, get=WRITE_OBJECT_PAGE, post=WRITE_OBJECT_POST,
                           data=lambda w: TEMPLATE_DATA),
    "template_edit": Row(kwargs=_template, get=WRITE_OBJECT_PAGE, post=WRITE_OBJECT_POST,
                         data=lambda w: TEMPLATE_DATA),
    "reseller_list": Row(),
    # A sent invitation's link is shown on the response itself (200), to copy.
    "reseller_invite": Row(get=WRITE_PAGE, post=(LOGIN, 200, 200, 403, 200),
                           data=lambda w: {"name": "Partner", "email": "p@partner.example"}),
    "reseller_detail": Row(kwargs=_reseller, get=READ_OBJECT),
    "reseller_log": Row(kwargs=_reseller, get=READ_OBJECT),
    "reseller_invitation_resend": Row(kwargs=_reseller, get=NOT_ALLOWED,
                                      post=(LOGIN, 200, 200, 403, 404)),
    "right_grant": Row(kwargs=_reseller, get=WRITE_OBJECT_PAGE, post=WRITE_OBJECT_POST,
                       data=lambda w: {"template": _reseller_objects(w)[1].pk, "quota": 3}),
    "right_change": Row(kwargs=_right, get=NOT_ALLOWED, post=WRITE_OBJECT_POST,
                        data=lambda w: {"action": "pause"}),
    "billing_report": Row(),
    "customer_list": Row(),
    "customer_create": Row(get=WRITE_PAGE, post=(LOGIN, 302, 302, 403, 302),
                           data=lambda w: {"name": "New customer"}),
    "customer_detail": Row(kwargs=_customer, get=READ_OBJECT),
    "customer_edit": Row(kwargs=_customer, get=WRITE_OBJECT_PAGE, post=WRITE_OBJECT_POST,
                         data=lambda w: {"name": "Renamed customer", "max_no_of_devices": 5}),
    # A created portal link is shown on the response itself (200), like a token.
    "customer_invitation_create": Row(
        kwargs=_customer, get=WRITE_OBJECT_PAGE, post=(LOGIN, 200, 200, 403, 404),
        data=lambda w: {"can_manage_activations": "on", "expires_in_days": 7}),
    "portal_user_permission": Row(kwargs=_portal_user, get=NOT_ALLOWED, post=WRITE_OBJECT_POST,
                                  data=lambda w: {"can_manage_activations": "true"}),
    "portal_user_remove": Row(kwargs=_portal_user, get=NOT_ALLOWED, post=WRITE_OBJECT_POST),
    "portal_link_list": Row(),
    "portal_link_create": Row(get=WRITE_PAGE, post=(LOGIN, 200, 200, 403, 200),
                              data=lambda w: {"name": "Website", "expires_in_days": 30}),
    "portal_link_revoke": Row(kwargs=lambda w: {"link_id": w.portal_link_id}, get=NOT_ALLOWED,
                              post=WRITE_OBJECT_POST),
    "token_list": Row(),
    # A created token is shown on the response itself (200), never behind a redirect.
    "token_create": Row(get=WRITE_PAGE, post=(LOGIN, 200, 200, 403, 200),
                        data=lambda w: {"name": "CI", "permissions": ["key.GetKey"]}),
    "token_revoke": Row(kwargs=lambda w: {"token_id": w.token_id}, get=NOT_ALLOWED,
                        post=WRITE_OBJECT_POST),
    "security": Row(),
    # Signing keys: owners only; another vendor's owner adds a key to his own vendor.
    "signing_key_rotate": Row(get=NOT_ALLOWED, post=(LOGIN, 302, 403, 403, 302)),
    "signing_key_retire": Row(kwargs=_previous_signing_key, get=NOT_ALLOWED,
                              post=OWNER_OBJECT_POST),
    "object_log": Row(),
    "webapi_log": Row(),
    "usage_report": Row(),
    "floating_report": Row(),
    # Condenses the log into seat sessions: derived data, no object-log entry.
    "floating_catch_up": Row(get=NOT_ALLOWED, post=(LOGIN, 302, 302, 302, 302), writes=False),
    # Scripts for customer IT: the same files for every vendor, so any member may fetch them.
    "machine_code_tools": Row(),
    "tools": Row(get=(LOGIN, 302, 302, 302, 302)),  # /tools/ opens its only tool so far
    "machine_code_script": Row(kwargs=lambda w: {"name": "machinecode.sh"}),
    "member_list": Row(),
    "member_invite": Row(get=(LOGIN, 200, 403, 403, 200), post=(LOGIN, 200, 403, 403, 200),
                         data=lambda w: {"email": "newcomer@example.com", "role": "read_only"}),
    "member_role": Row(kwargs=_read_only_member, get=NOT_ALLOWED, post=OWNER_OBJECT_POST,
                       data=lambda w: {"role": "admin"}),
    "member_remove": Row(kwargs=_read_only_member, get=NOT_ALLOWED, post=OWNER_OBJECT_POST),
    "invitation_revoke": Row(kwargs=lambda w: {"invitation_id": w.invitation_id},
                             get=NOT_ALLOWED, post=OWNER_OBJECT_POST),
    # Sends a new link and shows it (200); owners only, like the invitation itself.
    "invitation_resend": Row(kwargs=lambda w: {"invitation_id": w.invitation_id},
                             get=NOT_ALLOWED, post=(LOGIN, 200, 403, 403, 404)),
}
MATRIX |= ANOMALY_ROWS | LICENSE_SERVER_ROWS | APP_USER_ROWS
MATRIX |= MESSAGE_ROWS
MATRIX |= PAYMENT_ROWS
MATRIX |= NOTIFICATION_ROWS
MATRIX |= WEBHOOK_ROWS
MATRIX |= SDK_ROWS
# Public: the token in the path is the credential. Tested on its own below.
PUBLIC = {"invitation_accept"}
# Any logged-in person, vendor or not: where people who belong to no vendor start one.
LOGGED_IN = {"organisation_create"}
# The development mailbox: anyone, signed in or not, where DEBUG is on and the development mail
# backend keeps the mail; 404 for everyone elsewhere. Its own matrix is below.
DEVELOPMENT = {"devmail_list", "devmail_detail"}


@pytest.fixture
def world(tenant, other_tenant, tenant_token, tenant_invitation) -> World:
    from .factories import UserFactory

    portal_user = CustomerMembership.objects.create(customer=tenant.customer,
                                                    user=UserFactory())
    link, _ = portal_link_create(vendor=tenant.vendor, actor=tenant.owner,
                                 customer=tenant.customer)
    return World(tenant, other_tenant, tenant_token.token.pk, tenant_invitation.invitation.pk,
                 portal_user.pk, link.pk)


def _client(world: World, persona: str) -> Client:
    client = Client()
    user = {"owner": world.tenant.owner, "admin": world.tenant.admin,
            "read_only": world.tenant.read_only, "other": world.other.owner}.get(persona)
    if user is not None:
        client.force_login(user)
    return client


@pytest.mark.parametrize("persona", PERSONAS)
def test_get_status_of_every_url(persona, world):
    client, column = _client(world, persona), PERSONAS.index(persona)
    assert get_problems(client, MATRIX, column, url_of=lambda name, row: reverse(
        f"vendor_portal:{name}", kwargs=row.kwargs(world))) == []


@pytest.mark.parametrize("persona", PERSONAS)
def test_post_status_of_every_write_url(persona, world):
    client, column = _client(world, persona), PERSONAS.index(persona)
    problems = []
    for name, row in MATRIX.items():
        if row.post is None:
            continue
        url, expected = reverse(f"vendor_portal:{name}", kwargs=row.kwargs(world)), row.post[column]
        response, logged = rolled_back(lambda: client.post(url, row.data(world)))
        problems.append(mismatch(name, "POST", expected, response, url))
        allowed = expected in (200, 302)
        writes = row.writes if isinstance(row.writes, bool) else row.writes[column]
        if allowed and writes and not logged:
            problems.append(f"{name} POST was allowed but changed nothing")
        if not allowed and logged:
            problems.append(f"{name} POST was refused but wrote {logged} object-log entries")
    assert [p for p in problems if p] == []


def test_posts_without_a_csrf_token_are_refused(world):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.tenant.owner)
    assert csrf_problems(
        client, MATRIX,
        url_of=lambda name, row: reverse(f"vendor_portal:{name}", kwargs=row.kwargs(world)),
        data_of=lambda row: row.data(world)) == []


def test_every_vendor_portal_url_has_a_row_in_the_matrix():
    names = url_names_in("vendor_portal")
    assert names, "no vendor_portal URLs found: is the URLconf still included?"
    assert names - set(MATRIX) - PUBLIC - LOGGED_IN - DEVELOPMENT == set(), \
        "add these URLs to MATRIX"
    assert (set(MATRIX) | PUBLIC | LOGGED_IN | DEVELOPMENT) - names == set(), \
        "these MATRIX rows name no URL"


def test_every_non_public_view_declares_its_access_level(world):
    """The permission decorator on the def line is what makes a view's rule visible."""
    resolver = get_resolver()
    undeclared = [
        name for name, row in MATRIX.items()
        if not hasattr(resolver.resolve(reverse(f"vendor_portal:{name}",
                                                kwargs=row.kwargs(world))).func, "access_level")
    ]
    assert undeclared == []


# --- Mixed ids: an object of this vendor reached through another vendor's parent, or back. ---


def test_own_key_with_another_vendors_activation_is_404(tenant, other_tenant, owner_client):
    url = reverse("vendor_portal:activation_deactivate", kwargs={
        "key_id": tenant.key.pk, "activation_id": other_tenant.activation.pk})
    assert owner_client.post(url).status_code == 404
    assert other_tenant.key.activations.filter(pk=other_tenant.activation.pk).exists()


def test_own_key_with_another_vendors_activations_frees_none_of_them(tenant, other_tenant,
                                                                      owner_client):
    url = reverse("vendor_portal:key_devices_deactivate", kwargs={"key_id": tenant.key.pk})
    assert owner_client.post(url, {"activation": [other_tenant.activation.pk]}
                             ).status_code == 302
    assert other_tenant.key.activations.filter(pk=other_tenant.activation.pk).exists()
    assert tenant.key.activations.filter(pk=tenant.activation.pk).exists()


def test_own_key_with_another_vendors_data_object_is_404(tenant, other_tenant, owner_client):
    kwargs = {"key_id": tenant.key.pk, "data_object_id": other_tenant.data_object.pk}
    assert owner_client.get(reverse("vendor_portal:data_object_edit", kwargs=kwargs)
                            ).status_code == 404
    assert owner_client.post(reverse("vendor_portal:data_object_delete", kwargs=kwargs)
                             ).status_code == 404
    assert other_tenant.key.data_objects.filter(pk=other_tenant.data_object.pk).exists()


def test_data_object_of_another_key_of_the_same_vendor_is_404(tenant, owner_client):
    from .factories import make_key

    second_key = make_key(tenant.product)
    url = reverse("vendor_portal:data_object_edit", kwargs={
        "key_id": second_key.pk, "data_object_id": tenant.data_object.pk})
    assert owner_client.get(url).status_code == 404


def test_other_vendor_sees_nothing_of_this_vendor_on_list_pages(tenant, other_vendor_client):
    tenant.product.name = "Zebra Unique Product"
    tenant.product.save()
    tenant.customer.name = "Unique Customer Yak"
    tenant.customer.save()
    secrets = [tenant.key.key, tenant.product.name, tenant.customer.name, tenant.owner.email,
               tenant.vendor.name]
    for name in ("dashboard", "product_list", "customer_list", "token_list", "object_log",
                 "member_list", "security", "webapi_log"):
        content = other_vendor_client.get(reverse(f"vendor_portal:{name}")).content.decode()
        leaked = [s for s in secrets if s in content]
        assert leaked == [], f"{name} shows {leaked}"


def test_member_of_no_vendor_is_asked_to_create_an_organisation(db):
    from .factories import UserFactory

    client = Client()
    client.force_login(UserFactory())
    response = client.get(reverse("vendor_portal:key_list", args=[1]))
    assert response.status_code == 302
    assert response["Location"] == reverse("vendor_portal:organisation_create")


def test_customer_portal_users_are_sent_to_their_portal_from_every_vendor_url(world):
    """A customer's IT admin (with the deactivation permission) is no vendor member: every
    vendor page, read or write, sends them to the customer portal and changes nothing."""
    admin = CustomerMembership.objects.get(pk=world.portal_user_id)
    admin.can_manage_activations = True
    admin.save()
    client = Client()
    client.force_login(admin.user)
    portal = (302, reverse("customer_portal:license_list"), 0)
    problems = []
    for name, row in MATRIX.items():
        url = reverse(f"vendor_portal:{name}", kwargs=row.kwargs(world))
        sends = [(client.get, (405, None, 0) if row.get == NOT_ALLOWED else portal)]
        if row.post is not None:
            sends.append((client.post, portal))
        for send, expected in sends:
            response, logged = rolled_back(lambda: send(url, row.data(world)))
            got = (response.status_code, response.get("Location"), logged)
            if got != expected:
                problems.append(f"{name} {send.__name__}: {got}")
    assert problems == []


# --- The development mailbox: DEBUG and the development mail backend, or 404. ---

DEVMAIL_PERSONAS = ("anonymous", "owner", "read_only", "other", "customer")


@pytest.mark.parametrize(("debug", "backend", "expected"), [
    (True, "apps.core.devmail.EmailBackend", 200),
    (False, "apps.core.devmail.EmailBackend", 404),
    (True, "django.core.mail.backends.smtp.EmailBackend", 404),
])
def test_development_mailbox_for_every_persona(world, settings, debug, backend, expected):
    from apps.core.models import SentMail

    mail = SentMail.objects.create(subject="Hello", from_email="a@example.com",
                                   to="b@example.com", body="Hi")
    settings.DEBUG, settings.EMAIL_BACKEND = debug, backend
    customer = CustomerMembership.objects.get(pk=world.portal_user_id).user
    problems = []
    for persona in DEVMAIL_PERSONAS:
        client = Client() if persona == "customer" else _client(world, persona)
        if persona == "customer":
            client.force_login(customer)
        for url in (reverse("vendor_portal:devmail_list"),
                    reverse("vendor_portal:devmail_detail", args=[mail.pk])):
            status = client.get(url).status_code
            if status != expected:
                problems.append(f"{persona} {url}: {status}")
    assert problems == []
    assert hasattr(get_resolver().resolve(reverse("vendor_portal:devmail_list")).func,
                   "access_level")


# --- Creating an organisation: any logged-in person. ---


def test_anonymous_is_sent_to_login_to_create_an_organisation(db):
    url = reverse("vendor_portal:organisation_create")
    for response in (Client().get(url), Client().post(url, {"organisation": "Sneaky"})):
        assert response.status_code == 302
        assert response["Location"] == login_redirect(url)
    assert not Vendor.objects.filter(name="Sneaky").exists()


def test_person_without_a_vendor_creates_an_organisation_they_own(db):
    from .factories import UserFactory

    user = UserFactory()
    client = Client()
    client.force_login(user)
    url = reverse("vendor_portal:organisation_create")
    assert client.get(url).status_code == 200

    response = client.post(url, {"organisation": "Fresh Start Ltd"})

    vendor = Vendor.objects.get(name="Fresh Start Ltd")
    assert response.status_code == 302
    assert response["Location"] == reverse("vendor_portal:dashboard")
    assert Membership.objects.get(vendor=vendor, user=user).is_owner
    assert client.get(reverse("vendor_portal:dashboard")).status_code == 200


def test_vendor_member_may_open_the_organisation_page_too(world):
    for persona in ("owner", "read_only", "other"):
        response = _client(world, persona).get(reverse("vendor_portal:organisation_create"))
        assert response.status_code == 200, persona


# --- The public invitation link. ---


def test_anonymous_opening_an_invitation_link_is_sent_to_login(tenant_invitation):
    response = Client().get(tenant_invitation.path)
    assert response.status_code == 302
    assert response["Location"] == login_redirect(tenant_invitation.path)


def test_unknown_invitation_token_is_404_for_anyone(tenant, owner_client):
    url = reverse("vendor_portal:invitation_accept", args=["not-a-real-token"])
    assert Client().get(url).status_code == 404
    assert owner_client.get(url).status_code == 404
    assert owner_client.post(url).status_code == 404


def test_revoked_invitation_link_is_404(tenant_invitation, owner_client):
    revoke = reverse("vendor_portal:invitation_revoke",
                     args=[tenant_invitation.invitation.pk])
    assert owner_client.post(revoke).status_code == 302
    assert Client().get(tenant_invitation.path).status_code == 404


def test_invitation_link_works_for_the_invited_user_only(tenant, tenant_invitation):
    from .factories import UserFactory

    invited, stranger = Client(), Client()
    invited.force_login(UserFactory(email="invitee@example.com"))
    stranger.force_login(UserFactory())
    assert invited.get(tenant_invitation.path).status_code == 200
    assert stranger.post(tenant_invitation.path).status_code == 200  # refused, with a message
    assert invited.post(tenant_invitation.path).status_code == 302
    assert Membership.objects.filter(vendor=tenant.vendor, user__email="invitee@example.com"
                                     ).exists()
    assert invited.get(tenant_invitation.path).status_code == 404  # used up
