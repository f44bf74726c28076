"""A revocation racing a signature: one waits for the other on the machine's row lock, so no
certificate is ever issued after the revocation it raced (found by the outsider probe: a
signer that had read "not revoked" went on to sign after the revocation committed)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from apps.audit.log import Actor
from apps.core.errors import DomainError
from apps.licensing.services.seats import Device
from apps.sdk_licensing import services
from apps.sdk_licensing.certificates import Application
from apps.sdk_licensing.models import DeveloperMachine, SdkCertificate
from tests.factories import ProductFactory, make_key, make_vendor

ACTOR = Actor.for_system("race")


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks")
def test_no_signature_completes_after_the_revocation_it_raced(transactional_db, monkeypatch):
    key = make_key(ProductFactory(vendor=make_vendor()), max_no_of_machines=2)
    services.sdk_application_sign(key=key, device=Device("dev-1"), actor=ACTOR,
                                  application=Application("app", "ab" * 32))
    machine = DeveloperMachine.objects.get(machine_code="dev-1")
    read, revoked = threading.Event(), threading.Event()
    real = services.key_activate
    finished: list[str] = []

    def paused(**kwargs):
        read.set()  # the signer has read the machine: not revoked
        revoked.wait(timeout=2)  # with the row locked, the revocation waits for us instead
        return real(**kwargs)

    monkeypatch.setattr(services, "key_activate", paused)

    def sign() -> None:
        try:
            services.sdk_application_sign(key=key, device=Device("dev-1"), actor=ACTOR,
                                          application=Application("app2", "cd" * 32))
            finished.append("signed")
        except DomainError as exc:
            finished.append(exc.message)
        finally:
            connections.close_all()

    def revoke() -> None:
        read.wait(timeout=10)
        try:
            services.developer_machine_revoke(machine=machine, actor=ACTOR)
            finished.append("revoked")
        finally:
            revoked.set()
            connections.close_all()

    threads = [threading.Thread(target=sign), threading.Thread(target=revoke)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    machine.refresh_from_db()
    assert machine.revoked
    # Either the signature came first (and the revocation waited for it), or it was refused.
    assert finished in (["signed", "revoked"], ["revoked", services.REVOKED])
    last = SdkCertificate.objects.order_by("-signed_at").first()
    assert last.signed_at <= machine.revoked_at
