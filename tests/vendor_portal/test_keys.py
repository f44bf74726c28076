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
    assert [a.machine_code for a in response.context["page"]] == ["machine-2"]
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


# --- The internal note: the vendor's own, next to the notes that go out with the license ---


def test_key_created_with_notes_and_an_internal_note_keeps_them_apart(tenant, owner_client):
    response = owner_client.post(_create_url(tenant), {
        **CREATE_FORM, "notes": "Pro edition", "internal_note": "PO 4471, call Alice"})
    key = LicenseKey.objects.exclude(pk=tenant.key.pk).get(product=tenant.product)
    assert response.status_code == 302
    assert (key.notes, key.internal_note) == ("Pro edition", "PO 4471, call Alice")
    assert _entries(key, "created").get().changes["internal_note"] == [None,
                                                                       "PO 4471, call Alice"]


def test_key_page_shows_both_notes_with_what_each_is_for(tenant, read_only_client):
    services.key_update(key=tenant.key, actor=Actor.for_system("t"), notes="Pro edition",
                        internal_note="PO 4471, call Alice")
    content = read_only_client.get(reverse("vendor_portal:key_detail", args=[tenant.key.pk])
                                   ).content.decode()
    assert ('<dt>Notes</dt><dd><span id="key-notes">Pro edition</span>'
            '<span class="help">Sent with the license: the Web API returns it.</span>') in content
    assert ('<dt>Internal note</dt><dd><span id="key-internal-note">PO 4471, call Alice</span>'
            '<span class="help">Only your team sees it:') in content


def test_admin_edits_the_internal_note_and_the_change_is_logged(tenant, admin_client_):
    url = reverse("vendor_portal:key_edit", args=[tenant.key.pk])
    page = admin_client_.get(url).content.decode()
    assert 'name="internal_note"' in page and "Internal note (only your team sees it)" in page
    response = admin_client_.post(url, {**EDIT_FORM, "internal_note": "Renewal due in May",
                                         "customer": tenant.customer.pk})
    assert response.status_code == 302
    tenant.key.refresh_from_db()
    assert (tenant.key.notes, tenant.key.internal_note) == ("", "Renewal due in May")
    assert _entries(tenant.key, "updated").get().changes == {
        "internal_note": ["", "Renewal due in May"]}


def test_an_internal_note_over_2000_characters_is_refused(tenant, owner_client):
    url = reverse("vendor_portal:key_edit", args=[tenant.key.pk])
    response = owner_client.post(url, {**EDIT_FORM, "internal_note": "x" * 2001})
    assert response.status_code == 200
    assert "internal_note" in response.context["form"].errors
    tenant.key.refresh_from_db()
    assert tenant.key.internal_note == ""


def test_key_list_finds_a_key_by_its_internal_note_and_exports_it(tenant, owner_client,
                                                                   haystack):
    services.key_update(key=haystack, actor=Actor.for_system("t"),
                        internal_note="Invoice 2024-0193")
    assert _listed_keys(_list(owner_client, tenant, q="2024-0193")) == {haystack.key}
    rows = list(csv.DictReader(io.StringIO(
        _list(owner_client, tenant, q="2024-0193", format="csv").content.decode())))
    assert [(row["Notes"], row["Internal note"]) for row in rows] == [
        ("reseller order 4711", "Invoice 2024-0193")]


# --- The key's devices: search, pages, CSV, multi-select deactivation ---


def _detail(client, key, **params):
    return client.get(reverse("vendor_portal:key_detail", args=[key.pk]), params)


def _devices(response) -> list[str]:
    return [a.machine_code for a in response.context["page"]]


@pytest.fixture
def fleet(tenant):
    """A key with 120 devices: pc-000 .. pc-119, every tenth one floating."""
    key = make_key(tenant.product, max_no_of_machines=0)
    start = timezone.now() - dt.timedelta(days=1)
    Activation.objects.bulk_create([
        Activation(key=key, machine_code=f"pc-{n:03d}", friendly_name=f"DESK-{n:03d}",
                   ip=f"10.0.{n // 100}.{n % 100}", time=start + dt.timedelta(minutes=n),
                   floating=n % 10 == 0,
                   floating_expires=start + dt.timedelta(days=2) if n % 10 == 0 else None)
        for n in range(120)])
    return key


def test_key_page_lists_its_devices_a_page_at_a_time(fleet, read_only_client):
    first = _detail(read_only_client, fleet)
    third = _detail(read_only_client, fleet, page=3)
    assert len(_devices(first)) == 50 and len(_devices(third)) == 20
    assert set(_devices(first)).isdisjoint(_devices(third))
    content = third.content.decode()
    assert "Activated devices (120)" in content
    assert "Page 3 of 3 · 120 devices" in content
    assert _devices(first)[0] == "pc-001"  # node-locked first, oldest first
    assert "pc-000" in _devices(third)  # the floating ones last


@pytest.mark.parametrize(("query", "expected"), [
    ("desk-042", ["pc-042"]), ("PC-11", [f"pc-11{n}" for n in range(1, 10)] + ["pc-110"]),
    ("10.0.1.7", ["pc-107"]),
])
def test_key_page_searches_devices_by_friendly_name_machine_code_or_ip(
        fleet, owner_client, query, expected):
    response = _detail(owner_client, fleet, q=query)
    assert _devices(response) == expected
    assert f"matching “{query}”" in response.content.decode()


def test_key_page_exports_the_devices_that_match_as_csv(fleet, owner_client):
    response = _detail(owner_client, fleet, q="pc-1", format="csv")
    assert response["Content-Type"].startswith("text/csv")
    assert f'filename="devices-key-{fleet.pk}.csv"' in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert len(rows) == 20  # pc-100 .. pc-119: every match, not one page
    row = next(r for r in rows if r["Machine code"] == "pc-110")
    assert (row["Friendly name"], row["IP"], row["Floating"]) == ("DESK-110", "10.0.1.10",
                                                                  "True")
    assert row["Activated"].startswith(str(fleet.activations.get(machine_code="pc-110")
                                           .time.year))


def test_key_page_truncates_machine_codes_but_keeps_the_whole_value(tenant, owner_client):
    code = "A" * 40 + "-tail-" + "Z" * 40
    make_activation(tenant.key, code, friendly_name="LONG")
    content = _detail(owner_client, tenant.key).content.decode()
    assert f'<span class="mono truncate" title="{code}">{code}</span>' in content


def _deactivate(client, key, ids, follow=False, **extra):
    return client.post(reverse("vendor_portal:key_devices_deactivate", args=[key.pk]),
                       {"activation": ids, **extra}, follow=follow)


def test_owner_deactivates_several_selected_devices_at_once(fleet, owner_client):
    chosen = list(fleet.activations.filter(machine_code__in=["pc-003", "pc-004", "pc-010"]))
    response = _deactivate(owner_client, fleet, [a.pk for a in chosen], q="pc-0", page="2")

    assert response.status_code == 302
    assert response["Location"] == (reverse("vendor_portal:key_detail", args=[fleet.pk])
                                    + "?q=pc-0&page=2#devices-section")
    assert fleet.activations.count() == 117
    assert not fleet.activations.filter(pk__in=[a.pk for a in chosen]).exists()
    entries = ObjectLogEntry.objects.for_object(fleet).filter(action="device deactivated")
    assert sorted(e.changes["machine_code"][0] for e in entries) == ["pc-003", "pc-004",
                                                                     "pc-010"]
    assert {e.actor_label for e in entries} == {fleet.product.vendor.memberships.get(
        role="owner").user.email}
    page = owner_client.get(response["Location"])
    assert "3 devices deactivated; their seats are free." in page.content.decode()


def test_another_tenants_or_another_keys_device_ids_free_nothing(tenant, other_tenant, fleet,
                                                                 owner_client):
    theirs, other_key = other_tenant.activation, tenant.activation  # tenant.key is not `fleet`
    response = _deactivate(owner_client, fleet, [theirs.pk, other_key.pk], follow=True)
    assert Activation.objects.filter(pk__in=[theirs.pk, other_key.pk]).count() == 2
    assert fleet.activations.count() == 120
    assert "None of the selected devices is activated any more." in response.content.decode()
    assert not ObjectLogEntry.objects.filter(action="device deactivated").exists()


def test_a_mixed_selection_frees_only_the_keys_own_devices(tenant, other_tenant, fleet,
                                                           owner_client):
    own = fleet.activations.get(machine_code="pc-050")
    _deactivate(owner_client, fleet, [own.pk, other_tenant.activation.pk])
    assert not Activation.objects.filter(pk=own.pk).exists()
    assert Activation.objects.filter(pk=other_tenant.activation.pk).exists()
    assert fleet.activations.count() == 119


def test_deactivating_nothing_selected_or_a_bad_selection_changes_nothing(fleet, owner_client):
    nothing = _deactivate(owner_client, fleet, [], q="desk", follow=True)
    assert "Select the devices to deactivate." in nothing.content.decode()
    assert nothing.context["query"] == "desk"
    bad = _deactivate(owner_client, fleet, ["1", "abc"], follow=True)
    assert "The selection is not valid." in bad.content.decode()
    too_many = _deactivate(owner_client, fleet, [str(n) for n in range(1, 502)], follow=True)
    assert "Select at most 500 at once." in too_many.content.decode()
    assert fleet.activations.count() == 120


def test_read_only_member_sees_no_checkboxes_and_cannot_deactivate(fleet, read_only_client):
    content = _detail(read_only_client, fleet).content.decode()
    assert 'name="activation"' not in content and "Deactivate selected" not in content
    one = fleet.activations.first()
    assert _deactivate(read_only_client, fleet, [one.pk]).status_code == 403
    assert fleet.activations.count() == 120


def test_the_deactivate_button_asks_for_confirmation(fleet, owner_client):
    content = _detail(owner_client, fleet).content.decode()
    assert ('data-confirm="Deactivate the selected devices? Their seats become free.">'
            "Deactivate selected</button>") in content
    assert 'data-select-all="activation"' in content
