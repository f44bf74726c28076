import csv
import io

from django.urls import reverse

from apps.audit.models import ObjectLogEntry
from apps.licensing.models import Customer

from ..factories import CustomerFactory

CUSTOMER_FORM = {"name": "Ada Lovelace", "email": "ada@example.org",
                 "company_name": "Analytical Engines", "notes": "met at a fair"}


def test_customer_list_shows_the_vendors_customers_with_key_counts(tenant, read_only_client):
    response = read_only_client.get(reverse("vendor_portal:customer_list"))
    assert response.status_code == 200
    listed = list(response.context["page"])
    assert [(c.pk, c.key_count) for c in listed] == [(tenant.customer.pk, 1)]
    assert tenant.customer.email in response.content.decode()


def test_customer_search_matches_name_email_company_and_notes(tenant, owner_client):
    target = CustomerFactory(vendor=tenant.vendor, name="Grace Hopper",
                             email="grace@navy.example", company_name="COBOL Inc",
                             notes="prefers phone")
    url = reverse("vendor_portal:customer_list")
    for query in ("hopper", "navy.example", "cobol", "phone"):
        found = [c.pk for c in owner_client.get(url, {"q": query}).context["page"]]
        assert found == [target.pk], query


def test_customer_list_exports_csv(tenant, owner_client):
    response = owner_client.get(reverse("vendor_portal:customer_list"), {"format": "csv"})
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["ID", "Name", "E-mail", "Company", "Keys", "Created", "Notes"]
    assert rows[1][:5] == [str(tenant.customer.pk), tenant.customer.name,
                           tenant.customer.email, tenant.customer.company_name, "1"]


def test_owner_creates_a_customer(tenant, owner_client):
    response = owner_client.post(reverse("vendor_portal:customer_create"), CUSTOMER_FORM)
    customer = Customer.objects.get(vendor=tenant.vendor, name="Ada Lovelace")
    assert response.status_code == 302
    assert response["Location"] == reverse("vendor_portal:customer_detail", args=[customer.pk])
    assert (customer.email, customer.company_name, customer.notes) == (
        "ada@example.org", "Analytical Engines", "met at a fair")
    assert ObjectLogEntry.objects.for_object(customer).get().actor_label == tenant.owner.email


def test_customer_without_name_email_or_company_is_refused(tenant, owner_client):
    response = owner_client.post(reverse("vendor_portal:customer_create"),
                                 {"name": "", "email": "", "company_name": "", "notes": "x"})
    assert response.status_code == 200
    assert response.context["form"].non_field_errors()
    assert Customer.objects.filter(vendor=tenant.vendor).count() == 1


def test_admin_edits_a_customer(tenant, admin_client_):
    url = reverse("vendor_portal:customer_edit", args=[tenant.customer.pk])
    assert admin_client_.get(url).context["form"].initial["name"] == tenant.customer.name
    response = admin_client_.post(url, {**CUSTOMER_FORM, "name": "Renamed Ltd"})
    assert response.status_code == 302
    tenant.customer.refresh_from_db()
    assert (tenant.customer.name, tenant.customer.email) == ("Renamed Ltd", "ada@example.org")


def test_customer_with_a_bad_email_is_not_saved(tenant, owner_client):
    url = reverse("vendor_portal:customer_edit", args=[tenant.customer.pk])
    response = owner_client.post(url, {**CUSTOMER_FORM, "email": "not-an-address"})
    assert response.status_code == 200
    assert "email" in response.context["form"].errors
    old_email = tenant.customer.email
    tenant.customer.refresh_from_db()
    assert tenant.customer.email == old_email


def test_customer_detail_lists_the_customers_keys(tenant, read_only_client):
    response = read_only_client.get(
        reverse("vendor_portal:customer_detail", args=[tenant.customer.pk]))
    assert response.status_code == 200
    assert [k.pk for k in response.context["keys"]] == [tenant.key.pk]
    assert tenant.key.key in response.content.decode()


def test_a_customer_without_any_detail_gets_a_form_error(tenant, owner_client):
    before = tenant.vendor.customers.count()
    response = owner_client.post(reverse("vendor_portal:customer_create"), {"notes": "x"})
    assert response.status_code == 200
    assert "Give the customer a name, an e-mail address or a company." in \
        response.content.decode()
    assert tenant.vendor.customers.count() == before


# --- The permission to deactivate devices: granted in one place, stated the same everywhere. ---


def _invitation_link(owner_client, customer, **data):
    import re

    response = owner_client.post(
        reverse("vendor_portal:customer_invitation_create", args=[customer.pk]),
        {"expires_in_days": 7, **data})
    assert response.status_code == 200
    token = re.search(r"/portal/join/([\w-]+)/", response.content.decode()).group(1)
    return response.content.decode(), reverse("customer_portal:join", args=[token])


def test_an_invitation_with_the_permission_lets_the_joined_user_deactivate(tenant,
                                                                          owner_client):
    """The customer did not allow activation management: granting the permission in the
    invitation turns it on, so the user joins with what the invitation promised."""
    from django.test import Client

    from apps.licensing.models import CustomerMembership
    from tests.factories import UserFactory

    customer = tenant.customer
    assert not customer.allow_activation_management
    created, join_url = _invitation_link(owner_client, customer, can_manage_activations="on")
    assert "with permission to deactivate devices" in created
    customer.refresh_from_db()
    assert customer.allow_activation_management
    assert ObjectLogEntry.objects.for_object(customer).filter(
        action="updated", changes__allow_activation_management=[False, True]).exists()

    invitee = Client()
    invitee.force_login(UserFactory(email="it@customer.example"))
    page = invitee.get(join_url).content.decode()
    assert "You will be allowed to deactivate devices." in page
    invitee.post(join_url)
    assert CustomerMembership.objects.get(customer=customer).may_deactivate
    response = invitee.post(reverse("customer_portal:device_deactivate"),
                            {"activation": [tenant.activation.pk]})
    assert response.status_code == 302
    assert not tenant.key.activations.filter(pk=tenant.activation.pk).exists()
    detail = owner_client.get(reverse("vendor_portal:customer_detail", args=[customer.pk]))
    assert "On: portal users with the permission may deactivate devices" in \
        detail.content.decode()


def test_turning_the_customer_off_later_makes_every_page_say_read_only(tenant, owner_client):
    from django.test import Client

    from apps.licensing.models import CustomerMembership
    from tests.factories import UserFactory

    customer = tenant.customer
    _, join_url = _invitation_link(owner_client, customer, can_manage_activations="on")
    Customer.objects.filter(pk=customer.pk).update(allow_activation_management=False)

    invitee = Client()
    invitee.force_login(UserFactory())
    page = invitee.get(join_url).content.decode()
    assert "You will be allowed to deactivate devices" not in page
    assert "You will see licenses and devices but not deactivate them" in page
    invitee.post(join_url)
    assert not CustomerMembership.objects.get(customer=customer).may_deactivate
    detail = owner_client.get(reverse("vendor_portal:customer_detail", args=[customer.pk]))
    html = detail.content.decode()
    assert "Off: every portal user is read-only" in html
    assert "No <span class=\"muted\">(off for this customer)</span>" in html  # the link
    assert "activation management is off for this customer; Allow turns it on" in html


def test_allowing_a_portal_user_turns_activation_management_on(tenant, owner_client):
    from apps.licensing.models import CustomerMembership
    from tests.factories import UserFactory

    member = CustomerMembership.objects.create(customer=tenant.customer, user=UserFactory())
    response = owner_client.post(
        reverse("vendor_portal:portal_user_permission", args=[member.pk]),
        {"can_manage_activations": "true"}, follow=True)
    member.refresh_from_db()
    assert member.may_deactivate
    assert f"{member.user.email} may deactivate devices" in response.content.decode()


def test_an_invitation_without_the_permission_leaves_the_customer_alone(tenant, owner_client):
    created, _ = _invitation_link(owner_client, tenant.customer)
    assert ", read-only." in created
    tenant.customer.refresh_from_db()
    assert not tenant.customer.allow_activation_management
    assert 'data-copy="#portal-link"' in created


def test_the_form_sets_and_clears_multiple_user_association(tenant, owner_client):
    edit = reverse("vendor_portal:customer_edit", args=[tenant.customer.pk])
    page = owner_client.get(edit).content.decode()
    assert 'name="allow_multiple_user_association"' in page
    assert "Several users of your application" in page

    owner_client.post(edit, {**CUSTOMER_FORM, "allow_multiple_user_association": "on"})
    tenant.customer.refresh_from_db()
    assert tenant.customer.allow_multiple_user_association
    assert ObjectLogEntry.objects.for_object(tenant.customer).filter(
        action="updated", changes__allow_multiple_user_association=[False, True]).exists()
    assert owner_client.get(edit).context["form"]["allow_multiple_user_association"].value()

    owner_client.post(edit, CUSTOMER_FORM)  # an unticked box clears it
    tenant.customer.refresh_from_db()
    assert not tenant.customer.allow_multiple_user_association

    owner_client.post(reverse("vendor_portal:customer_create"),
                      {**CUSTOMER_FORM, "name": "Many Users Inc",
                       "allow_multiple_user_association": "on"})
    assert Customer.objects.get(name="Many Users Inc").allow_multiple_user_association
