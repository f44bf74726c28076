"""Subscription prices: the vendor maps Stripe prices to license templates (and metered ones
to a meter event name), lists and removes them; apps/commerce/price_mappings.py decides."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.audit.models import ObjectLogEntry
from apps.commerce.models import PriceMapping
from apps.commerce.price_mappings import ALREADY_MAPPED, price_mapping_save
from apps.core.errors import DomainError

from .payments_data import SYSTEM, subscription_of, template_of

LIST = reverse("vendor_portal:price_mapping_list")
CREATE = reverse("vendor_portal:price_mapping_create")


def _remove(mapping: PriceMapping) -> str:
    return reverse("vendor_portal:price_mapping_remove", args=[mapping.pk])


def test_the_page_explains_the_data_object_the_key_gets(tenant, owner_client):
    response = owner_client.get(LIST)

    assert response.status_code == 200
    content = response.content.decode()
    assert "cryptolens_stripesubscriptionitemid" in content
    assert "No subscription prices yet." in content
    assert 'id="price-mapping-form"' in content


def test_owner_maps_a_metered_price_to_a_template(tenant, owner_client):
    template = template_of(tenant)

    response = owner_client.post(CREATE, {"price_id": " price_1PqRsTuV ",
                                          "template": template.pk,
                                          "meter_event_name": "api_requests"})

    assert response.status_code == 302
    assert response["Location"] == LIST
    mapping = PriceMapping.objects.get(vendor=tenant.vendor)
    assert (mapping.price_id, mapping.template, mapping.meter_event_name) == (
        "price_1PqRsTuV", template, "api_requests")
    entry = ObjectLogEntry.objects.for_object(mapping).get(action="created")
    assert entry.actor_label == tenant.owner.email
    subscription_of(tenant, price_id="price_1PqRsTuV")
    content = owner_client.get(LIST).content.decode()
    assert "price_1PqRsTuV" in content and "api_requests" in content
    assert '<td class="num">1</td>' in content  # one subscription to it


def test_a_price_is_mapped_once(tenant, owner_client):
    template = template_of(tenant)
    owner_client.post(CREATE, {"price_id": "price_abc", "template": template.pk})

    response = owner_client.post(CREATE, {"price_id": "price_abc", "template": template.pk})

    assert response.status_code == 200
    assert response.context["form"].errors["price_id"] == [ALREADY_MAPPED]
    assert PriceMapping.objects.count() == 1


@pytest.mark.parametrize(("data", "field", "message"), [
    ({"price_id": "prod_123"}, "price_id", "starts with price_"),
    ({"price_id": "price_ has space"}, "price_id", "starts with price_"),
    ({"price_id": ""}, "price_id", "This field is required."),
    ({"meter_event_name": "api requests"}, "meter_event_name", "meter event name"),
    ({"template": ""}, "template", "This field is required."),
    ({"template": "abc"}, "template", "Select a valid choice"),
])
def test_bad_input_is_a_form_error(tenant, owner_client, data, field, message):
    response = owner_client.post(CREATE, {"price_id": "price_ok", "template":
                                          template_of(tenant).pk, **data})

    assert response.status_code == 200
    assert message in str(response.context["form"].errors[field])
    assert not PriceMapping.objects.exists()


def test_another_vendors_template_is_a_form_error(tenant, other_tenant, owner_client):
    response = owner_client.post(CREATE, {"price_id": "price_x",
                                          "template": template_of(other_tenant).pk})

    assert response.status_code == 200
    assert "Select a valid choice" in str(response.context["form"].errors["template"])
    assert not PriceMapping.objects.exists()


def test_the_service_refuses_another_vendors_template_and_a_taken_price(tenant, other_tenant):
    with pytest.raises(DomainError) as refused:
        price_mapping_save(vendor=tenant.vendor, actor=SYSTEM, price_id="price_x",
                           template=template_of(other_tenant))
    assert refused.value.field == "template"
    mapping = price_mapping_save(vendor=tenant.vendor, actor=SYSTEM, price_id="price_x",
                                 template=template_of(tenant))
    with pytest.raises(DomainError, match=ALREADY_MAPPED):
        price_mapping_save(vendor=tenant.vendor, actor=SYSTEM, price_id="price_x",
                           template=template_of(tenant, "Other"))
    # The same price id in another vendor's Stripe account is another price.
    price_mapping_save(vendor=other_tenant.vendor, actor=SYSTEM, price_id="price_x",
                       template=template_of(other_tenant))
    changed = price_mapping_save(vendor=tenant.vendor, actor=SYSTEM, price_id="price_x",
                                 template=template_of(tenant, "Other"), mapping=mapping,
                                 meter_event_name="calls")
    assert (changed.pk, changed.template.name, changed.meter_event_name) == (
        mapping.pk, "Other", "calls")


def test_owner_removes_a_mapping_and_a_second_click_is_told_so(tenant, owner_client):
    mapping = price_mapping_save(vendor=tenant.vendor, actor=SYSTEM, price_id="price_gone",
                                 template=template_of(tenant))

    response = owner_client.post(_remove(mapping))

    assert response.status_code == 302
    assert not PriceMapping.objects.filter(pk=mapping.pk).exists()
    assert ObjectLogEntry.objects.filter(object_id=str(mapping.pk), action="removed").exists()
    again = owner_client.post(_remove(mapping), follow=True)
    assert "That price was already removed." in again.content.decode()


def test_another_vendor_cannot_remove_or_see_a_mapping(tenant, other_vendor_client):
    mapping = price_mapping_save(vendor=tenant.vendor, actor=SYSTEM, price_id="price_mine",
                                 template=template_of(tenant))

    response = other_vendor_client.post(_remove(mapping), follow=True)

    assert "That price was already removed." in response.content.decode()
    assert PriceMapping.objects.filter(pk=mapping.pk).exists()
    assert "price_mine" not in other_vendor_client.get(LIST).content.decode()


def test_read_only_members_see_the_prices_but_cannot_change_them(tenant, read_only_client):
    mapping = price_mapping_save(vendor=tenant.vendor, actor=SYSTEM, price_id="price_ro",
                                 template=template_of(tenant))

    content = read_only_client.get(LIST).content.decode()
    assert "price_ro" in content
    assert 'id="price-mapping-form"' not in content and _remove(mapping) not in content
    assert read_only_client.post(CREATE, {"price_id": "price_new",
                                          "template": mapping.template.pk}).status_code == 403
    assert read_only_client.post(_remove(mapping)).status_code == 403
    assert list(PriceMapping.objects.values_list("price_id", flat=True)) == ["price_ro"]
