from django.urls import reverse


def test_dashboard_lists_products_for_the_owner(tenant, owner_client):
    response = owner_client.get(reverse("vendor_portal:dashboard"))
    assert response.status_code == 200
    assert tenant.product.name in response.content.decode()
