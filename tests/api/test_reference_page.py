"""/docs/api/: every registered method, grouped by controller as on the token form, with its
parameters, the permission(s) that allow it, its reach under locks, answer and errors."""

from __future__ import annotations

import html
import re

import pytest

from apps.api.registry import METHODS
from apps.api.views import REACH_TEXT
from apps.licensing.api_methods import API_METHOD_GROUPS


@pytest.fixture
def page(client, db) -> str:
    response = client.get("/docs/api/")
    assert response.status_code == 200
    return html.unescape(response.content.decode())


def _section(page: str, name: str) -> str:
    match = re.search(rf'<section class="panel" id="{re.escape(name)}">(.*?)</section>', page,
                      re.S)
    assert match, f"{name} has no section on /docs/api/"
    return match.group(1)


def test_every_registered_method_appears_with_its_permissions(page):
    for method in METHODS.values():
        section = _section(page, method.name)
        assert f"<code>{method.path}</code>" in section
        assert method.summary in section
        shown = re.findall(r'<code class="permission">([^<]+)</code>', section)
        assert shown == list(method.permissions), method.name


def test_every_method_shows_its_parameters_reach_answer_and_errors(page):
    for method in METHODS.values():
        section = _section(page, method.name)
        for param in method.params:
            assert f"<code>{param.name}</code>" in section, (method.name, param.name)
            assert param.doc in section, (method.name, param.name)
        assert REACH_TEXT[method.reach] in section, method.name
        if method.returns:
            assert method.returns in section, method.name
        for error in method.errors:
            assert f"<code>{error}</code>" in section, (method.name, error)


def test_methods_are_grouped_by_controller_in_the_token_forms_order(page):
    headings = re.findall(r'<h2 id="group-\d+">([^<]+)</h2>', page)
    served_groups = [group for group, permissions in API_METHOD_GROUPS.items()
                     if any(set(m.permissions) & set(permissions) for m in METHODS.values())]
    assert headings == served_groups
    # Each method sits under the group of its permission.
    positions = {m.name: page.index(f'id="{m.name}"') for m in METHODS.values()}
    starts = [page.index(f'<h2 id="group-{n}">') for n in range(1, len(headings) + 1)]
    for method in METHODS.values():
        group = next(g for g, perms in API_METHOD_GROUPS.items()
                     if method.permissions[0] in perms)
        index = headings.index(group)
        end = starts[index + 1] if index + 1 < len(starts) else len(page)
        assert starts[index] < positions[method.name] < end, method.name


def test_the_locks_are_explained(page):
    for words in ("Key lock -1", "Feature lock", "Product lock", "Template lock",
                  "FieldsToReturn"):
        assert words in page
    assert 'href="#auth.KeyLock"' in page
