"""The vendor's reseller pages: invitations, rights, per-reseller log and billing report."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from apps.accounts.models import Reseller
from apps.audit.log import Actor
from apps.audit.models import ObjectLogEntry
from apps.core.errors import DomainError
from apps.licensing.models import AccessToken, Issuance, IssuanceRight
from apps.licensing.services.resellers import (
    QUOTA_USED_UP,
    reseller_customer_create,
    reseller_issue_key,
    right_grant,
    template_create,
)


@pytest.fixture
def setup(tenant):
    actor = Actor.for_user(tenant.owner)
    template = template_create(product=tenant.product, actor=actor, name="Pro, 1 year",
                               period=365, f1=True)
    reseller = Reseller.objects.create(vendor=tenant.vendor, name="Partner",
                                       company="Partner GmbH", email="p@partner.example")
    return tenant, template, reseller, actor


def test_inviting_a_reseller_mails_an_absolute_accept_link(tenant, owner_client,
                                                           django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(reverse("vendor_portal:reseller_invite"), {
            "name": "Partner", "company": "Partner GmbH", "email": "P@Partner.example",
            "url": "https://partner.example", "phone": "+49 1", "description": "EU"})

    reseller = Reseller.objects.get(vendor=tenant.vendor)
    assert response.status_code == 200  # the link is shown once, to copy
    assert reverse("vendor_portal:reseller_detail", args=[reseller.pk]) in response.content.decode()
    assert (reseller.email, reseller.company, reseller.phone) == (
        "p@partner.example", "Partner GmbH", "+49 1")
    assert mail.outbox[-1].to == ["p@partner.example"]
    assert "http://testserver/reseller/accept/" in mail.outbox[-1].body
    assert "{token}" not in mail.outbox[-1].body
    listing = owner_client.get(reverse("vendor_portal:reseller_list")).content.decode()
    assert "Partner GmbH" in listing and "Invited" in listing


def test_granting_a_right_from_the_detail_page(setup, owner_client):
    _, template, reseller, _ = setup
    response = owner_client.post(reverse("vendor_portal:right_grant", args=[reseller.pk]), {
        "template": template.pk, "quota": 5, "valid_until": "2099-01-31", "name": "Q1"})

    assert response.status_code == 302
    right = IssuanceRight.objects.get(reseller=reseller)
    assert (right.template, right.quota, right.name) == (template, 5, "Q1")
    assert right.valid_until.date() == dt.date(2099, 1, 31)
    page = owner_client.get(reverse("vendor_portal:reseller_detail", args=[reseller.pk]))
    cells = page.content.decode()
    assert "Pro, 1 year" in cells and "2099-01-31" in cells


def test_another_vendors_template_cannot_be_granted(setup, other_tenant, owner_client):
    _, _, reseller, _ = setup
    theirs = template_create(product=other_tenant.product, actor=Actor.for_system(), name="X")
    response = owner_client.post(reverse("vendor_portal:right_grant", args=[reseller.pk]),
                                 {"template": theirs.pk, "quota": 5})
    assert response.status_code == 200
    assert not IssuanceRight.objects.exists()


@pytest.mark.parametrize("action, expected", [("pause", "paused"), ("stop", "stopped")])
def test_pausing_and_stopping_a_right(setup, owner_client, action, expected):
    _, template, reseller, actor = setup
    right = right_grant(reseller=reseller, template=template, quota=5, actor=actor)
    owner_client.post(reverse("vendor_portal:right_change", args=[right.pk]),
                      {"action": action})
    right.refresh_from_db()
    assert right.status == expected


def test_a_paused_right_can_be_resumed_but_a_stopped_one_cannot(setup, owner_client):
    _, template, reseller, actor = setup
    right = right_grant(reseller=reseller, template=template, quota=5, actor=actor)
    url = reverse("vendor_portal:right_change", args=[right.pk])
    owner_client.post(url, {"action": "pause"})
    owner_client.post(url, {"action": "resume"})
    right.refresh_from_db()
    assert right.status == "active"
    owner_client.post(url, {"action": "stop"})
    response = owner_client.post(url, {"action": "resume"}, follow=True)
    right.refresh_from_db()
    assert right.status == "stopped"
    assert "A stopped right cannot be resumed" in response.content.decode()


def test_raising_and_lowering_the_quota_but_not_below_what_was_issued(setup, owner_client):
    _, template, reseller, actor = setup
    right = right_grant(reseller=reseller, template=template, quota=2, actor=actor)
    reseller_issue_key(right=right, actor=actor)
    url = reverse("vendor_portal:right_change", args=[right.pk])

    owner_client.post(url, {"action": "quota", "quota": 10})
    right.refresh_from_db()
    assert right.quota == 10
    response = owner_client.post(url, {"action": "quota", "quota": 0}, follow=True)
    right.refresh_from_db()
    assert right.quota == 10
    assert "1 licenses were already issued under this right." in response.content.decode()


def test_other_vendor_gets_404_and_read_only_gets_403(setup, other_vendor_client,
                                                     read_only_client):
    _, template, reseller, actor = setup
    right = right_grant(reseller=reseller, template=template, quota=5, actor=actor)
    for name, args in (("reseller_detail", [reseller.pk]), ("reseller_log", [reseller.pk]),
                       ("right_grant", [reseller.pk])):
        assert other_vendor_client.get(reverse(f"vendor_portal:{name}", args=args)
                                       ).status_code == 404
    change = reverse("vendor_portal:right_change", args=[right.pk])
    assert other_vendor_client.post(change, {"action": "stop"}).status_code == 404
    assert read_only_client.post(change, {"action": "stop"}).status_code == 403
    right.refresh_from_db()
    assert right.status == "active"
    for name in ("reseller_list", "billing_report"):
        content = other_vendor_client.get(reverse(f"vendor_portal:{name}")).content.decode()
        assert "Partner" not in content


def test_reseller_detail_lists_the_keys_it_issued(setup, owner_client):
    _, template, reseller, actor = setup
    right = right_grant(reseller=reseller, template=template, quota=5, actor=actor)
    key = reseller_issue_key(right=right, actor=actor)
    page = owner_client.get(reverse("vendor_portal:reseller_detail", args=[reseller.pk]))
    assert key.key in page.content.decode()


def test_the_reseller_log_has_its_rights_customers_and_refusals_only(setup, owner_client):
    tenant, template, reseller, actor = setup
    other = Reseller.objects.create(vendor=tenant.vendor, name="Other", email="o@o.example")
    right = right_grant(reseller=reseller, template=template, quota=1, actor=actor)
    right_grant(reseller=other, template=template, quota=1, name="Not theirs", actor=actor)
    reseller_customer_create(reseller=reseller, actor=actor, name="Contoso")
    reseller_issue_key(right=right, actor=actor)
    with pytest.raises(DomainError):
        reseller_issue_key(right=right, actor=actor)

    page = owner_client.get(reverse("vendor_portal:reseller_log", args=[reseller.pk]))

    actions = [entry.action for entry in page.context["page"]]
    assert sorted(actions) == ["created", "granted", "issue refused", "key issued"]
    assert QUOTA_USED_UP in page.content.decode()
    assert "Not theirs" not in page.content.decode()


def _csv(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.content.decode())))


def test_billing_csv_counts_match_the_object_log(setup, owner_client):
    tenant, template, reseller, actor = setup
    basic = template_create(product=tenant.product, actor=actor, name="Basic")
    pro_right = right_grant(reseller=reseller, template=template, quota=3, actor=actor)
    basic_right = right_grant(reseller=reseller, template=basic, quota=2, actor=actor)
    for _ in range(3):
        reseller_issue_key(right=pro_right, actor=actor)
    reseller_issue_key(right=basic_right, actor=actor)
    with pytest.raises(DomainError):
        reseller_issue_key(right=pro_right, actor=actor)  # refused: not billed

    response = owner_client.get(reverse("vendor_portal:billing_report"), {"format": "csv"})

    assert response["Content-Type"].startswith("text/csv")
    rows = _csv(response)
    month = f"{timezone.now():%Y-%m}"
    assert rows == [["Reseller", "Company", "Month", "Template", "Licenses issued"],
                    ["Partner", "Partner GmbH", month, "Basic", "1"],
                    ["Partner", "Partner GmbH", month, "Pro, 1 year", "3"]]
    issued = ObjectLogEntry.objects.for_vendor(tenant.vendor).filter(action="key issued")
    per_right = {r.pk: issued.filter(object_id=str(r.pk)).count()
                 for r in (pro_right, basic_right)}
    assert per_right == {pro_right.pk: 3, basic_right.pk: 1}
    assert sum(int(r[4]) for r in rows[1:]) == issued.count()


def test_billing_date_range_filters_by_issuance_time(setup, owner_client):
    _, template, reseller, actor = setup
    right = right_grant(reseller=reseller, template=template, quota=5, actor=actor)
    old = reseller_issue_key(right=right, actor=actor)
    Issuance.objects.filter(key=old).update(time=timezone.now() - dt.timedelta(days=70))
    reseller_issue_key(right=right, actor=actor)
    today = timezone.localdate()

    page = owner_client.get(reverse("vendor_portal:billing_report"),
                            {"since": f"{today - dt.timedelta(days=1)}", "until": f"{today}"})
    assert [row["count"] for row in page.context["rows"]] == [1]
    everything = owner_client.get(reverse("vendor_portal:billing_report"))
    assert sum(row["count"] for row in everything.context["rows"]) == 2
    assert 'id="billing-total">2<' in everything.content.decode()


def test_a_token_can_be_locked_to_a_template(setup, owner_client):
    _, template, _, _ = setup
    response = owner_client.post(reverse("vendor_portal:token_create"), {
        "name": "Shop", "permissions": ["key.CreateKeyFromTemplate"],
        "template_lock": template.pk})
    assert response.status_code == 200
    assert AccessToken.objects.get(name="Shop").template_lock == template


def test_a_template_lock_of_another_product_than_the_product_lock_is_refused(
        setup, owner_client):
    tenant, template, _, _ = setup
    from tests.factories import ProductFactory

    second = ProductFactory(vendor=tenant.vendor)
    response = owner_client.post(reverse("vendor_portal:token_create"), {
        "name": "Shop", "permissions": ["key.CreateKeyFromTemplate"], "product": second.pk,
        "template_lock": template.pk})
    assert "The locked template must belong to the locked product." in response.content.decode()
    assert not AccessToken.objects.filter(name="Shop").exists()


# --- Sending an invitation again, copying its link, the sign-up form. ---


def _invite(owner_client, capture):
    with capture(execute=True):
        return owner_client.post(reverse("vendor_portal:reseller_invite"), {
            "name": "Partner", "email": "p@partner.example"})


def test_the_sent_invitation_shows_its_link_to_copy(tenant, owner_client,
                                                    django_capture_on_commit_callbacks):
    page = _invite(owner_client, django_capture_on_commit_callbacks).content.decode()
    link = mail.outbox[-1].body.split("\n")[3]
    assert link.startswith("http://testserver/reseller/accept/")
    assert f'<p class="mono secret" id="invitation-link">{link}</p>' in page
    assert 'data-copy="#invitation-link"' in page


def test_sending_a_reseller_invitation_again_mails_a_new_link(
        tenant, owner_client, client, django_capture_on_commit_callbacks):
    _invite(owner_client, django_capture_on_commit_callbacks)
    reseller = Reseller.objects.get(vendor=tenant.vendor)
    old = mail.outbox[-1].body.split("\n")[3].removeprefix("http://testserver")
    detail = owner_client.get(reverse("vendor_portal:reseller_detail", args=[reseller.pk]))
    resend_url = reverse("vendor_portal:reseller_invitation_resend", args=[reseller.pk])
    assert resend_url in detail.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(resend_url)
    assert response.status_code == 200 and len(mail.outbox) == 2
    new = mail.outbox[-1].body.split("\n")[3].removeprefix("http://testserver")
    assert new != old and new in response.content.decode()
    assert client.get(old).status_code == 404
    assert client.get(new).status_code == 302
    assert ObjectLogEntry.objects.for_object(reseller).filter(action="invitation resent").exists()


def test_an_accepted_reseller_is_not_invited_again(setup, owner_client, read_only_client):
    tenant, _, reseller, _ = setup
    url = reverse("vendor_portal:reseller_invitation_resend", args=[reseller.pk])
    assert read_only_client.post(url).status_code == 403
    Reseller.objects.filter(pk=reseller.pk).update(accepted_at=timezone.now(),
                                                   user=tenant.read_only)
    response = owner_client.post(url, follow=True)
    assert "This reseller has already accepted the invitation." in response.content.decode()
    assert mail.outbox == []


def test_an_invited_reseller_finds_the_address_filled_in_on_the_sign_up_form(
        tenant, owner_client, client, django_capture_on_commit_callbacks):
    _invite(owner_client, django_capture_on_commit_callbacks)
    client.get(mail.outbox[-1].body.split("\n")[3].removeprefix("http://testserver"))
    assert 'value="p@partner.example"' in client.get(reverse("account_signup")).content.decode()
