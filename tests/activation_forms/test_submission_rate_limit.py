"""Every submission of a public activation form counts against its IP address (all forms) and
its license key (any address), on top of the limit on failures."""

from __future__ import annotations

from django.test import override_settings

from apps.usage.models import WebApiLog
from tests.licensing.keypool import pooled_signing_keys  # noqa: F401  (autouse: fast RSA keys)

from .conftest import SHORT_PC, EndUser, open_form


def _refused(response) -> bool:
    return response.status_code == 429 and int(response["Retry-After"]) >= 1 and \
        "Content-Disposition" not in response


@override_settings(ACTIVATION_FORM_RATE_LIMIT_PER_IP=(3, 600),
                   ACTIVATION_FORM_RATE_LIMIT_PER_KEY=(0, 600))
def test_an_ip_past_its_budget_is_refused_even_when_every_attempt_succeeded(
        end_user, tenant, other_tenant, registered_pc):
    for n in range(3):
        response = end_user.submit(tenant.key.key, registered_pc)
        assert response.status_code == 200 and "Content-Disposition" in response, n
    logged = WebApiLog.objects.count()
    elsewhere = EndUser(open_form(other_tenant.product), ip=end_user.ip)

    assert _refused(end_user.submit(tenant.key.key, registered_pc))
    assert _refused(elsewhere.submit(other_tenant.key.key, registered_pc))
    assert WebApiLog.objects.count() == logged  # refused before any check or log row
    other_ip = EndUser(end_user.form, ip="198.51.100.20")
    assert "Content-Disposition" in other_ip.submit(tenant.key.key, registered_pc)


@override_settings(ACTIVATION_FORM_RATE_LIMIT_PER_IP=(0, 600),
                   ACTIVATION_FORM_RATE_LIMIT_PER_KEY=(2, 600))
def test_a_key_past_its_budget_is_refused_from_any_ip(end_user, tenant, registered_pc):
    for n in range(2):
        EndUser(end_user.form, ip=f"198.51.100.{n}").submit(tenant.key.key.lower(),
                                                             registered_pc)

    response = EndUser(end_user.form, ip="198.51.100.50").submit(tenant.key.key, SHORT_PC)

    assert _refused(response)
    assert not tenant.key.activations.filter(machine_code=SHORT_PC).exists()
