import csv
import datetime as dt
import io
import re
from collections import Counter

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.audit.log import Actor
from apps.audit.models import ObjectLogEntry
from apps.licensing import services
from apps.licensing.models import Activation, Customer, LicenseKey

from ..factories import CustomerFactory, make_activation, make_key

CREATE_FORM = {"count": 1, "period": 30, "max_no_of_machines": 1, "notes": "",
               "automatic_activation": "on"}
EDIT_FORM = {"max_no_of_machines": 2, "notes": "", "automatic_activation": "on"}


def _create_url(tenant) -> str:
    return reverse("vendor_portal:key_create", args=[tenant.product.pk])


def _list(client, tenant, **params):
    return client.get(reverse("vendor_portal:key_list", args=[tenant.product.pk]), params)


def _listed_keys(response) -> set[str]:
    return {key.key for key in response.context["page"]}


# --- Listing, search, filters, pagination, CSV ---


def test_key_list_shows_the_products_keys_with_customer(tenant, read_only_client):
    response = _list(read_only_client, tenant)
    assert response.status_code == 200
    assert _listed_keys(response) == {tenant.key.key}
    content = response.content.decode()
    assert tenant.key.key in content
    assert tenant.customer.name in content


@pytest.fixture
def haystack(tenant):
    """A second key with its own customer, notes and device, to search among."""
    customer = CustomerFactory(vendor=tenant.vendor, name="Gertrude Bluebottle")
    key = make_key(tenant.product, customer=customer, notes="reseller order 4711")
    make_activation(key, "HW-9F3A-ZX", friendly_name="STUDIO-PC")
    return key


@pytest.mark.parametrize("query", ["KEY", "bluebottle", "order 4711", "hw-9f3a"])
def test_key_list_search_finds_a_key_by_key_customer_notes_or_machine_code(
        tenant, owner_client, haystack, query):
    query = haystack.key[6:14] if query == "KEY" else query  # a piece of the key string
    response = _list(owner_client, tenant, q=query)
    assert _listed_keys(response) == {haystack.key}


def test_key_list_search_without_match_lists_nothing(tenant, owner_client, haystack):
    response = _list(owner_client, tenant, q="no such thing")
    assert _listed_keys(response) == set()
    assert "No keys match." in response.content.decode()


def test_key_list_filters_blocked_expired_and_trial_keys(tenant, owner_client):
    blocked = make_key(tenant.product, block=True)
    expired = make_key(tenant.product, period=-3)
    trial = make_key(tenant.product, trial_activation=True)
    assert _listed_keys(_list(owner_client, tenant, status="blocked")) == {blocked.key}
    assert _listed_keys(_list(owner_client, tenant, status="expired")) == {expired.key}
    assert _listed_keys(_list(owner_client, tenant, status="trial")) == {trial.key}
    assert _listed_keys(_list(owner_client, tenant, status="active")) == {tenant.key.key,
                                                                          trial.key}


def test_key_list_is_paginated(tenant, owner_client):
    services.key_create(product=tenant.product, actor=Actor.for_system("test"),
                        spec=services.KeySpec(period=30), count=30)
    first = _list(owner_client, tenant)
    second = _list(owner_client, tenant, page=2)
    assert len(first.context["page"]) == 25
    assert second.context["page"].number == 2
    assert len(second.context["page"]) == 6  # 31 keys in all
    assert _listed_keys(first).isdisjoint(_listed_keys(second))
    assert "Page 2 of 2" in second.content.decode()


def test_key_list_exports_csv(tenant, owner_client, haystack):
    response = _list(owner_client, tenant, q="bluebottle", format="csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][:9] == ["ID", "Key", "Created", "Expires", "Blocked", "Max machines",
                           "Activations", "Customer", "Notes"]
    assert len(rows) == 2  # the search applies to the export too
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["Key"] == haystack.key
    assert row["Customer"] == "Gertrude Bluebottle"
    assert row["Notes"] == "reseller order 4711"
    assert row["Activations"] == "1"
    assert row["ID"] == str(haystack.serial)


# --- Creating keys ---


def test_key_create_page_shows_every_field_exactly_once(tenant, owner_client):
    # A field rendered twice is submitted twice, and the copy further down the page (left
    # at its initial value) silently wins over what the user typed into the first one.
    response = owner_client.get(_create_url(tenant))
    main = response.content.decode().split("<main", 1)[1]
    rendered = Counter(re.findall(r'<(?:input|select|textarea)[^>]* name="(\w+)"', main))
    rendered.pop("csrfmiddlewaretoken", None)
    assert set(response.context["form"].fields) - set(rendered) == set(), "fields not shown"
    assert {name: n for name, n in rendered.items() if n > 1} == {}, "fields shown twice"


def test_owner_creates_one_key_for_an_existing_customer(tenant, owner_client):
    before = timezone.now()
    response = owner_client.post(_create_url(tenant), {
        **CREATE_FORM, "customer": tenant.customer.pk, "f1": "on", "f3": "on",
        "notes": "first order", "max_no_of_machines": 4})
    key = LicenseKey.objects.exclude(pk=tenant.key.pk).get(product=tenant.product)
    assert response.status_code == 302
    assert response["Location"] == reverse("vendor_portal:key_detail", args=[key.pk])
    assert key.customer == tenant.customer
    assert key.features == [True, False, True, False, False, False, False, False]
    assert (key.notes, key.max_no_of_machines, key.block) == ("first order", 4, False)
    assert before + dt.timedelta(days=30) <= key.expires <= timezone.now() + dt.timedelta(
        days=30)


def test_owner_creates_five_keys_for_a_new_customer_in_the_same_form(tenant, owner_client):
    response = owner_client.post(_create_url(tenant), {
        **CREATE_FORM, "count": 5, "new_customer_name": "Hilda Newcomer",
        "new_customer_email": "hilda@example.org", "new_customer_company": "Newco"})
    assert response.status_code == 302
    assert response["Location"] == reverse("vendor_portal:key_list", args=[tenant.product.pk])
    customer = Customer.objects.get(vendor=tenant.vendor, name="Hilda Newcomer")
    assert (customer.email, customer.company_name) == ("hilda@example.org", "Newco")
    keys = LicenseKey.objects.filter(customer=customer)
    assert keys.count() == 5
    assert len({k.key for k in keys}) == 5
    assert sorted(k.serial for k in keys) == [2, 3, 4, 5, 6]


def test_zero_keys_is_a_form_error(tenant, owner_client):
    response = owner_client.post(_create_url(tenant), {**CREATE_FORM, "count": 0})
    assert response.status_code == 200
    assert "count" in response.context["form"].errors
    assert LicenseKey.objects.filter(product=tenant.product).count() == 1


def test_existing_and_new_customer_together_is_refused(tenant, owner_client):
    response = owner_client.post(_create_url(tenant), {
        **CREATE_FORM, "customer": tenant.customer.pk, "new_customer_name": "Someone Else"})
    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == [
        "Pick an existing customer or enter a new one, not both."]
    assert LicenseKey.objects.filter(product=tenant.product).count() == 1
    assert not Customer.objects.filter(name="Someone Else").exists()


def test_notes_longer_than_500_characters_are_refused_on_create(tenant, owner_client):
    response = owner_client.post(_create_url(tenant), {**CREATE_FORM, "notes": "x" * 501})
    assert response.status_code == 200
    assert "notes" in response.context["form"].errors
    assert LicenseKey.objects.filter(product=tenant.product).count() == 1


def test_key_cannot_be_created_for_another_vendors_customer(tenant, other_tenant,
                                                            owner_client):
    response = owner_client.post(_create_url(tenant), {
        **CREATE_FORM, "customer": other_tenant.customer.pk})
    assert response.status_code == 200
    assert "customer" in response.context["form"].errors
    assert LicenseKey.objects.filter(product=tenant.product).count() == 1


# --- Detail, edit, block, extend, deactivate ---


def test_key_detail_shows_devices_data_objects_and_feature_names(tenant, read_only_client):
    tenant.product.f2_name = "Cloud sync"
    tenant.product.save()
    response = read_only_client.get(reverse("vendor_portal:key_detail", args=[tenant.key.pk]))
    content = response.content.decode()
    assert response.status_code == 200
    assert "machine-1" in content and "LAPTOP-1" in content
    assert "usage" in content
    assert "Cloud sync" in content
    assert "Activated devices (1 of 2)" in content


def test_admin_edits_features_notes_and_max_machines(tenant, admin_client_):
    url = reverse("vendor_portal:key_edit", args=[tenant.key.pk])
    assert admin_client_.get(url).context["form"].initial["max_no_of_machines"] == 2
    response = admin_client_.post(url, {
        **EDIT_FORM, "f2": "on", "f8": "on", "notes": "upgraded to pro",
        "max_no_of_machines": 10, "customer": tenant.customer.pk})
    assert response.status_code == 302
    tenant.key.refresh_from_db()
    assert tenant.key.features == [False, True, False, False, False, False, False, True]
    assert (tenant.key.notes, tenant.key.max_no_of_machines) == ("upgraded to pro", 10)
    assert tenant.key.customer == tenant.customer


def test_notes_longer_than_500_characters_are_refused_on_edit(tenant, owner_client):
    url = reverse("vendor_portal:key_edit", args=[tenant.key.pk])
    response = owner_client.post(url, {**EDIT_FORM, "notes": "x" * 501,
                                       "max_no_of_machines": 9})
    assert response.status_code == 200
    assert "notes" in response.context["form"].errors
    tenant.key.refresh_from_db()
    assert (tenant.key.notes, tenant.key.max_no_of_machines) == ("", 2)


def test_key_cannot_be_given_to_another_vendors_customer(tenant, other_tenant, owner_client):
    url = reverse("vendor_portal:key_edit", args=[tenant.key.pk])
    response = owner_client.post(url, {**EDIT_FORM, "customer": other_tenant.customer.pk})
    assert response.status_code == 200
    assert "customer" in response.context["form"].errors
    tenant.key.refresh_from_db()
    assert tenant.key.customer == tenant.customer


def test_owner_blocks_and_unblocks_a_key(tenant, owner_client):
    url = reverse("vendor_portal:key_block", args=[tenant.key.pk])
    response = owner_client.post(url, {"block": "1"})
    assert response.status_code == 302
    tenant.key.refresh_from_db()
    assert tenant.key.block is True
    owner_client.post(url, {"block": "0"})
    tenant.key.refresh_from_db()
    assert tenant.key.block is False


def test_read_only_member_cannot_block_a_key(tenant, read_only_client):
    response = read_only_client.post(reverse("vendor_portal:key_block", args=[tenant.key.pk]),
                                     {"block": "1"})
    assert response.status_code == 403
    tenant.key.refresh_from_db()
    assert tenant.key.block is False


def test_extending_adds_days_to_the_expiry(tenant, owner_client):
    before = tenant.key.expires
    response = owner_client.post(reverse("vendor_portal:key_extend", args=[tenant.key.pk]),
                                 {"days": 45})
    assert response.status_code == 302
    tenant.key.refresh_from_db()
    assert tenant.key.expires == before + dt.timedelta(days=45)


def test_extending_an_expired_key_counts_from_today(tenant, owner_client):
    expired = make_key(tenant.product, period=-10)
    start = timezone.now()
    owner_client.post(reverse("vendor_portal:key_extend", args=[expired.pk]), {"days": 30})
    expired.refresh_from_db()
    assert start + dt.timedelta(days=30) <= expired.expires
    assert expired.expires <= timezone.now() + dt.timedelta(days=30)


def test_extend_without_days_is_a_form_error(tenant, owner_client):
    before = tenant.key.expires
    response = owner_client.post(reverse("vendor_portal:key_extend", args=[tenant.key.pk]),
                                 {"days": ""})
    assert response.status_code == 200
    assert "days" in response.context["form"].errors
    tenant.key.refresh_from_db()
    assert tenant.key.expires == before


def test_deactivating_a_device_frees_its_seat(tenant, owner_client):
    make_activation(tenant.key, "machine-2")  # the key's 2 seats are now taken
    url = reverse("vendor_portal:activation_deactivate",
                  args=[tenant.key.pk, tenant.activation.pk])
    response = owner_client.post(url, follow=True)
    assert response.status_code == 200
    assert not Activation.objects.filter(pk=tenant.activation.pk).exists()
    assert [a.machine_code for a in response.context["activations"]] == ["machine-2"]
    assert "Activated devices (1 of 2)" in response.content.decode()
    entry = ObjectLogEntry.objects.for_object(tenant.key).get(action="device deactivated")
    assert entry.changes["machine_code"] == ["machine-1", None]


# --- The object log of a key ---


def _entries(key, action):
    return ObjectLogEntry.objects.for_object(key).filter(action=action)


def test_key_create_is_logged_with_the_user_and_the_new_values(tenant, owner_client):
    owner_client.post(_create_url(tenant), {**CREATE_FORM, "notes": "logged"})
    key = LicenseKey.objects.exclude(pk=tenant.key.pk).get(product=tenant.product)
    entry = _entries(key, "created").get()
    assert (entry.actor_type, entry.actor_label) == ("user", tenant.owner.email)
    assert entry.actor_id == tenant.owner.pk
    assert entry.changes["key"] == [None, key.key]
    assert entry.changes["notes"] == [None, "logged"]


def test_key_edit_is_logged_with_before_and_after(tenant, admin_client_):
    admin_client_.post(reverse("vendor_portal:key_edit", args=[tenant.key.pk]), {
        **EDIT_FORM, "notes": "new notes", "max_no_of_machines": 7, "f1": "on",
        "customer": tenant.customer.pk})
    entry = _entries(tenant.key, "updated").get()
    assert entry.actor_label == tenant.admin.email
    assert entry.changes == {"notes": ["", "new notes"], "max_no_of_machines": [2, 7],
                             "f1": [False, True]}


def test_key_block_is_logged_with_before_and_after(tenant, owner_client):
    owner_client.post(reverse("vendor_portal:key_block", args=[tenant.key.pk]), {"block": "1"})
    entry = _entries(tenant.key, "blocked").get()
    assert entry.actor_label == tenant.owner.email
    assert entry.changes == {"block": [False, True]}


def test_key_log_page_lists_the_keys_entries(tenant, owner_client):
    owner_client.post(reverse("vendor_portal:key_block", args=[tenant.key.pk]), {"block": "1"})
    response = owner_client.get(reverse("vendor_portal:key_log", args=[tenant.key.pk]))
    assert response.status_code == 200
    assert [e.action for e in response.context["page"]] == ["blocked", "created"]
    assert tenant.owner.email in response.content.decode()
