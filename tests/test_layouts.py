"""Templates show the structure: base.html is the bare document, each audience has one layout
that extends it and holds that audience's navigation, and every page extends its audience's
layout (fragments live under partials/)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings

TEMPLATES = Path(settings.BASE_DIR) / "templates"
EXTENDS = re.compile(r'{%\s*extends\s+"([^"]+)"\s*%}')

LAYOUTS = {
    "vendor_portal/layout.html": "base.html",
    "reseller_portal/layout.html": "base.html",
    "customer_portal/layout.html": "base.html",
    "public/layout.html": "base.html",
    "activation_forms/layout.html": "public/layout.html",
    "allauth/layouts/base.html": "public/layout.html",
    "allauth/layouts/entrance.html": "allauth/layouts/base.html",
}
# Pages outside the portal folders, for anyone: error pages and the API reference.
PUBLIC_PAGES = ["403.html", "404.html", "api/reference.html"]
# The folders whose pages all extend the folder's own layout.html.
AUDIENCES = ["vendor_portal", "reseller_portal", "customer_portal", "activation_forms"]


def _extends(name: str) -> str | None:
    match = EXTENDS.search((TEMPLATES / name).read_text())
    return match.group(1) if match else None


def _pages(folder: str) -> list[str]:
    return sorted(str(path.relative_to(TEMPLATES)) for path in (TEMPLATES / folder).glob("*.html")
                  if path.name != "layout.html")


def test_base_is_the_bare_document_without_navigation():
    base = (TEMPLATES / "base.html").read_text()
    assert _extends("base.html") is None
    assert "<nav" not in base and "{% url" not in base


@pytest.mark.parametrize("layout", LAYOUTS)
def test_each_layout_extends_the_one_above_it(layout):
    assert _extends(layout) == LAYOUTS[layout]


@pytest.mark.parametrize("folder", AUDIENCES)
def test_every_page_extends_its_audiences_layout(folder):
    wrong = {page: _extends(page) for page in _pages(folder)
             if _extends(page) != f"{folder}/layout.html"}
    assert wrong == {}


@pytest.mark.parametrize("page", PUBLIC_PAGES)
def test_public_pages_extend_the_public_layout(page):
    assert _extends(page) == "public/layout.html"
