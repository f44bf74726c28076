"""The vendor portal's navigation sections: every view belongs to exactly one.

templates/vendor_portal/layout.html marks the link of the current section;
tests/vendor_portal/test_navigation.py fails when a URL of the portal is missing here.
"""

from __future__ import annotations

# Section -> the names of its URLs in this portal's namespace.
URL_NAMES: dict[str, tuple[str, ...]] = {
    "dashboard": ("dashboard", "switch_vendor", "organisation_create"),
    "products": (
        "product_list", "product_create", "product_edit", "product_delete", "product_expiry",
        "key_delete",
        "key_list", "key_create", "key_detail", "key_edit", "key_block", "key_extend", "key_log",
        "activation_deactivate", "key_devices_deactivate", "data_object_add", "data_object_edit",
        "data_object_delete",
        "license_file", "bulk_activation", "key_usage",
        "template_list", "template_create", "template_edit",
        "activation_form_list", "activation_form_create", "activation_form_edit",
        "activation_form_delete",
        # SDK licensing: a product's developer machines and the signatures they made.
        "sdk_machine_list", "sdk_certificate_list", "sdk_machine_revoke", "sdk_machine_restore",
        "sdk_signer_wheel",
    ),
    "customers": (
        "customer_list", "customer_create", "customer_detail", "customer_edit", "customer_delete",
        "customer_invitation_create", "portal_user_permission", "portal_user_remove",
        "portal_link_list", "portal_link_create", "portal_link_revoke",
        # Users of the vendor's application (userauth), with or without a customer; reached
        # from the Customers section's own navigation (partials/customer_nav.html).
        "app_user_list", "app_user_remove", "app_user_reset_password",
    ),
    "resellers": (
        "reseller_list", "reseller_invite", "reseller_detail", "reseller_log",
        "right_grant", "right_change", "billing_report", "reseller_invitation_resend",
    ),
    "reports": ("usage_report", "floating_report", "floating_catch_up", "webapi_log",
                "object_log"),
    "anomalies": (
        "anomaly_list", "anomaly_detail", "anomaly_mark_expected", "anomaly_block_key",
        "anomaly_model", "anomaly_settings", "anomaly_retrain",
    ),
    "messages": ("message_list", "message_create", "message_remove"),
    # Selling through Stripe: what was sold, and the forms and prices that sell it.
    "orders": ("order_list", "subscription_list", "payment_form_list", "payment_form_create",
               "payment_form_edit", "price_mapping_list", "price_mapping_create",
               "price_mapping_remove"),
    "payments": ("stripe_settings", "stripe_settings_save"),
    # Outgoing webhooks: the vendor's endpoints and their deliveries.
    "webhooks": ("webhook_endpoint_list", "webhook_endpoint_create", "webhook_endpoint_edit",
                 "webhook_endpoint_rotate", "webhook_endpoint_remove", "webhook_delivery_list",
                 "webhook_resend", "webhook_resend_since", "webhook_test_event"),
    "license_servers": ("license_server_list", "license_server_create", "license_server_wheel",
                        "license_server_detail", "license_server_revoke"),
    # Scripts and helpers for the vendor's customers' IT (machine codes for bulk activation).
    "tools": ("tools", "machine_code_tools", "machine_code_script"),
    "tokens": ("token_list", "token_create", "token_revoke"),
    "security": ("security", "signing_key_rotate", "signing_key_retire"),
    "team": ("member_list", "member_invite", "member_role", "member_remove",
             "invitation_revoke", "invitation_accept", "invitation_resend",
             "devmail_list", "devmail_detail"),
}

# Full view name -> section, e.g. "vendor_portal:key_detail" -> "products".
SECTIONS: dict[str, str] = {
    f"vendor_portal:{name}": section
    for section, names in URL_NAMES.items() for name in names
}

# The person's own account pages (allauth: e-mail, password, two-factor), reached from the
# Security page: a vendor member keeps the vendor navigation there, with Security marked.
ACCOUNT_URL_NAMES = (
    "account_email", "account_change_password", "account_set_password",
    "mfa_index", "mfa_activate_totp", "mfa_deactivate_totp", "mfa_view_recovery_codes",
    "mfa_generate_recovery_codes", "mfa_download_recovery_codes", "mfa_reauthenticate",
    "account_reauthenticate",
)
# What the layout reads: the portal's own views, then the account pages.
NAV_SECTIONS: dict[str, str] = SECTIONS | {name: "security" for name in ACCOUNT_URL_NAMES}

# Sections whose links sit under the "Settings" menu rather than in the bar itself.
MENUS: dict[str, str] = {"tokens": "settings", "security": "settings", "team": "settings",
                         "tools": "settings", "payments": "settings", "webhooks": "settings"}
