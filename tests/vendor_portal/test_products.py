from django.urls import reverse

from apps.audit.models import ObjectLogEntry
from apps.licensing.models import Product

PRODUCT_FORM = {"name": "Photo Editor Pro", "description": "Desktop app", "f1_name": "Export",
                "f2_name": "Cloud sync", "default_max_machines": 3, "trial_period_days": 30,
                "trial_max_machines": 1, "trial_feature": 2, "time_limited_feature": 0,
                "activation_form_enabled": "on"}


def test_product_list_shows_the_vendors_products(tenant, read_only_client):
    response = read_only_client.get(reverse("vendor_portal:product_list"))
    assert response.status_code == 200
    assert [p.pk for p in response.context["products"]] == [tenant.product.pk]
    assert tenant.product.name in response.content.decode()


def test_owner_creates_a_product(tenant, owner_client):
    response = owner_client.post(reverse("vendor_portal:product_create"), PRODUCT_FORM)
    product = Product.objects.get(vendor=tenant.vendor, name="Photo Editor Pro")
    assert response.status_code == 302
    assert response["Location"] == reverse("vendor_portal:key_list", args=[product.pk])
    assert (product.f1_name, product.f2_name, product.default_max_machines) == (
        "Export", "Cloud sync", 3)
    assert (product.trial_period_days, product.trial_feature) == (30, 2)
    assert product.activation_form_enabled is True
    entry = ObjectLogEntry.objects.for_object(product).get()
    assert (entry.action, entry.actor_label) == ("created", tenant.owner.email)


def test_admin_edits_a_product(tenant, admin_client_):
    url = reverse("vendor_portal:product_edit", args=[tenant.product.pk])
    page = admin_client_.get(url)
    assert page.context["form"].initial["name"] == tenant.product.name
    response = admin_client_.post(url, {**PRODUCT_FORM, "name": "Renamed", "f1_name": "Print"})
    assert response.status_code == 302
    tenant.product.refresh_from_db()
    assert (tenant.product.name, tenant.product.f1_name) == ("Renamed", "Print")
    entry = ObjectLogEntry.objects.for_object(tenant.product).get(action="updated")
    assert entry.changes["f1_name"] == ["", "Print"]


def test_product_without_a_name_is_refused(tenant, owner_client):
    response = owner_client.post(reverse("vendor_portal:product_create"),
                                 {**PRODUCT_FORM, "name": ""})
    assert response.status_code == 200
    assert "name" in response.context["form"].errors
    assert not Product.objects.filter(vendor=tenant.vendor, description="Desktop app").exists()


def test_trial_feature_outside_1_to_8_is_refused(tenant, owner_client):
    url = reverse("vendor_portal:product_edit", args=[tenant.product.pk])
    response = owner_client.post(url, {**PRODUCT_FORM, "trial_feature": 9})
    assert response.status_code == 200
    assert "trial_feature" in response.context["form"].errors
    tenant.product.refresh_from_db()
    assert tenant.product.trial_feature == 0
