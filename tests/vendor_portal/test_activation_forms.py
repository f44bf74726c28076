"""A product's activation forms in the vendor portal: list, create, edit, delete."""

from __future__ import annotations

from django.urls import reverse

from apps.audit.log import Actor
from apps.audit.models import ObjectLogEntry
from apps.licensing.models import ActivationForm
from apps.licensing.services.activation_forms import activation_form_create
from tests.licensing.keypool import pooled_signing_keys  # noqa: F401  (autouse: fast RSA keys)

FORM_DATA = {"title": "Activate offline", "instructions": "Use Help → License.",
             "file_format": "string", "validity_days": 90, "allow_new_devices": "on",
             "enabled": "on"}


def _make_form(product, **fields) -> ActivationForm:
    fields.setdefault("title", "Plant floor")
    return activation_form_create(product=product, actor=Actor.for_system("test"), **fields)


def _list_url(product) -> str:
    return reverse("vendor_portal:activation_form_list", args=[product.pk])


def _public_url(form: ActivationForm) -> str:
    return reverse("activation_forms:activation_form", args=[form.slug])


def _logged(form: ActivationForm) -> list[str]:
    return list(ObjectLogEntry.objects.for_object(form).values_list("action", flat=True))


def test_list_shows_each_form_with_its_public_url(tenant, read_only_client):
    form = _make_form(tenant.product)
    response = read_only_client.get(_list_url(tenant.product))
    body = response.content.decode()
    assert response.status_code == 200
    assert form.title in body
    assert f"http://testserver{_public_url(form)}" in body
    assert "New activation form" not in body  # read-only members cannot create


def test_list_warns_when_the_product_has_forms_switched_off(tenant, owner_client):
    assert not tenant.product.activation_form_enabled
    body = owner_client.get(_list_url(tenant.product)).content.decode()
    assert "Activation forms are switched off for this product" in body
    tenant.product.activation_form_enabled = True
    tenant.product.save()
    body = owner_client.get(_list_url(tenant.product)).content.decode()
    assert "switched off" not in body


def test_key_list_links_to_the_products_activation_forms(tenant, read_only_client):
    body = read_only_client.get(reverse("vendor_portal:key_list", args=[tenant.product.pk]))
    assert _list_url(tenant.product) in body.content.decode()


def test_owner_creates_a_form_with_an_unguessable_url(tenant, owner_client):
    response = owner_client.post(
        reverse("vendor_portal:activation_form_create", args=[tenant.product.pk]), FORM_DATA)

    assert response.status_code == 302
    assert response["Location"] == _list_url(tenant.product)
    form = ActivationForm.objects.get(product=tenant.product)
    assert (form.title, form.validity_days, form.allow_new_devices, form.ask_friendly_name,
            form.enabled) == ("Activate offline", 90, True, False, True)
    assert len(form.slug) >= 12
    assert _logged(form) == ["created"]
    second = _make_form(tenant.product)
    assert second.slug != form.slug


def test_invalid_form_data_is_shown_again_and_nothing_is_created(tenant, owner_client):
    response = owner_client.post(
        reverse("vendor_portal:activation_form_create", args=[tenant.product.pk]),
        {**FORM_DATA, "validity_days": 0, "file_format": "pdf"})
    assert response.status_code == 200
    assert set(response.context["form"].errors) == {"validity_days", "file_format"}
    assert not ActivationForm.objects.exists()


def test_admin_edits_a_form_and_the_change_is_logged(tenant, admin_client_):
    form = _make_form(tenant.product)
    response = admin_client_.post(
        reverse("vendor_portal:activation_form_edit", args=[form.pk]),
        {**FORM_DATA, "allow_new_devices": "", "ask_friendly_name": "on"})

    assert response.status_code == 302
    form.refresh_from_db()
    assert (form.title, form.allow_new_devices, form.ask_friendly_name) == \
        ("Activate offline", False, True)
    entry = ObjectLogEntry.objects.for_object(form).get(action="updated")
    assert entry.changes["allow_new_devices"] == [True, False]
    assert entry.actor_label == tenant.admin.email


def test_edit_page_shows_the_current_values(tenant, owner_client):
    form = _make_form(tenant.product, validity_days=7)
    response = owner_client.get(reverse("vendor_portal:activation_form_edit", args=[form.pk]))
    assert response.context["form"].initial["validity_days"] == 7
    assert response.context["form"].initial["title"] == "Plant floor"


def test_deleting_a_form_closes_its_public_url(tenant, owner_client):
    tenant.product.activation_form_enabled = True
    tenant.product.save()
    form = _make_form(tenant.product)
    assert owner_client.get(_public_url(form)).status_code == 200

    response = owner_client.post(reverse("vendor_portal:activation_form_delete", args=[form.pk]))

    assert response.status_code == 302
    assert not ActivationForm.objects.filter(pk=form.pk).exists()
    assert _logged(form) == ["deleted", "created"]
    assert owner_client.get(_public_url(form)).status_code == 404


def test_delete_needs_post(tenant, owner_client):
    form = _make_form(tenant.product)
    url = reverse("vendor_portal:activation_form_delete", args=[form.pk])
    assert owner_client.get(url).status_code == 405
    assert ActivationForm.objects.filter(pk=form.pk).exists()


def test_other_vendor_gets_404_on_every_form_page(tenant, other_vendor_client):
    form = _make_form(tenant.product)
    for url in (_list_url(tenant.product),
                reverse("vendor_portal:activation_form_create", args=[tenant.product.pk]),
                reverse("vendor_portal:activation_form_edit", args=[form.pk])):
        assert other_vendor_client.get(url).status_code == 404, url
    for url in (reverse("vendor_portal:activation_form_edit", args=[form.pk]),
                reverse("vendor_portal:activation_form_delete", args=[form.pk])):
        assert other_vendor_client.post(url, FORM_DATA).status_code == 404, url
    form.refresh_from_db()
    assert form.title == "Plant floor"


def test_read_only_member_cannot_change_forms(tenant, read_only_client):
    form = _make_form(tenant.product)
    assert read_only_client.post(
        reverse("vendor_portal:activation_form_create", args=[tenant.product.pk]), FORM_DATA
    ).status_code == 403
    assert read_only_client.post(
        reverse("vendor_portal:activation_form_edit", args=[form.pk]), FORM_DATA
    ).status_code == 403
    assert read_only_client.post(
        reverse("vendor_portal:activation_form_delete", args=[form.pk])).status_code == 403
    assert list(ActivationForm.objects.all()) == [form]
