"""What an access token may reach. Every Web API method finds its objects here, the way the
portals find theirs through apps.accounts.access; no method reads a token's locks itself.

A token can carry three locks, set on the Tokens page:
- a product lock: that product, its keys, templates and log rows only;
- a key lock: that one key (and, in listings, nothing but that key and its product);
- a template lock: CreateKeyFromTemplate with that template only.

Each registered method declares its reach (`Reach`). Before a handler runs, `check_reach`
refuses what cannot be narrowed to a locked token: a key-locked token may not create keys or
customers. The lookups below then apply the locks to whatever the handler reads, with
Cryptolens' error messages: a lock that does not cover the object asked for answers
"Not enough permission and/or key not found." (KEY_LOCKED), a listing is narrowed."""

from __future__ import annotations

from enum import StrEnum

from django.db.models import QuerySet

from apps.licensing.models import AccessToken, Customer, LicenseKey, LicenseTemplate, Product

from . import errors
from .errors import ApiError


class Reach(StrEnum):
    KEY = "key"  # one key, named by ProductId + Key (activation, key changes, data objects)
    PRODUCT = "product"  # creates keys in a product named by ProductId or a template
    LISTING = "listing"  # lists products, keys or log rows: narrowed to the token's locks
    VENDOR = "vendor"  # vendor-wide and about no key or product (adds customers)
    BROADCAST = "broadcast"  # reads what the vendor broadcasts to every copy (messages)


# Reaches a key-locked token may not use at all: nothing in them can be narrowed to one key.
BEYOND_A_KEY = frozenset({Reach.PRODUCT, Reach.VENDOR})


def check_reach(token: AccessToken, reach: Reach) -> None:
    """Refuse a method whose reach goes beyond what the token is locked to."""
    if token.locked_key_id and reach in BEYOND_A_KEY:
        raise ApiError(errors.ACCESS_DENIED)


def check_product_id(token: AccessToken, product_id: int) -> None:
    """A product lock, or a key lock (through its key's product), covers `product_id`."""
    # token.locked_key is None, without a query, when the token has no key lock.
    locked_product_id = token.product_id
    if not locked_product_id and token.locked_key is not None:
        locked_product_id = token.locked_key.product_id
    if locked_product_id and locked_product_id != product_id:
        raise ApiError(errors.KEY_LOCKED)


def product(token: AccessToken, product_id: int) -> Product:
    """The token vendor's product `product_id`, within the token's locks."""
    if not product_id:
        raise ApiError(errors.PRODUCT_NOT_FOUND)
    check_product_id(token, product_id)
    found = Product.objects.filter(vendor_id=token.vendor_id, pk=product_id).first()
    if found is None:
        raise ApiError(errors.PRODUCT_NOT_FOUND)
    return found


def key(token: AccessToken, product_id: int, key_string: str, *,
        devices: bool = True) -> LicenseKey:
    """The key named by ProductId + Key, within the token's locks, with what a signed answer
    reads (product, customer, reseller, data objects and, unless `devices` is False, the
    devices). One query; the product alone is looked up only to word a miss."""
    check_product_id(token, product_id)
    locked = token.locked_key  # None, without a query, when the token has no key lock
    if locked is not None and (product_id, key_string) != (locked.product_id, locked.key):
        # Decided before any look-up: whether another key exists is not the token's to know.
        raise ApiError(errors.KEY_LOCKED)
    found = (LicenseKey.objects.select_related("product", "customer", "reseller")
             .prefetch_related(*(("activations",) if devices else ()), "data_objects")
             .filter(product_id=product_id, product__vendor_id=token.vendor_id,
                     key=key_string).first()) if product_id and key_string else None
    if found is None:
        product(token, product_id)  # "Could not find the product." when that is what is wrong
        raise ApiError(errors.KEY_NOT_FOUND)
    if token.locked_key_id and token.locked_key_id != found.pk:
        raise ApiError(errors.KEY_LOCKED)
    return found


def fast_path_allowed(token: AccessToken, product_id: int) -> bool:
    """Whether the one-statement read path may serve this call: it applies the key lock in
    its SQL (locked_key_id) but not the product lock, so a mismatch goes the ordinary way."""
    return not (token.product_id and token.product_id != product_id)


def template(token: AccessToken, template_id: int) -> LicenseTemplate | None:
    """The vendor's template `template_id` within the template and product locks; None when
    there is no such template. A template-locked token is refused any other id before the
    look-up, so it learns nothing about other templates."""
    if token.template_lock_id and token.template_lock_id != template_id:
        raise ApiError(errors.ACCESS_DENIED)
    found = (LicenseTemplate.objects.filter(product__vendor_id=token.vendor_id)
             .select_related("product").filter(pk=template_id).first()) if template_id else None
    if found is not None:
        check_product_id(token, found.product_id)
    return found


def products(token: AccessToken) -> QuerySet[Product]:
    """The vendor's products the token may list."""
    queryset = Product.objects.filter(vendor_id=token.vendor_id)
    if token.product_id:
        queryset = queryset.filter(pk=token.product_id)
    if token.locked_key is not None:
        queryset = queryset.filter(pk=token.locked_key.product_id)
    return queryset


def keys(token: AccessToken, queryset: QuerySet[LicenseKey]) -> QuerySet[LicenseKey]:
    """`queryset` (keys of the token's vendor) narrowed to the token's locks."""
    queryset = queryset.filter(product__vendor_id=token.vendor_id)
    if token.product_id:
        queryset = queryset.filter(product_id=token.product_id)
    if token.locked_key_id:
        queryset = queryset.filter(pk=token.locked_key_id)
    return queryset


def customer(token: AccessToken, customer: Customer | None) -> Customer | None:
    """A customer whose keys the token is about to list: a key-locked token sees only the
    customer of its key (any other is answered as not found)."""
    if customer is None or customer.vendor_id != token.vendor_id:
        return None
    if token.locked_key_id and not LicenseKey.objects.filter(
            pk=token.locked_key_id, customer_id=customer.pk).exists():
        return None  # read now: the token is cached, the key's customer may have changed
    return customer


def customer_within_locks(token: AccessToken, customer: Customer) -> bool:
    """Whether `customer` lies inside the token's locks: the key-locked token's own key's
    customer, or for a product lock a customer all of whose keys are of that product (a new
    customer without keys included). Attaching a customer shows its details in the key's
    answers, and a portal invitation opens all its keys: neither may reach past the lock."""
    if customer.vendor_id != token.vendor_id:
        return False
    if token.locked_key_id:
        return LicenseKey.objects.filter(pk=token.locked_key_id, customer_id=customer.pk).exists()
    if token.product_id:
        return not LicenseKey.objects.filter(customer_id=customer.pk).exclude(
            product_id=token.product_id).exists()
    return True


def customer_to_attach(token: AccessToken, customer_id: int) -> Customer | None:
    """The vendor's customer `customer_id` to attach to a key (None: there is none). A locked
    token is refused any customer outside its locks, missing ones included, so that it cannot
    tell which ids exist."""
    found = Customer.objects.filter(vendor_id=token.vendor_id, pk=customer_id).first()
    locked = bool(token.locked_key_id or token.product_id)
    if locked and (found is None or not customer_within_locks(token, found)):
        raise ApiError(errors.ACCESS_DENIED)
    return found


def check_customer_reuse(token: AccessToken, email: str) -> None:
    """Before a key is issued to "the existing customer with this e-mail, or a new one": a
    locked token may not reuse a customer outside its locks."""
    if not (token.locked_key_id or token.product_id) or not email:
        return
    existing = (Customer.objects.filter(vendor_id=token.vendor_id, email__iexact=email)
                .order_by("id").first())
    if existing is not None and not customer_within_locks(token, existing):
        raise ApiError(errors.ACCESS_DENIED)


def event_product_id(token: AccessToken, product_id: int | None) -> int | None:
    """The product an event is recorded under: a locked token's events belong to its
    product, never to the vendor as a whole."""
    if product_id:
        return product_id
    if token.product_id:
        return token.product_id
    return token.locked_key.product_id if token.locked_key is not None else None


def log_rows(token: AccessToken, queryset: QuerySet) -> QuerySet:
    """Web API log rows or events (which name keys by ProductId + key string) narrowed to the
    token's locks."""
    queryset = queryset.filter(vendor_id=token.vendor_id)
    if token.product_id:
        queryset = queryset.filter(product_id=token.product_id)
    locked = token.locked_key
    if locked is not None:
        queryset = queryset.filter(product_id=locked.product_id, key=locked.key)
    return queryset
