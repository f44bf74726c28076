"""The customer portal's navigation sections: every view belongs to exactly one.

templates/customer_portal/layout.html marks the link of the current section;
tests/customer_portal/test_navigation.py fails when a URL of the portal is missing here.
"""

from __future__ import annotations

# Section -> the names of its URLs in this portal's namespace.
URL_NAMES: dict[str, tuple[str, ...]] = {
    "licenses": ("license_list", "license_detail", "device_license_file", "switch_customer",
                 "join", "billing_portal"),
    "devices": ("device_list", "device_deactivate"),
    "floating": ("floating_usage",),
    "users": ("app_user_list", "app_user_remove"),
    "applications": ("app_authorize", "app_authorization_list", "app_authorization_revoke"),
}

# Full view name -> section, e.g. "customer_portal:license_detail" -> "licenses".
SECTIONS: dict[str, str] = {
    f"customer_portal:{name}": section
    for section, names in URL_NAMES.items() for name in names
}
