"""The reseller portal's navigation sections: every view belongs to exactly one.

templates/reseller_portal/layout.html marks the link of the current section;
tests/reseller_portal/test_navigation.py fails when a URL of the portal is missing here.
"""

from __future__ import annotations

# Section -> the names of its URLs in this portal's namespace.
URL_NAMES: dict[str, tuple[str, ...]] = {
    "rights": ("dashboard", "key_issue", "switch_reseller", "accept"),
    "keys": ("key_list", "key_detail", "license_file"),
    "customers": ("customer_list", "customer_create"),
}

# Full view name -> section, e.g. "reseller_portal:key_detail" -> "keys".
SECTIONS: dict[str, str] = {
    f"reseller_portal:{name}": section
    for section, names in URL_NAMES.items() for name in names
}
