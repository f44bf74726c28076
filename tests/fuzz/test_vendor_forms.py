"""Every POST form of the vendor portal (the rows of the URL x persona matrix), as its owner,
with random, oversized and non-UTF-8 input: never a 500, and a refusal writes nothing."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from tests.test_url_permissions import MATRIX, world  # noqa: F401  (the matrix's fixture)

from .common import fuzz_form

FORMS = sorted(name for name, row in MATRIX.items() if row.post is not None)


def test_every_vendor_portal_form_is_fuzzed():
    assert len(FORMS) >= 40  # the matrix lists every URL; see tests/test_url_permissions.py


@pytest.mark.parametrize("name", FORMS)
def test_vendor_form_never_fails_and_a_refusal_writes_nothing(name, world):  # noqa: F811
    row = MATRIX[name]
    client = Client()
    client.force_login(world.tenant.owner)
    url = reverse(f"vendor_portal:{name}", kwargs=row.kwargs(world))
    fuzz_form(url, row.data(world), lambda: client, label=name)
