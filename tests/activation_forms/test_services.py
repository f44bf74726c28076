"""The activation-form services called directly, for rules the public page cannot reach."""

from __future__ import annotations

import pytest

from apps.audit.log import Actor
from apps.audit.models import ObjectLogEntry
from apps.core.errors import DomainError
from apps.licensing.models import ActivationForm
from apps.licensing.services import activation_forms as service
from apps.usage import states
from apps.usage.models import WebApiLog
from tests.activation_forms.conftest import NEW_PC, OFFLINE_PC
from tests.licensing.keypool import pooled_signing_keys  # noqa: F401  (autouse: fast RSA keys)


def test_form_closed_while_its_page_was_open_refuses_and_logs(form_page, tenant):
    ActivationForm.objects.filter(pk=form_page.pk).update(enabled=False)
    with pytest.raises(DomainError) as refused:
        service.activation_form_submit(form=form_page, key_string=tenant.key.key,
                                       machine_code=NEW_PC, ip="203.0.113.7")
    assert refused.value.message == service.FORM_CLOSED
    assert not tenant.key.activations.filter(machine_code=NEW_PC).exists()
    row = WebApiLog.objects.get()
    assert (row.state, row.method, row.vendor_id) == \
        (states.ACTIVATION_FAILED, "form.Activate", tenant.vendor.pk)


def test_public_lookup_finds_only_open_forms(form_page, tenant):
    assert service.activation_form_public(slug=form_page.slug) == form_page
    assert service.activation_form_public(slug=form_page.slug.upper() + "x") is None
    tenant.product.activation_form_enabled = False
    tenant.product.save()
    assert service.activation_form_public(slug=form_page.slug) is None


@pytest.mark.parametrize("fields, field", [
    ({"title": "  "}, "title"),
    ({"file_format": "pdf"}, "file_format"),
    ({"validity_days": 0}, "validity_days"),
])
def test_create_refuses_bad_values(tenant, fields, field):
    with pytest.raises(DomainError) as refused:
        service.activation_form_create(
            product=tenant.product, actor=Actor.for_system("test"),
            **{"title": "Offline", **fields})
    assert refused.value.field == field
    assert not ActivationForm.objects.exists()


def test_update_logs_only_what_changed(form_page):
    service.activation_form_update(form=form_page, actor=Actor.for_system("test"),
                                   title=form_page.title, validity_days=30)
    entry = ObjectLogEntry.objects.for_object(form_page).get(action="updated")
    assert entry.changes == {"validity_days": [365, 30]}


def test_update_without_a_change_logs_nothing(form_page):
    service.activation_form_update(form=form_page, actor=Actor.for_system("test"),
                                   title=form_page.title)
    assert not ObjectLogEntry.objects.for_object(form_page).filter(action="updated").exists()


def test_delete_keeps_the_devices_it_activated(end_user, form_page, tenant):
    end_user.submit(tenant.key.key, OFFLINE_PC)
    pk = form_page.pk
    service.activation_form_delete(form=form_page, actor=Actor.for_system("test"))
    assert tenant.key.activations.filter(machine_code=OFFLINE_PC).exists()
    entry = ObjectLogEntry.objects.get(object_type="licensing.activationform",
                                       object_id=str(pk), action="deleted")
    assert entry.changes["title"] == ["Activate Desktop Suite", None]
