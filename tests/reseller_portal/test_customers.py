"""A reseller's customers: their own and shared ones, and creating new ones."""

from __future__ import annotations

from django.urls import reverse
from pytest_django.asserts import assertContains, assertNotContains

from apps.audit.models import ObjectLogEntry
from apps.licensing.models import Customer
from apps.licensing.services.resellers import reseller_issue_key
from tests.factories import CustomerFactory

from .personas import SYSTEM

LIST = reverse("reseller_portal:customer_list")
NEW = reverse("reseller_portal:customer_create")


def _listed(response) -> list[str]:
    return [str(customer) for customer in response.context["page"]]


def test_customer_list_shows_own_and_shared_customers_only(resellers, reseller_client):
    shared = CustomerFactory(vendor=resellers.tenant.vendor, name="Shared Sam",
                             shared_with_resellers=True)
    CustomerFactory(vendor=resellers.foreign.reseller.vendor, name="Foreign shared",
                    shared_with_resellers=True)

    response = reseller_client.get(LIST)

    assert _listed(response) == ["Acme customer", str(shared)]
    for hidden in (resellers.rival.customer.name, resellers.tenant.customer.name,
                   resellers.foreign.customer.name, "Foreign shared"):
        assertNotContains(response, hidden)
    assertContains(response, "Shared with you")


def test_customer_list_counts_only_keys_this_reseller_issued(resellers, reseller_client):
    shared = CustomerFactory(vendor=resellers.tenant.vendor, shared_with_resellers=True)
    reseller_issue_key(right=resellers.rival.right, actor=SYSTEM, customer=shared)
    counts = {c.pk: c.issued_count for c in reseller_client.get(LIST).context["page"]}
    assert counts == {resellers.me.customer.pk: 1, shared.pk: 0}


def test_customer_list_searches_name_email_and_company(resellers, reseller_client):
    assert _listed(reseller_client.get(LIST, {"q": "acme@c.exa"})) == ["Acme customer"]
    assert _listed(reseller_client.get(LIST, {"q": "rival"})) == []


def test_creating_a_customer_makes_it_the_resellers_and_logs_it(resellers, reseller_client):
    response = reseller_client.post(NEW, {"name": "Bob Builder", "email": "bob@b.example",
                                          "company_name": "Builders", "shared": "on"})

    assert response.status_code == 302
    assert response["Location"] == LIST
    customer = Customer.objects.get(name="Bob Builder")
    assert (customer.vendor, customer.reseller, customer.email, customer.company_name,
            customer.shared_with_resellers) == (resellers.tenant.vendor, resellers.me.reseller,
                                                "bob@b.example", "Builders", True)
    assert ObjectLogEntry.objects.for_object(customer).filter(action="created").exists()
    assert "Bob Builder" in _listed(reseller_client.get(LIST))


def test_a_shared_customer_is_seen_by_the_vendors_other_resellers(resellers, reseller_client,
                                                                  rival_client):
    reseller_client.post(NEW, {"name": "Shared One", "shared": "on"})
    reseller_client.post(NEW, {"name": "Private One"})
    seen = _listed(rival_client.get(LIST))
    assert "Shared One" in seen and "Private One" not in seen


def test_a_customer_without_name_email_or_company_is_a_form_error(resellers, reseller_client):
    before = Customer.objects.count()
    response = reseller_client.post(NEW, {"name": "", "email": "", "company_name": ""})
    assert response.status_code == 200
    assertContains(response, "Give the customer a name, an e-mail address or a company.")
    assert Customer.objects.count() == before


def test_an_invalid_email_is_a_form_error(resellers, reseller_client):
    response = reseller_client.post(NEW, {"name": "X", "email": "not-an-address"})
    assert response.status_code == 200
    assertContains(response, "Enter a valid email address.")
