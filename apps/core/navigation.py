"""Where a page sits in its portal's navigation.

Each portal lists, in one dict, the section of every view it has, keyed by the full view name
("vendor_portal:key_detail" -> "products"); its layout asks for the current section and marks
that link. View names are looked up whole, never matched by parts, so a new URL shows up in no
section until it is listed (and the portal's navigation test fails until then).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from django.http import HttpRequest


@dataclass(frozen=True)
class NavPlace:
    """The current page's section, and the menu that section sits under ("" when none)."""

    section: str = ""
    menu: str = ""


def nav_place(request: HttpRequest | None, sections: Mapping[str, str],
              menus: Mapping[str, str] | None = None) -> NavPlace:
    """The section of the view that answered `request`; an empty place for pages outside the
    portal (error pages, allauth), which then highlight nothing."""
    match = getattr(request, "resolver_match", None)
    section = sections.get(match.view_name, "") if match is not None else ""
    return NavPlace(section, (menus or {}).get(section, ""))
