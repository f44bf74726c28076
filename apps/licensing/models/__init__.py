"""Licensing domain models: the catalogue (products, customers, keys, seats, data objects),
credentials (signing keys, access tokens), activation forms, templates and reseller rights, and
customer-portal access."""

from .catalogue import (
    FEATURE_NUMBERS,
    MAX_MACHINE_CODE_LENGTH,
    MAX_NOTES_LENGTH,
    Activation,
    Customer,
    CustomerQuerySet,
    DataObject,
    LicenseKey,
    LicenseKeyQuerySet,
    Product,
    ProductQuerySet,
)
from .credentials import AccessToken, AccessTokenQuerySet, SigningKey, SigningKeyQuerySet
from .forms import ActivationForm, ActivationFormQuerySet, _file_format_choices, _new_form_slug  # noqa: F401  (old migrations name them)
from .portal import (
    CustomerMembership,
    CustomerMembershipQuerySet,
    PendingPortalJoin,
    PortalLink,
    PortalLinkQuerySet,
)
from .resellers import Issuance, IssuanceRight, LicenseTemplate, LicenseTemplateQuerySet

__all__ = [
    "FEATURE_NUMBERS",
    "MAX_MACHINE_CODE_LENGTH",
    "MAX_NOTES_LENGTH",
    "AccessToken",
    "AccessTokenQuerySet",
    "Activation",
    "ActivationForm",
    "ActivationFormQuerySet",
    "Customer",
    "CustomerMembership",
    "CustomerMembershipQuerySet",
    "CustomerQuerySet",
    "DataObject",
    "Issuance",
    "IssuanceRight",
    "LicenseKey",
    "LicenseKeyQuerySet",
    "LicenseTemplate",
    "LicenseTemplateQuerySet",
    "PendingPortalJoin",
    "PortalLink",
    "PortalLinkQuerySet",
    "Product",
    "ProductQuerySet",
    "SigningKey",
    "SigningKeyQuerySet",
]
