"""Manage activations: search across all the customer's licenses, deactivate many at once."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from pytest_django.asserts import assertContains, assertNotContains

from apps.audit.models import ObjectLogEntry
from apps.core.errors import DomainError
from apps.licensing.models import Activation
from apps.licensing.services.seats import Device, key_activate
from tests.factories import make_activation, make_key

from .personas import client_for, member

SEARCH = reverse("customer_portal:device_list")
DEACTIVATE = reverse("customer_portal:device_deactivate")


def _found(client, query: str, page: int | None = None) -> list[Activation]:
    params = {"q": query, **({"page": page} if page else {})}
    response = client.get(SEARCH, params)
    assert response.status_code == 200
    return list(response.context["page"])


def _messages(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def _vendor_devices_table(response) -> str:
    """The devices table of the vendor's key page (its object log names deactivated ones)."""
    content = response.content.decode()
    start = content.index('<table id="devices">')
    return content[start:content.index("</table>", start)]


def _portal_log_entries():
    return ObjectLogEntry.objects.filter(action="device deactivated (customer portal)")


def test_search_finds_devices_by_friendly_name_or_machine_code_on_every_license(
        portal, customer_admin_client):
    second = make_key(portal.tenant.product, customer=portal.customer, max_no_of_machines=5)
    make_activation(second, "ALICE-MC-77", friendly_name="desk 4")
    make_activation(second, "zz-1", friendly_name="Alice-Laptop")
    make_activation(portal.key, "zz-2", friendly_name="bob-pc")

    found = _found(customer_admin_client, "alice")
    assert sorted(d.machine_code for d in found) == ["ALICE-MC-77", "zz-1"]
    assert {d.key_id for d in found} == {second.pk}
    assert [d.machine_code for d in _found(customer_admin_client, "LAPTOP-1")] == ["machine-1"]
    assert len(_found(customer_admin_client, "")) == 4


def test_search_never_shows_other_customers_devices(portal, customer_admin_client):
    make_activation(portal.neighbour_key, "pc-neighbour-2", friendly_name="shared-name")
    make_activation(portal.key, "pc-own", friendly_name="shared-name")
    found = _found(customer_admin_client, "")
    assert {d.key.customer_id for d in found} == {portal.customer.pk}
    response = customer_admin_client.get(SEARCH, {"q": "neighbour"})
    assertNotContains(response, "NEIGHBOUR-PC")
    assertNotContains(response, portal.foreign_activation.machine_code)


def test_search_results_come_100_to_a_page(portal, customer_admin_client):
    key = make_key(portal.tenant.product, customer=portal.customer, max_no_of_machines=200)
    Activation.objects.bulk_create(Activation(key=key, machine_code=f"m-{n:03}",
                                              friendly_name=f"ws-{n:03}") for n in range(150))
    first, second = _found(customer_admin_client, "ws-"), _found(customer_admin_client, "ws-", 2)
    assert (len(first), len(second)) == (100, 50)
    assert {d.pk for d in first}.isdisjoint({d.pk for d in second})
    response = customer_admin_client.get(SEARCH, {"q": "ws-"})
    assertContains(response, "page=2")
    assertContains(response, "150 devices")


def test_deactivating_100_devices_found_by_name_frees_100_seats(portal, customer_admin_client,
                                                                owner_client):
    office = make_key(portal.tenant.product, customer=portal.customer, max_no_of_machines=60)
    lab = make_key(portal.tenant.product, customer=portal.customer, max_no_of_machines=40)
    for key, count in ((office, 60), (lab, 40)):
        Activation.objects.bulk_create(
            Activation(key=key, machine_code=f"{key.pk}-{n}", friendly_name=f"Floor3-PC-{n}")
            for n in range(count))
    with pytest.raises(DomainError):
        key_activate(key=office, device=Device("newcomer"))

    selected = [device.pk for device in _found(customer_admin_client, "floor3")]
    assert len(selected) == 100
    response = customer_admin_client.post(DEACTIVATE, {"activation": selected, "q": "floor3"})

    assert response.status_code == 302
    assert response["Location"] == f"{SEARCH}?q=floor3"
    assert _messages(response) == ["100 devices deactivated; their seats are free."]
    assert not Activation.objects.filter(friendly_name__startswith="Floor3").exists()
    assert portal.activation in Activation.objects.all()  # not found by the search: kept
    for key, seats in ((office, 60), (lab, 40)):
        for n in range(seats):
            key_activate(key=key, device=Device(f"new-{key.pk}-{n}"))
        with pytest.raises(DomainError):
            key_activate(key=key, device=Device(f"one-too-many-{key.pk}"))
    vendor_page = owner_client.get(reverse("vendor_portal:key_detail", args=[office.pk]))
    assert "Floor3-PC" not in _vendor_devices_table(vendor_page)
    assert "new-" in _vendor_devices_table(vendor_page)


def test_vendor_key_page_no_longer_lists_deactivated_devices(portal, customer_admin_client,
                                                             owner_client):
    make_activation(portal.key, "alice-code", friendly_name="alice-laptop")
    device = Activation.objects.get(machine_code="alice-code")
    key_page = reverse("vendor_portal:key_detail", args=[portal.key.pk])
    assert "alice-laptop" in _vendor_devices_table(owner_client.get(key_page))

    customer_admin_client.post(DEACTIVATE, {"activation": [device.pk]})

    response = owner_client.get(key_page)
    assert "alice-laptop" not in _vendor_devices_table(response)
    assert "LAPTOP-1" in _vendor_devices_table(response)
    assertContains(response, portal.admin.email)  # in the key's object log


def test_each_deactivation_is_logged_with_the_customer_users_email(portal,
                                                                   customer_admin_client):
    second = make_activation(portal.key, "machine-2", friendly_name="LAPTOP-2")
    customer_admin_client.post(DEACTIVATE, {"activation": [portal.activation.pk, second.pk]})

    entries = _portal_log_entries().for_object(portal.key)
    assert sorted(e.changes["machine_code"][0] for e in entries) == ["machine-1", "machine-2"]
    assert {(e.actor_type, e.actor_id, e.actor_label) for e in entries} == {
        ("user", portal.admin.pk, portal.admin.email)}
    assert {e.vendor_id for e in entries} == {portal.tenant.vendor.pk}


def test_user_without_the_permission_is_refused_and_nothing_changes(portal,
                                                                    customer_reader_client):
    response = customer_reader_client.post(DEACTIVATE, {"activation": [portal.activation.pk]})
    assert response.status_code == 403
    assert Activation.objects.filter(pk=portal.activation.pk).exists()
    assert not _portal_log_entries().exists()


def test_permission_on_the_membership_alone_is_not_enough(portal, customer_admin_client):
    portal.customer.allow_activation_management = False
    portal.customer.save()
    response = customer_admin_client.post(DEACTIVATE, {"activation": [portal.activation.pk]})
    assert response.status_code == 403
    assert Activation.objects.filter(pk=portal.activation.pk).exists()
    assert not _portal_log_entries().exists()


def test_other_customers_and_other_vendors_devices_are_left_alone(portal,
                                                                  customer_admin_client):
    foreign = [portal.neighbour_activation.pk, portal.foreign_activation.pk]
    response = customer_admin_client.post(DEACTIVATE, {"activation": foreign, "q": "pc"})
    assert response.status_code == 302
    assert _messages(response) == ["None of the selected devices is activated any more."]
    assert Activation.objects.filter(pk__in=foreign).count() == 2
    assert not _portal_log_entries().exists()


def test_a_mixed_selection_frees_only_the_customers_own_devices(portal, customer_admin_client):
    customer_admin_client.post(DEACTIVATE, {
        "activation": [portal.activation.pk, portal.neighbour_activation.pk]})
    assert not Activation.objects.filter(pk=portal.activation.pk).exists()
    assert Activation.objects.filter(pk=portal.neighbour_activation.pk).exists()


def test_deactivating_from_a_license_page_returns_to_it(portal, customer_admin_client):
    response = customer_admin_client.post(DEACTIVATE, {"activation": [portal.activation.pk],
                                                       "key": portal.key.pk})
    assert response["Location"] == reverse("customer_portal:license_detail",
                                           args=[portal.key.pk])
    assert _messages(response) == ["1 device deactivated; its seat is free."]


def test_returning_to_the_search_keeps_query_and_page(portal, customer_admin_client):
    response = customer_admin_client.post(DEACTIVATE, {"activation": [portal.activation.pk],
                                                       "q": "lap top", "page": 3})
    assert response["Location"] == f"{SEARCH}?q=lap+top&page=3"


def test_nothing_selected_is_a_warning(portal, customer_admin_client):
    response = customer_admin_client.post(DEACTIVATE, {"q": "x"})
    assert response.status_code == 302
    assert _messages(response) == ["Select the devices to deactivate."]
    assert Activation.objects.filter(pk=portal.activation.pk).exists()


def test_a_malformed_selection_is_an_error_message_not_a_server_error(portal,
                                                                      customer_admin_client):
    response = customer_admin_client.post(DEACTIVATE, {"activation": ["1", "x"], "q": "pc"})
    assert response.status_code == 302
    assert response["Location"] == f"{SEARCH}?q=pc"
    assert _messages(response) == ["The selection is not valid."]
    assert Activation.objects.filter(pk=portal.activation.pk).exists()


def test_deactivate_only_accepts_post(portal, customer_admin_client):
    assert customer_admin_client.get(DEACTIVATE).status_code == 405


def test_search_page_is_read_only_without_the_permission(portal, customer_reader_client):
    response = customer_reader_client.get(SEARCH)
    assertContains(response, "LAPTOP-1")
    assertNotContains(response, 'name="activation"')
    assertNotContains(response, "Deactivate selected")


def test_a_second_customer_admin_may_deactivate_too(portal):
    colleague = member(portal.customer, can_manage_activations=True).user
    response = client_for(colleague).post(DEACTIVATE, {"activation": [portal.activation.pk]})
    assert response.status_code == 302
    assert _portal_log_entries().get().actor_label == colleague.email


def test_a_read_only_user_sees_a_devices_tab_and_no_deactivation_controls(
        portal, customer_reader_client):
    for url in (reverse("customer_portal:license_list"), reverse("customer_portal:device_list"),
                reverse("customer_portal:license_detail", args=[portal.key.pk])):
        page = customer_reader_client.get(url).content.decode()
        assert "Manage activations" not in page, url
        assert "Deactivate selected" not in page and 'name="activation"' not in page, url
        assert ">Devices</a>" in page, url
        assert '<span class="badge">Read-only</span>' in page, url


def test_a_user_who_may_deactivate_sees_the_manage_activations_tab(customer_admin_client):
    page = customer_admin_client.get(reverse("customer_portal:device_list")).content.decode()
    assert ">Manage activations</a>" in page and "<h1>Manage activations</h1>" in page
    assert "Deactivate selected" in page
