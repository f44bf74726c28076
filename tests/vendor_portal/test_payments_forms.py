"""Payment forms (vendor side): the list with prices, order counts and public links, and the
create/edit form with up to ten prices typed in major units (49.00)."""

from __future__ import annotations

from django.urls import reverse

from apps.audit.models import ObjectLogEntry
from apps.commerce.models import Order, PaymentForm
from apps.licensing.models import LicenseTemplate

from .payments_data import account_of, form_of, order_of, template_of

LIST = reverse("vendor_portal:payment_form_list")
CREATE = reverse("vendor_portal:payment_form_create")


def _edit(form: PaymentForm) -> str:
    return reverse("vendor_portal:payment_form_edit", args=[form.pk])


def _data(template: LicenseTemplate, rows: list[tuple[str, str, str]] | None = None,
          **fields) -> dict:
    rows = [("1 seat", "49.00", ""), ("5 seats", "199", "5")] if rows is None else rows
    data = {"title": "Pro licence", "template": template.pk, "currency": "EUR",
            "description": "Our best plan", "prices-TOTAL_FORMS": len(rows),
            "prices-INITIAL_FORMS": 0, **fields}
    for i, (label, price, seats) in enumerate(rows):
        data |= {f"prices-{i}-label": label, f"prices-{i}-price": price,
                 f"prices-{i}-seats": seats}
    return data


def _errors(response) -> str:
    """Every error the page shows: the form's, the prices' and each price row's."""
    prices = response.context["prices"]
    return " ".join([*(str(e) for e in response.context["form"].errors.values()),
                     *(str(e) for e in prices.non_form_errors()),
                     *(str(e) for row in prices.errors for e in row.values())])


def test_the_list_shows_each_form_with_its_prices_orders_and_public_link(tenant, owner_client):
    account_of(tenant)
    form = form_of(tenant)
    order_of(tenant, form=form)
    order_of(tenant, form=form, status=Order.PENDING)

    response = owner_client.get(LIST)

    assert response.status_code == 200
    content = response.content.decode()
    assert "Pro licence" in content
    assert f"{tenant.product.name}: Pro" in content
    assert "1 seat: 49.00 EUR" in content
    assert "5 seats: 199.00 EUR (5 seats)" in content
    assert '<td class="num">2 (1)</td>' in content
    assert f"http://testserver/pay/{form.public_id}/" in content
    assert "Taking orders" in content
    assert "Stripe is not set up yet" not in content


def test_without_stripe_or_templates_the_list_says_what_to_do(tenant, owner_client):
    content = owner_client.get(LIST).content.decode()

    assert "Stripe is not set up yet" in content
    assert reverse("vendor_portal:stripe_settings") in content
    assert "You have no license template yet." in content
    assert reverse("vendor_portal:template_list", args=[tenant.product.pk]) in content
    assert reverse("vendor_portal:payment_form_create") not in content


def test_owner_creates_a_form_with_prices_in_the_smallest_unit(tenant, owner_client):
    template = template_of(tenant)

    response = owner_client.post(CREATE, _data(template, rows=[
        ("1 seat", "49.00", ""), ("5 seats", "199", "5"), ("", "", ""), ("Tiny", "0.01", "0"),
        ("Odd", "19.99", "")]))

    assert response.status_code == 302
    assert response["Location"] == LIST
    form = PaymentForm.objects.get(vendor=tenant.vendor)
    assert (form.title, form.template, form.currency, form.active) == (
        "Pro licence", template, "eur", True)
    assert [(o.label, o.amount, o.seats) for o in form.options.all()] == [
        ("1 seat", 4900, 0), ("5 seats", 19900, 5), ("Tiny", 1, 0), ("Odd", 1999, 0)]
    assert ObjectLogEntry.objects.for_object(form).filter(action="created").exists()


def test_prices_that_are_not_amounts_are_form_errors(tenant, owner_client):
    template = template_of(tenant)
    for price, message in (("abc", "Enter a number."), ("0", "greater than or equal to 0.01"),
                           ("-5", "greater than or equal to 0.01"),
                           ("1000000.00", "at most 999,999.99 EUR"),
                           ("1.234", "no more than 2 decimal places"),
                           ("1e400", "no more than 12 digits"), ("NaN", "Enter a number.")):
        response = owner_client.post(CREATE, _data(template, rows=[("1 seat", price, "")]))
        assert response.status_code == 200, price
        assert message in _errors(response), (price, _errors(response))
    assert not PaymentForm.objects.exists()


def test_more_than_ten_prices_are_refused(tenant, owner_client):
    rows = [(f"{n} seats", "10.00", str(n)) for n in range(1, 12)]

    response = owner_client.post(CREATE, _data(template_of(tenant), rows=rows))

    assert response.status_code == 200
    assert "Please submit at most 10 forms." in _errors(response)
    assert not PaymentForm.objects.exists()
    ten = owner_client.post(CREATE, _data(template_of(tenant), rows=rows[:10]))
    assert ten.status_code == 302
    assert PaymentForm.objects.get().options.count() == 10


def test_a_form_needs_a_price_and_each_price_a_label(tenant, owner_client):
    template = template_of(tenant)

    nothing = owner_client.post(CREATE, _data(template, rows=[("", "", "")]))
    unlabelled = owner_client.post(CREATE, _data(template, rows=[("", "49.00", "")]))
    unpriced = owner_client.post(CREATE, _data(template, rows=[("1 seat", "", "")]))

    assert "Add at least one price." in _errors(nothing)
    assert "Each price needs a label" in _errors(unlabelled)
    assert "Enter the price, e.g. 49.00." in _errors(unpriced)
    assert not PaymentForm.objects.exists()


def test_another_vendors_template_is_a_form_error(tenant, other_tenant, owner_client):
    theirs = template_of(other_tenant)

    response = owner_client.post(CREATE, _data(theirs))

    assert response.status_code == 200
    assert "Select a valid choice" in str(response.context["form"].errors["template"])
    assert not PaymentForm.objects.exists()


def test_yen_prices_are_whole_yen(tenant, owner_client):
    template = template_of(tenant)

    cents = owner_client.post(CREATE, _data(template, currency="JPY", rows=[("1", "12.50", "")]))
    assert cents.status_code == 200
    assert "JPY prices have no decimals." in _errors(cents)
    assert not PaymentForm.objects.exists()

    response = owner_client.post(CREATE, _data(template, currency="JPY", rows=[("1", "1200", "")]))
    assert response.status_code == 302
    form = PaymentForm.objects.get()
    assert (form.currency, form.options.get().amount) == ("jpy", 1200)
    assert "1: 1,200 JPY" in owner_client.get(LIST).content.decode()
    assert 'value="1200"' in owner_client.get(_edit(form)).content.decode()


def test_bad_currencies_and_missing_price_rows_are_form_errors_not_500s(tenant, owner_client):
    template = template_of(tenant)
    letters = owner_client.post(CREATE, _data(template, currency="e1r"))
    data = _data(template)
    del data["prices-TOTAL_FORMS"]
    no_management = owner_client.post(CREATE, data)

    assert "three-letter ISO code" in str(letters.context["form"].errors)
    assert no_management.status_code == 200
    assert "ManagementForm data is missing" in _errors(no_management)
    assert not PaymentForm.objects.exists()


def test_the_edit_page_shows_the_prices_in_major_units(tenant, owner_client):
    form = form_of(tenant)

    response = owner_client.get(_edit(form))

    assert response.status_code == 200
    content = response.content.decode()
    assert 'value="1 seat"' in content and 'value="49.00"' in content
    assert 'value="199.00"' in content
    assert f"/pay/{form.public_id}/" in content
    assert 'name="active"' in content


def test_owner_closes_a_form_and_changes_its_prices(tenant, owner_client):
    form = form_of(tenant)

    response = owner_client.post(_edit(form), _data(form.template, rows=[
        ("Site licence", "999.50", "50")], title="Site"))

    assert response.status_code == 302
    form.refresh_from_db()
    assert (form.title, form.active) == ("Site", False)  # "active" not ticked
    assert [(o.label, o.amount, o.seats) for o in form.options.all()] == [
        ("Site licence", 99950, 50)]
    reopened = owner_client.post(_edit(form), _data(form.template, active="on"))
    assert reopened.status_code == 302
    form.refresh_from_db()
    assert form.active


def test_another_vendors_form_is_404_and_unchanged(tenant, other_tenant, owner_client):
    theirs = form_of(other_tenant, title="Theirs")

    assert owner_client.get(_edit(theirs)).status_code == 404
    assert owner_client.post(_edit(theirs), _data(template_of(tenant))).status_code == 404

    theirs.refresh_from_db()
    assert (theirs.title, theirs.active) == ("Theirs", True)
    assert "Theirs" not in owner_client.get(LIST).content.decode()


def test_read_only_members_see_the_list_but_cannot_create_or_edit(tenant, read_only_client):
    form = form_of(tenant)

    listed = read_only_client.get(LIST)
    assert listed.status_code == 200
    assert _edit(form) not in listed.content.decode()
    assert read_only_client.get(CREATE).status_code == 403
    assert read_only_client.post(CREATE, _data(form.template)).status_code == 403
    assert read_only_client.post(_edit(form), _data(form.template, title="X")).status_code == 403
    form.refresh_from_db()
    assert form.title == "Pro licence"
    assert PaymentForm.objects.count() == 1
