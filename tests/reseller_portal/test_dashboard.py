"""The reseller's dashboard: their vendor, their rights with quotas, their recent keys."""

from __future__ import annotations

import datetime as dt
import re

from django.urls import reverse
from django.utils import timezone
from pytest_django.asserts import assertContains, assertNotContains

from apps.licensing.models import IssuanceRight
from apps.licensing.services.resellers import right_grant, right_update

from .personas import SYSTEM, client_for, make_reseller

DASHBOARD = reverse("reseller_portal:dashboard")


def _rows(response) -> list[list[str]]:
    body = response.content.decode()
    table = body.split('<table id="rights">')[1].split("</table>")[0]
    rows = re.findall(r"<tr>(.*?)</tr>", table.split("<tbody>")[1], re.S)
    return [[re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", cell)).strip()
             for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)] for row in rows]


def test_dashboard_shows_the_vendor_and_each_right_with_its_quota(resellers, reseller_client):
    response = reseller_client.get(DASHBOARD)
    assert response.status_code == 200
    assertContains(response, resellers.tenant.vendor.name)
    until = timezone.now() + dt.timedelta(days=30)
    right_grant(reseller=resellers.me.reseller, template=resellers.template, quota=3,
                valid_until=until, actor=SYSTEM)

    rows = _rows(reseller_client.get(DASHBOARD))

    product = resellers.tenant.product.name
    assert rows == [
        ["Pro, 1 year", product, "3", "0", "3", f"{until:%Y-%m-%d %H:%M} UTC", "Active",
         "Issue key"],
        ["Pro, 1 year", product, "5", "1", "4", "no end date", "Active", "Issue key"],
    ]


def test_closed_rights_show_their_state_and_offer_no_issue_button(resellers, reseller_client):
    me = resellers.me
    paused = right_grant(reseller=me.reseller, template=resellers.template, quota=2, actor=SYSTEM,
                         name="paused one")
    right_update(right=paused, actor=SYSTEM, status=IssuanceRight.PAUSED)
    right_grant(reseller=me.reseller, template=resellers.template, quota=2, actor=SYSTEM,
                name="expired one", valid_until=timezone.now() - dt.timedelta(days=1))
    right_update(right=me.right, actor=SYSTEM, quota=1)  # its one key issued: used up

    states = {row[0]: (row[6], row[7]) for row in _rows(reseller_client.get(DASHBOARD))}

    assert states == {"Pro, 1 year (paused one)": ("Paused", ""),
                      "Pro, 1 year (expired one)": ("Expired", ""),
                      "Pro, 1 year": ("Used up", "")}


def test_dashboard_lists_only_the_resellers_own_recent_keys(resellers, reseller_client):
    response = reseller_client.get(DASHBOARD)
    assert [k.key for k in response.context["recent_keys"]] == [resellers.me.key.key]
    for hidden in (resellers.rival.key.key, resellers.tenant.key.key,
                   resellers.vendor_key_other_product.key, resellers.foreign.key.key):
        assertNotContains(response, hidden)


def test_header_links_to_the_reseller_portal_for_resellers_only(resellers, reseller_client):
    link = f'<a href="{DASHBOARD}" aria-current="page">Reseller portal</a>'
    assertContains(reseller_client.get(DASHBOARD), link, html=True)
    owner_page = client_for(resellers.tenant.owner).get(reverse("vendor_portal:dashboard"))
    assertNotContains(owner_page, "Reseller portal")


def test_someone_who_is_no_reseller_gets_403(resellers):
    assert client_for(resellers.tenant.owner).get(DASHBOARD).status_code == 403


def test_a_reseller_with_no_rights_is_told_so(resellers):
    newcomer = make_reseller(resellers.tenant.vendor, "Newcomer")
    response = client_for(newcomer.user).get(DASHBOARD)
    assertContains(response, "has not granted you any licenses yet")
    assertContains(response, "You have not issued any keys yet.")
