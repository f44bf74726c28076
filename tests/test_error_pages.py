"""Refusals and misses show the portal's own pages, with the reason for a refusal."""

from django.test import Client, override_settings
from django.urls import reverse

from .factories import UserFactory


@override_settings(DEBUG=False)
def test_a_customer_portal_refusal_says_why(db):
    client = Client()
    client.force_login(UserFactory())
    response = client.get(reverse("customer_portal:license_list"))
    assert response.status_code == 403
    assert "You are not a user of any customer portal." in response.content.decode()


@override_settings(DEBUG=False)
def test_a_missing_page_uses_the_portal_layout(db):
    response = Client().get("/no-such-page/")
    assert response.status_code == 404
    assert "Page not found" in response.content.decode()
