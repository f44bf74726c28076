"""Licensing domain models: the catalogue (products, customers, keys, seats, data objects),
credentials (signing keys, access tokens), activation forms, templates and reseller rights,
customer-portal access, application user accounts (userauth) and broadcast messages."""

from .app_authorizations import AppAuthorization, AppAuthorizationQuerySet
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
from .messages import Message, MessageQuerySet
from .notices import ExpiryNotice
from .portal import (
    CustomerMembership,
    CustomerMembershipQuerySet,
    PendingPortalJoin,
    PortalLink,
    PortalLinkQuerySet,
)
from .resellers import Issuance, IssuanceRight, LicenseTemplate, LicenseTemplateQuerySet
from .userauth import AppUser, AppUserQuerySet

__all__ = [
    "FEATURE_NUMBERS",
    "MAX_MACHINE_CODE_LENGTH",
    "MAX_NOTES_LENGTH",
    "AccessToken",
    "AccessTokenQuerySet",
    "Activation",
    "ActivationForm",
    "ActivationFormQuerySet",
    "AppAuthorization",
    "AppAuthorizationQuerySet",
    "AppUser",
    "AppUserQuerySet",
    "Customer",
    "CustomerMembership",
    "CustomerMembershipQuerySet",
    "CustomerQuerySet",
    "DataObject",
    "ExpiryNotice",
    "Issuance",
    "IssuanceRight",
    "LicenseKey",
    "LicenseKeyQuerySet",
    "LicenseTemplate",
    "LicenseTemplateQuerySet",
    "Message",
    "MessageQuerySet",
    "PendingPortalJoin",
    "PortalLink",
    "PortalLinkQuerySet",
    "Product",
    "ProductQuerySet",
    "SigningKey",
    "SigningKeyQuerySet",
]
