import base64
import hashlib
import json

from django.urls import reverse

from apps.audit.models import ObjectLogEntry
from apps.licensing.models import AccessToken
from apps.licensing.services import token_authenticate

TOKEN_FORM = {"name": "Build server", "permissions": ["key.Activate", "key.GetKey"]}


def _decode(token_string: str) -> tuple[str, str]:
    token_id, secret = json.loads(base64.b64decode(token_string, validate=True))
    return token_id, secret


def test_token_list_shows_tokens_without_their_secret(tenant, tenant_token, read_only_client):
    response = read_only_client.get(reverse("vendor_portal:token_list"))
    _, secret = _decode(tenant_token.token_string)
    content = response.content.decode()
    assert response.status_code == 200
    assert [t.pk for t in response.context["tokens"]] == [tenant_token.token.pk]
    assert "CI token" in content
    assert secret not in content
    assert tenant_token.token_string not in content


def test_created_token_is_shown_once_and_its_secret_is_not_stored(tenant, owner_client):
    response = owner_client.post(reverse("vendor_portal:token_create"), TOKEN_FORM)
    assert response.status_code == 200
    token = AccessToken.objects.get(vendor=tenant.vendor, name="Build server")
    token_string = response.context["token_string"]
    assert token_string in response.content.decode()
    token_id, secret = _decode(token_string)
    assert token_id == str(token.pk)
    assert len(secret) == 40
    row = AccessToken.objects.filter(pk=token.pk).values().get()
    assert [column for column, value in row.items() if secret in str(value)] == []
    assert token.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    logged = ObjectLogEntry.objects.for_vendor(tenant.vendor).values_list("changes", flat=True)
    assert not any(secret in json.dumps(changes) for changes in logged)
    assert token.permissions == ["key.Activate", "key.GetKey"]
    assert token.created_by == tenant.owner
    assert token_authenticate(token_string) == token
    listing = owner_client.get(reverse("vendor_portal:token_list")).content.decode()
    assert secret not in listing


def test_token_can_be_locked_to_a_key_given_in_lower_case(tenant, owner_client):
    response = owner_client.post(reverse("vendor_portal:token_create"), {
        **TOKEN_FORM, "product": tenant.product.pk, "locked_key": tenant.key.key.lower()})
    assert response.status_code == 200
    token = AccessToken.objects.get(vendor=tenant.vendor, name="Build server")
    assert (token.product, token.locked_key) == (tenant.product, tenant.key)


def test_token_without_methods_is_refused(tenant, owner_client):
    response = owner_client.post(reverse("vendor_portal:token_create"),
                                 {"name": "Build server"})
    assert response.status_code == 200
    assert "permissions" in response.context["form"].errors
    assert not AccessToken.objects.filter(vendor=tenant.vendor).exists()


def test_token_cannot_be_locked_to_another_vendors_key(tenant, other_tenant, owner_client):
    response = owner_client.post(reverse("vendor_portal:token_create"), {
        **TOKEN_FORM, "locked_key": other_tenant.key.key})
    assert response.status_code == 200
    assert response.context["form"].errors["locked_key"] == ["Could not find the key."]
    assert not AccessToken.objects.filter(vendor=tenant.vendor).exists()


def test_token_cannot_be_locked_to_another_vendors_product(tenant, other_tenant, owner_client):
    response = owner_client.post(reverse("vendor_portal:token_create"), {
        **TOKEN_FORM, "product": other_tenant.product.pk})
    assert response.status_code == 200
    assert "product" in response.context["form"].errors
    assert not AccessToken.objects.filter(vendor=tenant.vendor).exists()


def test_owner_revokes_a_token(tenant, tenant_token, owner_client):
    url = reverse("vendor_portal:token_revoke", args=[tenant_token.token.pk])
    response = owner_client.post(url, follow=True)
    assert response.status_code == 200
    tenant_token.token.refresh_from_db()
    assert tenant_token.token.revoked_at is not None
    assert token_authenticate(tenant_token.token_string) is None
    assert "Revoked" in response.content.decode()
    entry = ObjectLogEntry.objects.for_object(tenant_token.token).get(action="revoked")
    assert entry.actor_label == tenant.owner.email


def test_read_only_member_cannot_revoke_a_token(tenant, tenant_token, read_only_client):
    url = reverse("vendor_portal:token_revoke", args=[tenant_token.token.pk])
    assert read_only_client.post(url).status_code == 403
    tenant_token.token.refresh_from_db()
    assert tenant_token.token.revoked_at is None


# --- Method groups, key lock -1 and the feature lock (#17) ---


def test_form_groups_methods_by_controller_with_an_all_box_each(tenant, owner_client):
    from apps.licensing.api_methods import API_METHOD_GROUPS

    content = owner_client.get(reverse("vendor_portal:token_create")).content.decode()

    for group, methods in API_METHOD_GROUPS.items():
        assert f'name="permission_groups" value="{group}"' in content
        assert all(f'value="{method}"' in content for method in methods)
    assert 'name="key_lock_required"' in content
    assert all(f'name="fields_hidden" value="{bit}"' in content
               for bit in (2, 4, 8, 16, 32, 64, 128, 256, 512))
    assert 'name="trial_days"' in content and 'name="max_increment"' in content


def test_an_all_box_selects_its_whole_group_without_script(tenant, owner_client):
    from apps.licensing.api_methods import API_METHOD_GROUPS

    response = owner_client.post(reverse("vendor_portal:token_create"), {
        "name": "Data and one key method", "permissions": ["key.GetKey"],
        "permission_groups": ["Data", "Message"]})

    assert response.status_code == 200
    token = AccessToken.objects.get(vendor=tenant.vendor, name="Data and one key method")
    assert token.permissions == ["key.GetKey", *API_METHOD_GROUPS["Data"],
                                 *API_METHOD_GROUPS["Message"]]


def test_token_with_key_lock_minus_one_and_a_feature_lock(tenant, owner_client):
    response = owner_client.post(reverse("vendor_portal:token_create"), {
        **TOKEN_FORM, "key_lock_required": "on", "fields_hidden": ["8", "32"],
        "trial_days": "5", "max_increment": "10"})

    assert response.status_code == 200, response.context["form"].errors
    token = AccessToken.objects.get(vendor=tenant.vendor, name="Build server")
    assert token.key_lock_required and token.locked_key is None
    # Cryptolens: a -1 token may call auth/KeyLock without ticking it.
    assert token.permissions == ["key.Activate", "key.GetKey", "auth.KeyLock"]
    assert (token.fields_hidden, token.trial_days, token.max_increment) == (8 + 32, 5, 10)
    listing = owner_client.get(reverse("vendor_portal:token_list")).content.decode()
    assert "-1 (named by each call)" in listing
    assert "Hides Notes, Customer" in listing
    assert "Trials of 5 days" in listing and "Increments up to 10" in listing


def test_key_lock_and_minus_one_together_are_refused(tenant, owner_client):
    response = owner_client.post(reverse("vendor_portal:token_create"), {
        **TOKEN_FORM, "locked_key": tenant.key.key, "key_lock_required": "on"})

    assert response.status_code == 200
    assert "locked_key" in response.context["form"].errors
    assert not AccessToken.objects.filter(vendor=tenant.vendor).exists()


def test_impossible_feature_lock_values_are_form_errors(tenant, owner_client):
    response = owner_client.post(reverse("vendor_portal:token_create"), {
        **TOKEN_FORM, "fields_hidden": ["1024"], "trial_days": "0", "max_increment": "-1"})

    errors = response.context["form"].errors
    assert {"fields_hidden", "trial_days", "max_increment"} <= set(errors)
    assert not AccessToken.objects.filter(vendor=tenant.vendor).exists()
