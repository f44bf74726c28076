from django.urls import reverse

from apps.audit.models import ObjectLogEntry
from apps.licensing.models import DataObject


def test_owner_adds_a_data_object_to_a_key(tenant, owner_client):
    url = reverse("vendor_portal:data_object_add", args=[tenant.key.pk])
    response = owner_client.post(url, {"name": "seats_used", "string_value": "eu-west",
                                       "int_value": 12})
    assert response.status_code == 302
    assert response["Location"] == reverse("vendor_portal:key_detail", args=[tenant.key.pk])
    added = tenant.key.data_objects.get(name="seats_used")
    assert (added.string_value, added.int_value) == ("eu-west", 12)
    entry = ObjectLogEntry.objects.for_object(tenant.key).get(action="data object added")
    assert entry.actor_label == tenant.owner.email
    assert entry.changes["int_value"] == [None, 12]


def test_admin_edits_a_data_object(tenant, admin_client_):
    url = reverse("vendor_portal:data_object_edit", args=[tenant.key.pk, tenant.data_object.pk])
    assert admin_client_.get(url).context["form"].initial["int_value"] == 3
    response = admin_client_.post(url, {"name": "usage", "string_value": "note",
                                        "int_value": 42})
    assert response.status_code == 302
    tenant.data_object.refresh_from_db()
    assert (tenant.data_object.string_value, tenant.data_object.int_value) == ("note", 42)
    entry = ObjectLogEntry.objects.for_object(tenant.key).get(action="data object changed")
    assert entry.changes == {"string_value": ["", "note"], "int_value": [3, 42]}


def test_owner_removes_a_data_object(tenant, owner_client):
    url = reverse("vendor_portal:data_object_delete",
                  args=[tenant.key.pk, tenant.data_object.pk])
    response = owner_client.post(url, follow=True)
    assert response.status_code == 200
    assert not DataObject.objects.filter(pk=tenant.data_object.pk).exists()
    assert response.context["data_objects"] == []
    assert ObjectLogEntry.objects.for_object(tenant.key).filter(
        action="data object removed").exists()


def test_data_object_without_a_name_is_a_form_error(tenant, owner_client):
    url = reverse("vendor_portal:data_object_add", args=[tenant.key.pk])
    response = owner_client.post(url, {"name": "", "int_value": 1})
    assert response.status_code == 200
    assert "name" in response.context["form"].errors
    assert tenant.key.data_objects.count() == 1


def test_data_object_int_value_beyond_64_bits_is_a_form_error(tenant, owner_client):
    url = reverse("vendor_portal:data_object_edit", args=[tenant.key.pk, tenant.data_object.pk])
    response = owner_client.post(url, {"name": "usage", "int_value": 2**63})
    assert response.status_code == 200
    assert "int_value" in response.context["form"].errors
    tenant.data_object.refresh_from_db()
    assert tenant.data_object.int_value == 3


def test_read_only_member_cannot_remove_a_data_object(tenant, read_only_client):
    url = reverse("vendor_portal:data_object_delete",
                  args=[tenant.key.pk, tenant.data_object.pk])
    assert read_only_client.post(url).status_code == 403
    assert DataObject.objects.filter(pk=tenant.data_object.pk).exists()
