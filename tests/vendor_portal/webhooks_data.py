"""Shared set-up of the webhook page tests: an endpoint of a tenant, made by the service."""

from __future__ import annotations

import ipaddress
import socket

import pytest

from apps.audit.log import Actor
from apps.webhooks.models import WebhookEndpoint
from apps.webhooks.services import endpoint_create

PUBLIC_IP = "93.184.216.34"
URL = "https://hooks.example.com/licensing"


@pytest.fixture
def public_dns(monkeypatch):
    """Every host resolves to a public address: no network, and the production checks run."""
    def fake_getaddrinfo(host, port, *args, **kwargs):
        try:  # an address literal stays itself, as the real resolver answers
            address = str(ipaddress.ip_address(host))
        except ValueError:
            address = PUBLIC_IP
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo)


def make_endpoint(vendor, url: str = URL, events=("key.created", "webhook.test")
                  ) -> tuple[WebhookEndpoint, str]:
    return endpoint_create(vendor=vendor, actor=Actor.for_system("test"), url=url,
                           events=list(events), description="CRM sync")
