"""The key page shows each device's data objects under the device; the product's key list
shows the product's own data objects."""

from django.urls import reverse

from apps.licensing.models import DataObject
from tests.factories import make_activation


def _machine_object(key, code: str, name: str, value: int) -> DataObject:
    return DataObject.objects.create(machine_key=key, machine_code=code, name=name,
                                     int_value=value, referencer_type=DataObject.MACHINE_CODE)


def test_a_devices_data_objects_show_under_that_device(tenant, owner_client):
    make_activation(tenant.key, "second-pc")
    _machine_object(tenant.key, tenant.activation.machine_code, "runs_here", 7)
    _machine_object(tenant.key, "second-pc", "other_runs", 9)

    response = owner_client.get(reverse("vendor_portal:key_detail", args=[tenant.key.pk]))

    html = response.content.decode()
    assert response.status_code == 200
    first, second = (html.index(tenant.activation.machine_code), html.index("second-pc"))
    assert first < html.index("runs_here") < second < html.index("other_runs")
    assert "runs_here</span> = 7" in html
    # The key's own data-object table lists the key's objects, not the devices'.
    assert [o.name for o in response.context["data_objects"]] == ["usage"]


def test_the_product_page_lists_the_products_data_objects(tenant, other_tenant, owner_client):
    DataObject.objects.create(product=tenant.product, referencer_type=DataObject.PRODUCT,
                              name="cryptolens_trialactivation", string_value="first_activation")
    DataObject.objects.create(product=other_tenant.product, referencer_type=DataObject.PRODUCT,
                              name="not_ours")

    html = owner_client.get(reverse("vendor_portal:key_list",
                                    args=[tenant.product.pk])).content.decode()

    assert "cryptolens_trialactivation" in html and "first_activation" in html
    assert "not_ours" not in html
