"""What an access token may reach. Every Web API method finds its objects here, the way the
portals find theirs through apps.accounts.access; no method reads a token's locks itself.

A token can carry three locks, set on the Tokens page:
- a product lock: that product, its keys, templates and log rows only;
- a key lock: that one key (and, in listings, nothing but that key and its product);
- a template lock: CreateKeyFromTemplate with that template only;
and Cryptolens' key lock -1 (key_lock_required): each call is locked to the key it names.

Each registered method declares its reach (`Reach`). Before a handler runs, `check_reach`
refuses what cannot be narrowed to a locked token: a key-locked token may not create keys or
customers. The lookups below then apply the locks to whatever the handler reads, with
Cryptolens' error messages: a lock that does not cover the object asked for answers
"Not enough permission and/or key not found." (KEY_LOCKED), a listing is narrowed."""

from __future__ import annotations

import copy
from enum import StrEnum

from django.db.models import Exists, OuterRef, Q, QuerySet

from apps.accounts.models import Reseller
from apps.licensing import fastpath
from apps.licensing.models import (
    AccessToken,
    Activation,
    Customer,
    DataObject,
    LicenseKey,
    LicenseTemplate,
    Product,
)
from apps.licensing.services.data_objects import Owner

from . import errors
from .errors import ApiError
from .params import Params


class Reach(StrEnum):
    KEY = "key"  # one key, named by ProductId + Key (activation, key changes, data objects)
    PRODUCT = "product"  # creates keys in a product named by ProductId or a template
    LISTING = "listing"  # lists products, keys or log rows: narrowed to the token's locks
    VENDOR = "vendor"  # vendor-wide and about no key or product (adds customers)
    BROADCAST = "broadcast"  # reads what the vendor broadcasts to every copy (messages)
    CUSTOMER = "customer"  # one customer named by CustomerId, within the token's locks
    USER = "user"  # an app user named by Username (userauth Login, ChangePassword)


# Reaches a key-locked token may not use at all: nothing in them can be narrowed to one key.
BEYOND_A_KEY = frozenset({Reach.PRODUCT, Reach.VENDOR})


def check_reach(token: AccessToken, reach: Reach, params: Params | None = None) -> AccessToken:
    """Refuse a method whose reach goes beyond what the token is locked to; return the token
    the call runs with: a key-lock -1 token (key_lock_required) locked to the key the call
    names (see call_key_locked)."""
    if (token.locked_key_id or token.key_lock_required) and reach in BEYOND_A_KEY:
        raise ApiError(errors.ACCESS_DENIED)
    if token.key_lock_required and reach not in KEYLESS:
        return call_key_locked(token, params)
    return token


# Reaches a key-lock -1 token may use without naming a key: what every copy of the
# application reads alike (broadcast messages), and a user of the application who proves who
# they are (userauth Login: the user has no key yet, that is what Login gives them).
KEYLESS = frozenset({Reach.BROADCAST, Reach.USER})


def call_key_locked(token: AccessToken, params: Params | None) -> AccessToken:
    """Cryptolens' key lock -1: "caller must supply ProductId and Key" (wire reference §1.1;
    page "Authentication & Authorization"). The call runs as if the token were locked to the
    key it names, so listings (GetWebAPILog, GetEvents...) show that key's rows only, and a
    call naming no key gets "Not enough permission and/or key not found.". The locked copy is
    in memory only, like the tokens auth/KeyLock makes (apps.licensing.services.credentials)."""
    product_id = params.int("ProductId", 0) if params is not None else 0
    key_string = (params.str("Key", max_length=64).strip() if params is not None else "")
    if not (product_id and key_string):
        raise ApiError(errors.KEY_LOCKED)
    check_product_id(token, product_id)
    found = (LicenseKey.objects.select_related("product")
             .filter(product_id=product_id, product__vendor_id=token.vendor_id, key=key_string)
             .first())
    if found is None:
        product(token, product_id)  # "Could not find the product." when that is what is wrong
        raise ApiError(errors.KEY_NOT_FOUND)
    locked = copy.copy(token)  # Django copies the field cache: the cached token stays as it is
    locked.locked_key = found
    return locked


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
    devices). One query (a prepared statement on PostgreSQL: apps.licensing.fastpath.find);
    the product alone is looked up only to word a miss."""
    check_product_id(token, product_id)
    locked = token.locked_key  # None, without a query, when the token has no key lock
    if locked is not None and (product_id, key_string) != (locked.product_id, locked.key):
        # Decided before any look-up: whether another key exists is not the token's to know.
        raise ApiError(errors.KEY_LOCKED)
    if not (product_id and key_string):
        found = None
    elif fastpath.available():
        found = fastpath.find(vendor_id=token.vendor_id, product_id=product_id,
                              key=key_string, devices=devices)
    else:
        found = (LicenseKey.objects.select_related("product", "customer", "reseller")
                 .prefetch_related(*(("activations",) if devices else ()), "data_objects")
                 .filter(product_id=product_id, product__vendor_id=token.vendor_id,
                         key=key_string).first())
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


# --- Data objects (data/*) -----------------------------------------------------------------
# A key-locked token reaches its key's data objects and those of the key's machine codes; a
# product-locked token those of its product, its keys and their machine codes; the objects of
# the vendor's account need a token without a product or key lock. Anything outside the
# token's locks is answered "Not enough permission and/or key not found." (Cryptolens' words
# for a lock mismatch in the data-object methods), a missing object too when the token is
# locked, so a locked token cannot tell which ids exist.


def data_owner_within_locks(token: AccessToken, owner: Owner) -> bool:
    """Whether the token's locks cover data objects of `owner`."""
    if owner.vendor.pk != token.vendor_id:
        return False
    if owner.referencer_type == DataObject.ACCOUNT:
        return not (token.product_id or token.locked_key_id)
    if owner.referencer_type == DataObject.PRODUCT:
        product_id = owner.product.pk if owner.product is not None else None
        return not token.locked_key_id and token.product_id in (None, product_id)
    key_row = owner.key
    if key_row is None:
        return False
    if token.locked_key_id and token.locked_key_id != key_row.pk:
        return False
    return token.product_id in (None, key_row.product_id)


def check_data_owner(token: AccessToken, owner: Owner) -> Owner:
    if not data_owner_within_locks(token, owner):
        raise ApiError(errors.KEY_LOCKED)
    return owner


def data_referencer(token: AccessToken, referencer_type: int, referencer_id: int) -> Owner:
    """The owner named by the generic methods' ReferencerType + ReferencerId: 0 the account
    (ReferencerId ignored), 1 a product id, 2 a key's GlobalId, 3 an activated device's id
    (DataObjectWithReferencer.ReferencerId is one integer, so it names the device record)."""
    locked = bool(token.product_id or token.locked_key_id)
    owner: Owner | None = None
    if referencer_type == DataObject.ACCOUNT:
        owner = Owner.account(token.vendor)
    elif referencer_type == DataObject.PRODUCT:
        product_row = Product.objects.select_related("vendor").filter(
            vendor_id=token.vendor_id, pk=referencer_id).first()
        owner = Owner.of_product(product_row) if product_row is not None else None
    elif referencer_type == DataObject.KEY:
        key_row = LicenseKey.objects.select_related("product__vendor").filter(
            product__vendor_id=token.vendor_id, pk=referencer_id).first()
        owner = Owner.of_key(key_row) if key_row is not None else None
    elif referencer_type == DataObject.MACHINE_CODE:
        device = Activation.objects.select_related("key__product__vendor").filter(
            key__product__vendor_id=token.vendor_id, pk=referencer_id).first()
        owner = Owner.of_machine(device.key, device.machine_code) if device else None
    else:
        raise ApiError(errors.INCORRECT_INPUT)
    if owner is None:
        raise ApiError(errors.KEY_LOCKED if locked else _REFERENCER_MISSING[referencer_type])
    return check_data_owner(token, owner)


_REFERENCER_MISSING = {DataObject.PRODUCT: errors.PRODUCT_NOT_FOUND,
                       DataObject.KEY: errors.KEY_NOT_FOUND,
                       DataObject.MACHINE_CODE: errors.KEY_NOT_FOUND}


def data_object_by_id(token: AccessToken, object_id: int) -> DataObject:
    """The vendor's data object `object_id` (the generic methods' Id-only addressing),
    within the token's locks."""
    found = (DataObject.objects.select_related("vendor", "product__vendor", "key__product__vendor",
                                               "machine_key__product__vendor")
             .filter(vendor_id=token.vendor_id, pk=object_id).first()) if object_id else None
    if found is None or not data_owner_within_locks(token, Owner.of_object(found)):
        locked = bool(token.product_id or token.locked_key_id)
        raise ApiError(errors.KEY_LOCKED if locked else errors.DATA_OBJECT_NOT_FOUND)
    return found


def data_objects_visible(token: AccessToken) -> QuerySet[DataObject]:
    """Every data object the token may list (ListDataObjects with ShowAll)."""
    queryset = DataObject.objects.filter(vendor_id=token.vendor_id)
    if token.locked_key_id:
        return queryset.filter(Q(key_id=token.locked_key_id)
                               | Q(machine_key_id=token.locked_key_id))
    if token.product_id:
        return queryset.filter(Q(product_id=token.product_id)
                               | Q(key__product_id=token.product_id)
                               | Q(machine_key__product_id=token.product_id))
    return queryset


def check_increment(token: AccessToken, amount: int) -> None:
    """The token's feature lock for increments and decrements (max_increment): a larger
    change is refused."""
    if token.max_increment is not None and abs(amount) > token.max_increment:
        raise ApiError(errors.ACCESS_DENIED)


# --- userauth: users of the vendor's application ------------------------------------------
# App users belong to the vendor, not to a product or key: a locked token reaches those whose
# customer lies inside its locks (customer_within_locks), and unassociated users too unless
# it is key-locked. Outside that, a user is answered as missing ("Username does not exist.").

from apps.licensing.models import AppUser  # noqa: E402


def app_user_within_locks(token: AccessToken, user: AppUser) -> bool:
    """Whether the token may manage `user` without the user's password (AdminMode). A key
    lock -1 token ships inside the application and names no key here: no user is within it."""
    if user.vendor_id != token.vendor_id or token.key_lock_required:
        return False
    if user.customer_id is None:
        return not token.locked_key_id
    return user.customer is not None and customer_within_locks(token, user.customer)


def app_user(token: AccessToken, username: str, *, proven: bool = False) -> AppUser | None:
    """The token vendor's user of that name (any case) within the token's locks, or None.
    `proven`: the caller brings the user's password or reset token (Login, ChangePassword
    without AdminMode), which is the right to the user whatever the locks: a token shipped in
    a product locked to it must let a user of a customer with several products in (Login
    still lists only the keys within the locks)."""
    username = username.strip()
    if not username:
        return None
    found = (AppUser.objects.filter(vendor_id=token.vendor_id, username__iexact=username)
             .select_related("customer").first())
    if found is None or not (proven or app_user_within_locks(token, found)):
        return None
    return found


def app_users(token: AccessToken, queryset: QuerySet[AppUser]) -> QuerySet[AppUser]:
    """`queryset` narrowed to the token vendor's users within the token's locks."""
    queryset = queryset.filter(vendor_id=token.vendor_id)
    if token.locked_key_id:
        return queryset.filter(customer__keys__pk=token.locked_key_id)
    if token.product_id:
        outside = LicenseKey.objects.filter(customer_id=OuterRef("customer_id")).exclude(
            product_id=token.product_id)
        return queryset.exclude(Exists(outside))
    return queryset


def app_user_customer(token: AccessToken, customer_id: int) -> Customer | None:
    """The vendor's customer `customer_id` to associate a user with, within the token's
    locks; None when there is none (or it lies outside them: the same answer)."""
    found = Customer.objects.filter(vendor_id=token.vendor_id, pk=customer_id).first() \
        if customer_id else None
    if found is None or not customer_within_locks(token, found):
        return None
    return found


# --- Customers and resellers (customer/GetCustomers, EditCustomer, RemoveCustomer; reseller/*;
# key/ChangeReseller and CreateKey's ResellerId) ------------------------------------------------


def customers(token: AccessToken) -> QuerySet[Customer]:
    """The vendor's customers the token may list, edit or remove: for a key lock the
    customer of its key; for a product lock those all of whose keys are of that product (a
    customer without keys included), as customer_within_locks decides for one customer."""
    queryset = Customer.objects.filter(vendor_id=token.vendor_id)
    if token.locked_key_id:
        return queryset.filter(keys__pk=token.locked_key_id)
    if token.product_id:
        outside = LicenseKey.objects.filter(customer_id=OuterRef("pk")).exclude(
            product_id=token.product_id)
        return queryset.exclude(Exists(outside))
    return queryset


def customer_to_change(token: AccessToken, customer_id: int) -> Customer | None:
    """The vendor's customer `customer_id` that the token may edit or remove, or None:
    another vendor's customer, a missing one and one outside the locks get the same answer.
    A change shows in (or, removing, detaches) every key of the customer, so all of them must
    lie inside the lock: for a key lock the customer may have no key but the locked one."""
    if not customer_id:
        return None
    queryset = customers(token).filter(pk=customer_id)
    if token.locked_key_id:
        others = LicenseKey.objects.filter(customer_id=OuterRef("pk")).exclude(
            pk=token.locked_key_id)
        queryset = queryset.exclude(Exists(others))
    return queryset.first()


def check_vendor_wide(token: AccessToken) -> None:
    """Resellers belong to the whole account: their keys, rights and customers span the
    vendor's products. A product-locked token may not list or change them (a key-locked one
    is already refused by Reach.VENDOR)."""
    if token.product_id or token.locked_key_id:
        raise ApiError(errors.ACCESS_DENIED)


def reseller_to_attach(token: AccessToken, reseller_id: int,
                       key: LicenseKey | None = None) -> Reseller | None:
    """The vendor's reseller `reseller_id` to attach to keys (None: there is none, which
    ChangeReseller answers by detaching). A locked token may attach only the reseller its
    key already has (attaching shows the reseller's name, e-mail and phone in the key's
    answers); another id, existing or not, is "Access denied.", so it learns no ids."""
    found = Reseller.objects.filter(vendor_id=token.vendor_id, pk=reseller_id).first() \
        if reseller_id else None
    locked = bool(token.product_id or token.locked_key_id)
    if locked and (found is None or key is None or key.reseller_id != found.pk):
        raise ApiError(errors.ACCESS_DENIED)
    return found



# --- Broadcast messages (message/*) -------------------------------------------------------

from apps.licensing.models import Message  # noqa: E402


def message(token: AccessToken, message_id: int) -> Message | None:
    """The token vendor's message `message_id`; None when there is none (another vendor's
    message included: its id tells the caller nothing). Messages are vendor-wide, so product
    locks do not narrow them; a key-locked token never gets here (Reach.VENDOR)."""
    return Message.objects.filter(vendor_id=token.vendor_id, pk=message_id).first()


# --- Analytics (ai/GetObjectLog; the Web API log and events use log_rows above) ------------

from django.db.models import CharField  # noqa: E402
from django.db.models.functions import Cast  # noqa: E402

from apps.audit.models import ObjectLogEntry  # noqa: E402

# The object types of the object log that belong to one product (object_type is the model's
# label): the product itself, its keys and its templates.
PRODUCT_OBJECT = "licensing.product"
KEY_OBJECT = "licensing.licensekey"
TEMPLATE_OBJECT = "licensing.licensetemplate"


def object_log_rows(token: AccessToken, *, product_id: int | None = None,
                    key_id: int | None = None) -> QuerySet[ObjectLogEntry]:
    """The vendor's object log within the token's locks, narrowed to a product (its own
    entries, its keys' and its templates') or a key. A key-locked token sees its key's
    entries only; a product-locked one its product's. The caller has already checked that
    `product_id` and `key_id` lie within the locks (ctx.product / ctx.key)."""
    rows = ObjectLogEntry.objects.filter(vendor_id=token.vendor_id)
    key_id = token.locked_key_id or key_id
    product_id = product_id or token.product_id
    if key_id:
        return rows.filter(object_type=KEY_OBJECT, object_id=str(key_id))
    if product_id:
        key_ids = (LicenseKey.objects.filter(product_id=product_id)
                   .annotate(text_id=Cast("pk", CharField())).values("text_id"))
        template_ids = (LicenseTemplate.objects.filter(product_id=product_id)
                        .annotate(text_id=Cast("pk", CharField())).values("text_id"))
        rows = rows.filter(Q(object_type=PRODUCT_OBJECT, object_id=str(product_id))
                           | Q(object_type=KEY_OBJECT, object_id__in=key_ids)
                           | Q(object_type=TEMPLATE_OBJECT, object_id__in=template_ids))
    return rows
