"""Private, loopback, link-local and metadata addresses are refused: when the endpoint is
created, and again at each delivery (a public name that later resolves to 127.0.0.1 gets
nothing: the attempt records why, the receiver sees no request, no connection is made)."""

from __future__ import annotations

import socket

import pytest

from apps.core.errors import DomainError
from apps.licensing.services import key_set_blocked
from apps.webhooks import sender
from apps.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from apps.webhooks.services import endpoint_create, endpoint_update

from .conftest import ACTOR

REFUSED = [
    "http://127.0.0.1/",
    "http://hooks.example.com/",            # http:// at all
    "https://127.0.0.1/",
    "https://127.1/",
    "https://2130706433/",                  # 127.0.0.1 as one number
    "https://0.0.0.0/",
    "https://10.0.0.1/",
    "https://172.16.5.4/",
    "https://192.168.1.1/",
    "https://100.64.0.1/",                  # shared address space (carrier NAT)
    "https://169.254.169.254/latest/meta-data",
    "https://[::1]/",
    "https://[::ffff:127.0.0.1]/",
    "https://[::ffff:169.254.169.254]/",
    "https://[fd00:ec2::254]/",             # the AWS metadata service over IPv6
    "https://[fe80::1]/",
    "https://localhost/",
    "https://localhost:8443/hooks",
    "https:///no-host",
]


REAL_GETADDRINFO = socket.getaddrinfo


def _addrinfo(address: str):
    """hooks.example.com resolves to `address`; other names as usual."""
    def fake(host, port, *args, **kwargs):
        if host != "hooks.example.com":
            return REAL_GETADDRINFO(host, port, *args, **kwargs)
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        return [(family, socket.SOCK_STREAM, 6, "", (address, port))]
    return fake


@pytest.mark.parametrize("url", REFUSED)
def test_refused_at_creation(shop, settings, url):
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = False
    with pytest.raises(DomainError):
        endpoint_create(vendor=shop.vendor, actor=ACTOR, url=url, events=["key.blocked"])
    assert not WebhookEndpoint.objects.exists()


def test_refused_when_changed_to(shop, settings, monkeypatch):
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = False
    monkeypatch.setattr(socket, "getaddrinfo", _addrinfo("93.184.216.34"))
    endpoint, _ = shop.endpoint("https://hooks.example.com/portal")
    with pytest.raises(DomainError):
        endpoint_update(endpoint=endpoint, actor=ACTOR, url="https://192.168.0.10/",
                        events=["key.blocked"])
    endpoint.refresh_from_db()
    assert endpoint.url == "https://hooks.example.com/portal"


def test_refused_at_delivery_when_the_name_now_resolves_to_loopback(
        shop, settings, monkeypatch, receiver, django_capture_on_commit_callbacks):
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = False
    monkeypatch.setattr(socket, "getaddrinfo", _addrinfo("93.184.216.34"))
    # Were it let through, the request would go to the receiver's port on 127.0.0.1.
    shop.endpoint(f"https://hooks.example.com:{receiver.port}/hooks")

    monkeypatch.setattr(socket, "getaddrinfo", _addrinfo("127.0.0.1"))  # DNS rebinding
    connections = []
    real_connect = socket.create_connection
    monkeypatch.setattr(socket, "create_connection",
                        lambda *a, **k: connections.append(a) or real_connect(*a, **k))
    with django_capture_on_commit_callbacks(execute=True):
        key_set_blocked(key=shop.key, actor=ACTOR, blocked=True)
    attempt = WebhookAttempt.objects.get()
    assert attempt.status_code is None
    assert "private, loopback or link-local" in attempt.error and "127.0.0.1" in attempt.error
    assert attempt.delivery.status == WebhookDelivery.PENDING
    assert connections == []
    assert receiver.records() == []


def test_a_name_with_one_private_address_among_public_ones_is_refused(shop, settings,
                                                                     monkeypatch):
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = False

    def mixed(host, port, *args, **kwargs):
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port)),
                (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.1.2.3", port))]

    monkeypatch.setattr(socket, "getaddrinfo", mixed)
    with pytest.raises(sender.UnsafeAddress):
        sender.check_url("https://hooks.example.com/")
