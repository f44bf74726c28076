"""Issuing a key under a right: the quota counts down, closed rights and the 6th of 5 refuse."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone
from pytest_django.asserts import assertContains, assertNotContains

from apps.audit.models import ObjectLogEntry
from apps.licensing.models import Issuance, IssuanceRight, LicenseKey
from apps.licensing.services.resellers import (
    QUOTA_USED_UP,
    RIGHT_CLOSED,
    right_grant,
    right_update,
)
from tests.factories import CustomerFactory

from .personas import SYSTEM, client_for


def _issue_url(right) -> str:
    return reverse("reseller_portal:key_issue", args=[right.pk])


@pytest.fixture
def fresh_right(resellers) -> IssuanceRight:
    return right_grant(reseller=resellers.me.reseller, template=resellers.template, quota=5,
                       actor=SYSTEM)


def test_issuing_redirects_to_the_new_key_and_decrements_remaining(resellers, reseller_client,
                                                                 fresh_right):
    response = reseller_client.post(_issue_url(fresh_right), {"customer": ""})

    key = LicenseKey.objects.filter(reseller=resellers.me.reseller).order_by("-id").first()
    assert response.status_code == 302
    assert response["Location"] == reverse("reseller_portal:key_detail", args=[key.pk])
    assert (key.product, key.customer, key.max_no_of_machines, key.f1) == (
        resellers.tenant.product, None, 2, True)
    fresh_right.refresh_from_db()
    assert (fresh_right.issued, fresh_right.remaining) == (1, 4)
    page = reseller_client.get(_issue_url(fresh_right))
    assert page.context["right"].remaining == 4
    assertContains(page, "<b>4</b> of 5", html=False)


def test_the_sixth_key_of_five_is_refused_with_the_quota_message(resellers, reseller_client,
                                                                fresh_right):
    for _ in range(5):
        assert reseller_client.post(_issue_url(fresh_right), {"customer": ""}).status_code == 302

    response = reseller_client.post(_issue_url(fresh_right), {"customer": ""})

    assert response.status_code == 200
    assertContains(response, QUOTA_USED_UP)
    assertContains(response, 'id="form-refusal"')
    assert response.context["right"].remaining == 0
    assert Issuance.objects.filter(right=fresh_right).count() == 5
    assert ObjectLogEntry.objects.for_object(fresh_right).filter(
        action="issue refused").count() == 1


def test_a_form_opened_before_the_last_key_went_shows_the_refusal(resellers):
    """Two browsers racing for the last license: one key, one "quota used up" message."""
    right = right_grant(reseller=resellers.me.reseller, template=resellers.template, quota=1,
                        actor=SYSTEM)
    first_browser, second_browser = client_for(resellers.me.user), client_for(resellers.me.user)
    assert first_browser.get(_issue_url(right)).context["right"].remaining == 1
    assert second_browser.get(_issue_url(right)).context["right"].remaining == 1

    outcomes = [first_browser.post(_issue_url(right), {"customer": ""}),
                second_browser.post(_issue_url(right), {"customer": ""})]

    assert [r.status_code for r in outcomes] == [302, 200]
    assertContains(outcomes[1], QUOTA_USED_UP)
    assert Issuance.objects.filter(right=right).count() == 1


@pytest.mark.parametrize("change", [
    {"status": IssuanceRight.PAUSED},
    {"status": IssuanceRight.STOPPED},
    {"valid_until": timezone.now() - dt.timedelta(minutes=1)},
], ids=["paused", "stopped", "expired"])
def test_closed_rights_refuse_with_a_message_and_issue_nothing(resellers, reseller_client,
                                                             fresh_right, change):
    right_update(right=fresh_right, actor=SYSTEM, **change)
    page = reseller_client.get(_issue_url(fresh_right))
    assertContains(page, "This right issues no more keys")
    assertNotContains(page, '<button type="submit">Issue key</button>', html=True)

    response = reseller_client.post(_issue_url(fresh_right), {"customer": ""})

    assert response.status_code == 200
    assertContains(response, RIGHT_CLOSED)
    assert not Issuance.objects.filter(right=fresh_right).exists()


def test_a_key_for_one_of_the_resellers_customers_carries_it(resellers, reseller_client,
                                                            fresh_right):
    customer = resellers.me.customer
    page = reseller_client.get(_issue_url(fresh_right) + f"?customer={customer.pk}")
    assertContains(page, f'<option value="{customer.pk}" selected>', html=False)

    reseller_client.post(_issue_url(fresh_right), {"customer": customer.pk})

    assert Issuance.objects.get(right=fresh_right).key.customer == customer


def test_customers_of_other_resellers_and_of_the_vendor_are_not_offered_nor_accepted(
        resellers, reseller_client, fresh_right):
    vendors_own = CustomerFactory(vendor=resellers.tenant.vendor, name="Vendor Own Customer")
    page = reseller_client.get(_issue_url(fresh_right))
    offered = list(page.context["form"].fields["customer"].queryset)
    assert offered == [resellers.me.customer]

    for customer in (resellers.rival.customer, vendors_own, resellers.foreign.customer):
        response = reseller_client.post(_issue_url(fresh_right), {"customer": customer.pk})
        assert response.status_code == 200
        assertContains(response, "Select a valid choice")
    assert not Issuance.objects.filter(right=fresh_right).exists()


def test_a_customer_shared_with_resellers_is_offered(resellers, reseller_client, fresh_right):
    shared = CustomerFactory(vendor=resellers.tenant.vendor, shared_with_resellers=True)
    reseller_client.post(_issue_url(fresh_right), {"customer": shared.pk})
    assert Issuance.objects.get(right=fresh_right).key.customer == shared


def test_issuing_under_another_resellers_right_is_404(resellers, reseller_client):
    for right in (resellers.rival.right, resellers.foreign.right):
        assert reseller_client.get(_issue_url(right)).status_code == 404
        assert reseller_client.post(_issue_url(right), {"customer": ""}).status_code == 404
        right.refresh_from_db()
        assert right.issued == 1
