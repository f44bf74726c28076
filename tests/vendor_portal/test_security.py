import base64
import html
import re

from django.urls import reverse

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
