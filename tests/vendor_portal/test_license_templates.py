"""License templates of a product, and "Save as template" on key creation."""

from __future__ import annotations

from django.urls import reverse

from apps.audit.log import Actor
from apps.audit.models import ObjectLogEntry
from apps.licensing.models import LicenseKey, LicenseTemplate
from apps.licensing.services.resellers import template_create

TEMPLATE_DATA = {
    "name": "Pro, floating", "period": 90, "f1": "on", "f3": "on", "max_no_of_machines": 5,
    "trial_activation": "on", "allowed_machines": "pc-a\n pc-b ", "notes": "sold via web",
    "floating_time_interval": 300, "max_overdraft": 2,
    "data_objects": "seats=5\nedition=gold\n\n",
}


def test_the_key_list_links_to_the_templates(tenant, owner_client):
    page = owner_client.get(reverse("vendor_portal:key_list", args=[tenant.product.pk]))
    assert reverse("vendor_portal:template_list", args=[tenant.product.pk]) in page.content.decode()


def test_creating_a_template_saves_every_parameter_and_logs_it(tenant, owner_client):
    url = reverse("vendor_portal:template_create", args=[tenant.product.pk])

    response = owner_client.post(url, TEMPLATE_DATA)

    assert response.status_code == 302
    template = LicenseTemplate.objects.get(product=tenant.product)
    assert (template.name, template.period, template.features) == (
        "Pro, floating", 90, [True, False, True, False, False, False, False, False])
    assert (template.max_no_of_machines, template.trial_activation,
            template.automatic_activation) == (5, True, False)
    assert template.allowed_machines == "pc-a\npc-b"
    assert (template.floating_time_interval, template.max_overdraft) == (300, 2)
    assert template.data_objects == [
        {"name": "seats", "string_value": "", "int_value": 5},
        {"name": "edition", "string_value": "gold", "int_value": 0}]
    assert ObjectLogEntry.objects.for_object(template).get().action == "created"
    listing = owner_client.get(reverse("vendor_portal:template_list", args=[tenant.product.pk]))
    assert "Pro, floating" in listing.content.decode()


def test_the_template_form_labels_features_with_the_products_names(tenant, owner_client):
    tenant.product.f2_name = "Cloud sync"
    tenant.product.save()
    page = owner_client.get(reverse("vendor_portal:template_create", args=[tenant.product.pk]))
    assert "F2: Cloud sync" in page.content.decode()


def test_a_malformed_data_object_line_is_a_form_error(tenant, owner_client):
    url = reverse("vendor_portal:template_create", args=[tenant.product.pk])
    response = owner_client.post(url, {**TEMPLATE_DATA, "data_objects": "no equals sign"})
    assert response.status_code == 200
    assert "Line 1: write name=value." in response.content.decode()
    assert not LicenseTemplate.objects.exists()


def test_editing_a_template_shows_its_values_and_logs_the_change(tenant, owner_client):
    template = template_create(product=tenant.product, actor=Actor.for_user(tenant.owner),
                               name="Basic", period=30,
                               data_objects=[{"name": "seats", "int_value": 3}])
    url = reverse("vendor_portal:template_edit", args=[template.pk])
    page = owner_client.get(url).content.decode()
    assert "seats=3" in page and 'value="Basic"' in page

    response = owner_client.post(url, {**TEMPLATE_DATA, "name": "Basic+", "period": 60})

    assert response.status_code == 302
    template.refresh_from_db()
    assert (template.name, template.period) == ("Basic+", 60)
    entry = ObjectLogEntry.objects.for_object(template).filter(action="updated").get()
    assert entry.changes["period"] == [30, 60]
    assert "Basic+" in owner_client.get(url).content.decode()


def test_another_vendors_template_is_404(tenant, other_tenant, owner_client):
    template = LicenseTemplate.objects.create(product=other_tenant.product, name="Theirs")
    assert owner_client.get(reverse("vendor_portal:template_edit",
                                    args=[template.pk])).status_code == 404
    assert owner_client.get(reverse("vendor_portal:template_list",
                                    args=[other_tenant.product.pk])).status_code == 404


def test_read_only_member_may_list_but_not_create_templates(tenant, read_only_client):
    assert read_only_client.get(reverse("vendor_portal:template_list",
                                        args=[tenant.product.pk])).status_code == 200
    response = read_only_client.post(
        reverse("vendor_portal:template_create", args=[tenant.product.pk]), TEMPLATE_DATA)
    assert response.status_code == 403
    assert not LicenseTemplate.objects.exists()


KEY_DATA = {"count": 2, "period": 30, "f2": "on", "max_no_of_machines": 3, "notes": "batch",
            "automatic_activation": "on"}


def test_save_as_template_creates_the_keys_and_a_template_with_their_parameters(
        tenant, owner_client):
    before = LicenseKey.objects.count()
    response = owner_client.post(
        reverse("vendor_portal:key_create", args=[tenant.product.pk]),
        {**KEY_DATA, "save_as_template": "on", "template_name": "Two seats"})

    assert response.status_code == 302
    assert LicenseKey.objects.count() == before + 2
    template = LicenseTemplate.objects.get(product=tenant.product)
    assert (template.name, template.period, template.max_no_of_machines) == ("Two seats", 30, 3)
    assert template.features == [False, True, False, False, False, False, False, False]
    assert template.notes == ""  # the keys' notes stay with the keys
    assert set(LicenseKey.objects.filter(product=tenant.product, notes="batch")
               .values_list("serial", flat=True)) == {2, 3}


CUSTOMER_KEY = {**KEY_DATA, "count": 1, "notes": "Northwind design team, PO 4471",
                "internal_note": "Alice pays by invoice; PO NW-4471",
                "allowed_machines": "ALICE-LAPTOP", "save_as_template": "on",
                "template_name": "Design seats"}


def test_save_as_template_keeps_the_customers_notes_internal_note_and_machines_out(
        tenant, owner_client):
    """The template reaches every reseller and every key made from it: nothing of this
    customer goes in, unless the vendor writes template notes of its own."""
    response = owner_client.post(
        reverse("vendor_portal:key_create", args=[tenant.product.pk]),
        {**CUSTOMER_KEY, "customer": tenant.customer.pk})

    assert response.status_code == 302
    key = LicenseKey.objects.get(product=tenant.product, notes=CUSTOMER_KEY["notes"])
    assert key.internal_note == "Alice pays by invoice; PO NW-4471"
    assert (key.allowed_machines, key.customer) == ("ALICE-LAPTOP", tenant.customer)
    template = LicenseTemplate.objects.get(product=tenant.product)
    assert (template.notes, template.allowed_machines) == ("", "")
    assert not hasattr(template, "internal_note")
    logged = str(ObjectLogEntry.objects.for_object(template).get().changes)
    assert "4471" not in logged and "ALICE" not in logged


def test_save_as_template_takes_the_template_notes_the_vendor_writes(tenant, owner_client):
    owner_client.post(reverse("vendor_portal:key_create", args=[tenant.product.pk]),
                      {**CUSTOMER_KEY, "template_notes": "Design edition, 3 seats"})
    template = LicenseTemplate.objects.get(product=tenant.product)
    assert template.notes == "Design edition, 3 seats"


def test_a_key_made_from_a_saved_template_carries_no_note_of_the_first_customer(
        tenant, owner_client):
    from apps.licensing.services.resellers import key_create_from_template

    owner_client.post(reverse("vendor_portal:key_create", args=[tenant.product.pk]),
                      CUSTOMER_KEY)
    template = LicenseTemplate.objects.get(product=tenant.product)
    key = key_create_from_template(template=template, actor=Actor.for_system("t"))
    assert (key.notes, key.internal_note, key.allowed_machines) == ("", "", "")


def test_the_template_form_says_its_notes_go_out_with_every_key(tenant, owner_client):
    page = owner_client.get(reverse("vendor_portal:template_create", args=[tenant.product.pk]))
    content = page.content.decode()
    assert "Notes (sent with the license: the Web API returns it)" in content
    assert "Every key made from this template gets its notes" in content
    assert 'name="internal_note"' not in content


def test_save_as_template_without_a_name_creates_nothing(tenant, owner_client):
    before = LicenseKey.objects.count()
    response = owner_client.post(reverse("vendor_portal:key_create", args=[tenant.product.pk]),
                                 {**KEY_DATA, "save_as_template": "on"})
    assert response.status_code == 200
    assert "Give the template a name." in response.content.decode()
    assert LicenseKey.objects.count() == before
    assert not LicenseTemplate.objects.exists()


def test_a_refused_template_rolls_back_the_keys(tenant, owner_client, monkeypatch):
    """One transaction: keys and template are created together or not at all."""
    from apps.core.errors import DomainError
    from apps.licensing.services import issuing

    def refuse(**kwargs):
        raise DomainError("Refused for the test.", field="template_name")

    monkeypatch.setattr(issuing, "template_create", refuse)
    before = LicenseKey.objects.count()
    response = owner_client.post(reverse("vendor_portal:key_create", args=[tenant.product.pk]),
                                 {**KEY_DATA, "save_as_template": "on", "template_name": "X"})
    assert response.status_code == 200
    assert "Refused for the test." in response.content.decode()
    assert LicenseKey.objects.count() == before


def test_the_template_list_shows_the_products_feature_names(tenant, owner_client):
    tenant.product.f1_name, tenant.product.f3_name = "Export", "Cloud sync"
    tenant.product.save()
    template_create(product=tenant.product, actor=Actor.for_system("test"), name="Pro",
                    period=0, f1=True, f3=True, f4=True)

    response = owner_client.get(reverse("vendor_portal:template_list",
                                        args=[tenant.product.pk]))

    ((_template, features),) = response.context["templates"]
    assert features == ["Export", "Cloud sync", "F4"]  # F4 has no name: its number stays
    content = response.content.decode()
    assert '<span class="badge">Export</span> <span class="badge">Cloud sync</span>' in content
    assert ">F1<" not in content and ">F3<" not in content
    assert ">no limit</span>" in content  # period 0
