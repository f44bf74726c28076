import base64
import csv
import datetime as dt
import html
import io
import json
import re

from django.urls import reverse
from django.utils import timezone

from apps.licensing.models import SigningKey
from apps.licensing.signing import load_public_key

from ..factories import make_key


def _pre(content: str, element_id: str) -> str:
    match = re.search(rf'<pre[^>]*id="{element_id}"[^>]*>(.*?)</pre>', content, re.S)
    assert match, f"no <pre id={element_id}>"
    return html.unescape(match.group(1)).strip()


def test_security_page_shows_the_public_key_as_rsa_key_value_and_pem(tenant, read_only_client):
    response = read_only_client.get(reverse("vendor_portal:security"))
    assert response.status_code == 200
    content = response.content.decode()
    signing_key = SigningKey.objects.get(vendor=tenant.vendor)
    xml = _pre(content, "public-key-xml")
    match = re.fullmatch(
        r"<RSAKeyValue><Modulus>([A-Za-z0-9+/=]+)</Modulus><Exponent>AQAB</Exponent>"
        r"</RSAKeyValue>", xml)
    assert match, xml
    modulus = int.from_bytes(base64.b64decode(match.group(1)), "big")
    assert modulus == load_public_key(signing_key.public_key_pem).public_numbers().n
    assert modulus.bit_length() == 2048
    pem = _pre(content, "public-key-pem")
    assert pem.startswith("-----BEGIN PUBLIC KEY-----")
    assert pem == signing_key.public_key_pem.strip()
    assert "PRIVATE" not in content


def test_security_page_shows_this_vendors_key_not_another(tenant, other_tenant, owner_client):
    content = owner_client.get(reverse("vendor_portal:security")).content.decode()
    other_pem = SigningKey.objects.get(vendor=other_tenant.vendor).public_key_pem
    assert _pre(content, "public-key-pem") != other_pem.strip()


def test_object_log_shows_who_changed_what(tenant, owner_client):
    owner_client.post(reverse("vendor_portal:key_block", args=[tenant.key.pk]), {"block": "1"})
    response = owner_client.get(reverse("vendor_portal:object_log"))
    assert response.status_code == 200
    newest = response.context["page"][0]
    assert (newest.action, newest.object_repr, newest.actor_label) == (
        "blocked", tenant.key.key, tenant.owner.email)
    content = response.content.decode()
    assert tenant.owner.email in content and tenant.key.key in content


def test_object_log_filters_by_kind_and_search(tenant, owner_client):
    second = make_key(tenant.product)
    url = reverse("vendor_portal:object_log")
    keys_only = owner_client.get(url, {"type": "licensing.licensekey"}).context["page"]
    assert {e.object_type for e in keys_only} == {"licensing.licensekey"}
    assert {e.object_repr for e in keys_only} == {tenant.key.key, second.key}
    found = owner_client.get(url, {"q": second.key}).context["page"]
    assert [e.object_repr for e in found] == [second.key]


def test_object_log_filters_by_actor_object_and_time_and_exports_csv(tenant, owner_client,
                                                                     admin_client_):
    url = reverse("vendor_portal:object_log")
    owner_client.post(reverse("vendor_portal:key_block", args=[tenant.key.pk]), {"block": "1"})
    admin_client_.post(reverse("vendor_portal:key_block", args=[tenant.key.pk]), {"block": "0"})
    second = make_key(tenant.product)
    admin = f"user:{tenant.admin.pk}"

    response = owner_client.get(url, {"actor": admin})
    assert [(e.action, e.actor_label) for e in response.context["page"]] == [
        ("unblocked", tenant.admin.email)]
    one_key = owner_client.get(url, {"type": "licensing.licensekey",
                                     "object_id": str(tenant.key.pk)}).context["page"]
    assert second.key not in {e.object_repr for e in one_key}
    assert {e.action for e in one_key} >= {"blocked", "unblocked"}
    tomorrow = (timezone.now() + dt.timedelta(days=1)).date().isoformat()
    assert list(owner_client.get(url, {"since": tomorrow}).context["page"]) == []

    export = owner_client.get(url, {"actor": admin, "export": "csv"})
    rows = list(csv.reader(io.StringIO(export.content.decode())))
    assert rows[0] == ["Time", "ActorType", "ActorId", "Actor", "Action", "ObjectType",
                       "ObjectId", "Object", "Changes"]
    assert [(r[1], r[2], r[4], r[7]) for r in rows[1:]] == [
        ("user", str(tenant.admin.pk), "unblocked", tenant.key.key)]
    assert json.loads(rows[1][8]) == {"block": [True, False]}


def test_object_log_refuses_an_unknown_actor_choice(tenant, owner_client):
    response = owner_client.get(reverse("vendor_portal:object_log"), {"actor": "user:999999"})
    assert response.status_code == 200
    assert response.context["form"].errors["actor"]
    assert list(response.context["page"]) == []


def test_object_log_names_each_kind_in_words_and_its_filter_still_works(tenant, owner_client):
    owner_client.post(reverse("vendor_portal:key_block", args=[tenant.key.pk]), {"block": "1"})
    url = reverse("vendor_portal:object_log")

    content = owner_client.get(url).content.decode()
    keys_only = owner_client.get(url, {"type": "licensing.licensekey"})
    one_key = owner_client.get(url, {"type": "licensing.licensekey",
                                     "object_id": str(tenant.key.pk)}).content.decode()

    assert "(License key)" in content and "(Signing key)" in content
    assert "(licensing.licensekey)" not in content and "(licensing.signingkey)" not in content
    assert {e.object_type for e in keys_only.context["page"]} == {"licensing.licensekey"}
    assert "(Signing key)" not in keys_only.content.decode()
    assert "One license key only" in one_key and "Show every license key" in one_key


def test_a_kind_no_model_has_any_more_is_shown_as_stored():
    from apps.vendor_portal.templatetags.portal import object_kind

    assert object_kind("licensing.customer") == "Customer"
    assert object_kind("accounts.invitation") == "Invitation"
    assert object_kind("licensing.gone") == "licensing.gone"
    assert object_kind("nonsense") == "nonsense"
