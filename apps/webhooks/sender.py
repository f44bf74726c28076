"""One HTTP POST to a vendor's endpoint, safely: the host is resolved once, every address it
resolves to must be public (not loopback, private, link-local, reserved or a cloud metadata
address) unless settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES, and the connection goes to that
vetted address (so DNS cannot change between the check and the connect). Redirects are not
followed; at most MAX_RESPONSE_BYTES of the answer is read; each attempt has a timeout."""

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

MAX_RESPONSE_BYTES = 2048
USER_AGENT = "licensing-portal-webhooks/1"


class UnsafeAddress(Exception):
    """The endpoint's host is not a public address (or cannot be resolved)."""


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes
    latency_ms: int


# IPv6 ranges that reach IPv4 hosts through a relay or translator (6to4, NAT64): the IPv4
# address inside could be anything, a private one included.
_TUNNELS = (ipaddress.ip_network("2002::/16"), ipaddress.ip_network("64:ff9b::/96"),
            ipaddress.ip_network("64:ff9b:1::/48"))
# Internal-only addresses some Python versions count as global: 192.0.0.0/24 (IETF protocol
# assignments; an old cloud metadata address) and Azure's WireServer.
_DENIED = (ipaddress.ip_network("192.0.0.0/24"), ipaddress.ip_network("168.63.129.16/32"))


def _public(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        elif any(ip in network for network in _TUNNELS):
            return False
    if any(ip in network for network in _DENIED):
        return False
    return not (ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_multicast
                or ip.is_reserved or ip.is_unspecified or not ip.is_global)


def _parts(url: str) -> tuple[str, str, int, str]:
    """(scheme, host, port, path with query) of an acceptable endpoint address."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:  # a port out of range or not a number, a broken IPv6 literal
        raise UnsafeAddress("The address is not a valid URL.") from None
    allow_private = settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES
    if parts.scheme != "https" and not (parts.scheme == "http" and allow_private):
        raise UnsafeAddress("The address must start with https://.")
    if not parts.hostname:
        raise UnsafeAddress("The address has no host.")
    if parts.username is not None or parts.password is not None:
        raise UnsafeAddress("Leave user names and passwords out of the address: every member "
                            "of your team sees it. Check the signature instead.")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80), path


def check_url(url: str) -> None:
    """Refuse what may never be an endpoint (at creation and at each delivery)."""
    _, host, port, _ = _parts(url)
    resolve(host, port)


def resolve(host: str, port: int) -> str:
    """The address to connect to, after checking every address the host resolves to."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise UnsafeAddress(f"The host {host} cannot be resolved.") from None
    addresses = [str(info[4][0]) for info in infos]
    if not addresses:
        raise UnsafeAddress(f"The host {host} cannot be resolved.")
    if not settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES:
        for address in addresses:
            if not _public(address.split("%")[0]):
                raise UnsafeAddress(f"The host {host} is a private, loopback or link-local "
                                    f"address ({address}): only public addresses are called.")
    return addresses[0].split("%")[0]


class _PinnedHTTP(http.client.HTTPConnection):
    def __init__(self, host: str, address: str, port: int, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    def __init__(self, host: str, address: str, port: int, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address
        self._host_name = host

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self._host_name)  # type: ignore[attr-defined]


def post(url: str, body: bytes, headers: dict[str, str], *, timeout: float) -> Response:
    """POST `body`; raises UnsafeAddress, OSError (connect, timeout, TLS) or
    http.client.HTTPException. Any status is returned, a redirect included (not followed)."""
    scheme, host, port, path = _parts(url)
    address = resolve(host, port)  # once: the connection goes to the address checked
    cls = _PinnedHTTPS if scheme == "https" else _PinnedHTTP
    connection = cls(host, address, port, timeout)
    started = time.monotonic()
    # `timeout` bounds each socket operation; this bounds the whole attempt, so an endpoint
    # that trickles its answer a byte at a time cannot hold a worker (or outlive the claim).
    expired = threading.Event()

    def cut_off() -> None:
        expired.set()
        sock = connection.sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    timer = threading.Timer(timeout, cut_off)
    timer.start()
    try:
        connection.request("POST", path, body=body, headers={
            **headers, "Content-Type": "application/json", "User-Agent": USER_AGENT})
        answer = connection.getresponse()
        data = answer.read(MAX_RESPONSE_BYTES)
        if expired.is_set():
            raise TimeoutError(f"the attempt took longer than {timeout:g} s")
        return Response(answer.status, data, int((time.monotonic() - started) * 1000))
    except (OSError, http.client.HTTPException):
        if expired.is_set():
            raise TimeoutError(f"the attempt took longer than {timeout:g} s") from None
        raise
    finally:
        timer.cancel()
        connection.close()
