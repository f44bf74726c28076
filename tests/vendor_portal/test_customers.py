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
