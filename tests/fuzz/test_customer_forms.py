"""Every POST form of the customer portal, as the customer's admin, with random, oversized
and non-UTF-8 input: never a 500, and a refusal writes nothing."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.customer_portal.personas import client_for, portal  # noqa: F401
from tests.test_customer_portal_permissions import MATRIX, world  # noqa: F401

from .common import fuzz_form

FORMS = sorted(name for name, row in MATRIX.items() if row.post is not None)


@pytest.mark.parametrize("name", FORMS)
def test_customer_form_never_fails_and_a_refusal_writes_nothing(name, world):  # noqa: F811
    row = MATRIX[name]
    client = client_for(world.portal.admin)
    url = reverse(f"customer_portal:{name}", kwargs=row.kwargs(world))
    fuzz_form(url, row.data(world), lambda: client, label=name)
