"""License templates, resellers, their issuance rights, and keys issued under them."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import URLValidator, validate_email
from django.db import transaction
from django.db.models import Count
from django.db.models.functions import TruncMonth
from django.utils import timezone

from apps.accounts.models import Reseller, User, Vendor
from apps.audit.log import Actor, diff, log_change, snapshot
from apps.core.errors import DomainError
from apps.core.hashing import sha256_hex
from apps.licensing import events
from apps.licensing.models import (
    MAX_NOTES_LENGTH,
    Customer,
    DataObject,
    Issuance,
    IssuanceRight,
    LicenseKey,
    LicenseTemplate,
    Product,
)
from apps.licensing.services.keys import KeySpec, key_create

TEMPLATE_FIELDS = [
    "name", "period", *[f"f{n}" for n in range(1, 9)], "max_no_of_machines",
    "trial_activation", "automatic_activation", "allowed_machines", "notes",
    "floating_time_interval", "max_overdraft", "data_objects",
]
QUOTA_USED_UP = "The quota of this right is used up."
RIGHT_CLOSED = "This right is paused, stopped or expired: it issues no more keys."
INVITATION_DAYS = 14


def _check_template(fields: dict[str, Any]) -> None:
    if "name" in fields and not 1 <= len(str(fields["name"]).strip()) <= 100:
        raise DomainError("A template needs a name of at most 100 characters.", field="name")
    if len(fields.get("notes", "")) > MAX_NOTES_LENGTH:
        raise DomainError("The notes field cannot be more than 500 characters.", field="notes")
    for item in fields.get("data_objects") or []:
        if not isinstance(item, dict) or not str(item.get("name", "")).strip():
            raise DomainError("Each data object needs a name.", field="data_objects")


@transaction.atomic
def template_create(*, product: Product, actor: Actor, **fields: Any) -> LicenseTemplate:
    unknown = set(fields) - set(TEMPLATE_FIELDS)
    if unknown:
        raise TypeError(f"Unknown template fields: {sorted(unknown)}")
    _check_template(fields)
    template = LicenseTemplate.objects.create(product=product, **fields)
    log_change(vendor=product.vendor, actor=actor, obj=template, action="created",
               changes=diff({}, snapshot(template, TEMPLATE_FIELDS)))
    return template


@transaction.atomic
def template_update(*, template: LicenseTemplate, actor: Actor, **fields: Any
                    ) -> LicenseTemplate:
    unknown = set(fields) - set(TEMPLATE_FIELDS)
    if unknown:
        raise TypeError(f"Unknown template fields: {sorted(unknown)}")
    _check_template(fields)
    before = snapshot(template, TEMPLATE_FIELDS)
    for name, value in fields.items():
        setattr(template, name, value)
    template.save()
    changes = diff(before, snapshot(template, TEMPLATE_FIELDS))
    if changes:
        log_change(vendor=template.product.vendor, actor=actor, obj=template,
                   action="updated", changes=changes)
    return template


@transaction.atomic
def key_create_from_template(*, template: LicenseTemplate, actor: Actor,
                             customer: Customer | None = None,
                             reseller: Reseller | None = None) -> LicenseKey:
    """A key with the template's parameters and data objects."""
    spec = KeySpec(
        period=template.period, features=template.features, notes=template.notes,
        customer=customer, max_no_of_machines=template.max_no_of_machines,
        trial_activation=template.trial_activation,
        allowed_machines=template.allowed_machines,
        automatic_activation=template.automatic_activation,
    )
    key = key_create(product=template.product, actor=actor, spec=spec)[0]
    if reseller is not None:
        LicenseKey.objects.filter(pk=key.pk).update(reseller=reseller)
        key.reseller = reseller
    DataObject.objects.bulk_create([
        DataObject(key=key, vendor_id=template.product.vendor_id, name=str(item["name"])[:100],
                   string_value=str(item.get("string_value", ""))[:10000],
                   int_value=int(item.get("int_value", 0) or 0))
        for item in template.data_objects or []
    ])
    return key


# The invitation token of someone who opened a reseller invitation before signing up: it tells
# the sign-up form which address to fill in.
SESSION_RESELLER_INVITATION_TOKEN = "reseller_invitation_token"


@transaction.atomic
def reseller_invite(*, vendor: Vendor, actor: User, name: str, email: str,
                    accept_url_template: str, company: str = "", url: str = "",
                    phone: str = "", description: str = "") -> Reseller:
    """Invite a reseller by e-mail (reseller_invitation_send, for callers that do not show
    the link)."""
    return reseller_invitation_send(
        vendor=vendor, actor=actor, name=name, email=email,
        accept_url_template=accept_url_template, company=company, url=url, phone=phone,
        description=description)[0]


@transaction.atomic
def reseller_invitation_send(*, vendor: Vendor, actor: User, name: str, email: str,
                             accept_url_template: str, company: str = "", url: str = "",
                             phone: str = "", description: str = "") -> tuple[Reseller, str]:
    """Invite a reseller by e-mail; `accept_url_template` has a {token} placeholder. Returns
    the reseller and the e-mailed link (shown once, for copying; only its digest is kept)."""
    email = email.strip().lower()
    if not name.strip() or not email:
        raise DomainError("Give the reseller a name and an e-mail address.", field="name")
    token = secrets.token_urlsafe(24)
    reseller = Reseller.objects.create(
        vendor=vendor, name=name.strip(), email=email, company=company, url=url, phone=phone,
        description=description, invite_token_hash=sha256_hex(token),
        invite_expires_at=timezone.now() + dt.timedelta(days=INVITATION_DAYS))
    link = _reseller_invitation_mail(reseller, actor, accept_url_template.format(token=token))
    log_change(vendor=vendor, actor=Actor.for_user(actor), obj=reseller, action="invited",
               changes={"name": [None, reseller.name], "email": [None, email]})
    return reseller, link


@transaction.atomic
def reseller_invitation_resend(*, reseller: Reseller, actor: User,
                               accept_url_template: str) -> str:
    """E-mail a reseller's invitation again, valid for INVITATION_DAYS from now. Only the
    digest of the first link was kept, so the mail carries a new link (returned) and the old
    one stops working."""
    reseller = Reseller.objects.select_for_update().get(pk=reseller.pk)
    if reseller.accepted_at is not None:
        raise DomainError("This reseller has already accepted the invitation.")
    token = secrets.token_urlsafe(24)
    reseller.invite_token_hash = sha256_hex(token)
    reseller.invite_expires_at = timezone.now() + dt.timedelta(days=INVITATION_DAYS)
    reseller.save(update_fields=["invite_token_hash", "invite_expires_at", "updated"])
    link = _reseller_invitation_mail(reseller, actor, accept_url_template.format(token=token))
    log_change(vendor=reseller.vendor, actor=Actor.for_user(actor), obj=reseller,
               action="invitation resent",
               changes={"invite_expires_at": [None, reseller.invite_expires_at]})
    return link


def _reseller_invitation_mail(reseller: Reseller, actor: User, link: str) -> str:
    vendor = reseller.vendor
    transaction.on_commit(lambda: send_mail(
        f"[{settings.SITE_NAME}] {vendor.name} invites you to resell its software",
        f"{actor.email} invited you to issue licenses for {vendor.name} as a reseller.\n\n"
        f"Accept the invitation (valid for {INVITATION_DAYS} days):\n{link}\n\n"
        "Sign up or log in with this e-mail address first if you have no account yet.\n",
        None, [reseller.email]))
    return link


def reseller_for_token(token: str) -> Reseller | None:
    if not token or len(token) > 100:
        return None
    return (Reseller.objects.select_related("vendor")
            .filter(invite_token_hash=sha256_hex(token), accepted_at__isnull=True,
                    invite_expires_at__gt=timezone.now()).first())


@transaction.atomic
def reseller_accept(*, reseller: Reseller, user: User) -> Reseller:
    """The invited person becomes the reseller: only with the invited e-mail address."""
    reseller = Reseller.objects.select_for_update().get(pk=reseller.pk)
    if (reseller.accepted_at is not None or reseller.invite_expires_at is None
            or reseller.invite_expires_at <= timezone.now()):
        raise DomainError("This invitation is no longer valid.")
    if user.email.lower() != reseller.email.lower():
        raise DomainError(f"This invitation is for {reseller.email}. Log in with that "
                          "address to accept it.")
    if Reseller.objects.filter(vendor=reseller.vendor, user=user).exists():
        raise DomainError("You are already a reseller of this vendor.")
    reseller.user, reseller.accepted_at, reseller.invite_token_hash = user, timezone.now(), ""
    reseller.save(update_fields=["user", "accepted_at", "invite_token_hash", "updated"])
    log_change(vendor=reseller.vendor, actor=Actor.for_user(user), obj=reseller,
               action="accepted", changes={"user": [None, user.email]})
    return reseller


RIGHT_FIELDS = ["name", "quota", "valid_until", "status"]


@transaction.atomic
def right_grant(*, reseller: Reseller, template: LicenseTemplate, quota: int, actor: Actor,
                valid_until: dt.datetime | None = None, name: str = "") -> IssuanceRight:
    if template.product.vendor_id != reseller.vendor_id:
        raise DomainError("Could not find the template.", field="template")
    if quota < 1:
        raise DomainError("Grant at least one license.", field="quota")
    right = IssuanceRight.objects.create(reseller=reseller, template=template, quota=quota,
                                         valid_until=valid_until, name=name.strip())
    log_change(vendor=reseller.vendor, actor=actor, obj=right, action="granted",
               changes={"reseller": [None, str(reseller)], "template": [None, str(template)],
                        "quota": [None, quota], "valid_until": [None, valid_until]})
    return right


@transaction.atomic
def right_update(*, right: IssuanceRight, actor: Actor, **fields: Any) -> IssuanceRight:
    """Pause, resume, stop, raise (or lower, not below what was issued) a right."""
    unknown = set(fields) - set(RIGHT_FIELDS)
    if unknown:
        raise TypeError(f"Unknown right fields: {sorted(unknown)}")
    locked = IssuanceRight.objects.select_for_update(of=("self",)).select_related(
        "reseller__vendor").get(pk=right.pk)
    if locked.status == IssuanceRight.STOPPED and fields.get("status", "stopped") != "stopped":
        raise DomainError("A stopped right cannot be resumed; grant a new one.", field="status")
    if "quota" in fields and fields["quota"] < locked.issued:
        raise DomainError(f"{locked.issued} licenses were already issued under this right.",
                          field="quota")
    if fields.get("status") not in (None, *dict(IssuanceRight.STATUSES)):
        raise DomainError("Unknown status.", field="status")
    before = snapshot(locked, RIGHT_FIELDS)
    for name, value in fields.items():
        setattr(locked, name, value)
    locked.save()
    changes = diff(before, snapshot(locked, RIGHT_FIELDS))
    if changes:
        log_change(vendor=locked.reseller.vendor, actor=actor, obj=locked, action="changed",
                   changes=changes)
    for f in [*RIGHT_FIELDS, "issued"]:
        setattr(right, f, getattr(locked, f))
    return right


def reseller_issue_key(*, right: IssuanceRight, actor: Actor,
                       customer: Customer | None = None) -> LicenseKey:
    """Issue one key under `right`: exact under concurrency (the right's row is locked while
    its count is checked and raised). A refusal is written to the object log too."""
    try:
        return _issue(right, actor, customer)
    except DomainError as refusal:
        with transaction.atomic():
            log_change(vendor=right.reseller.vendor, actor=actor, obj=right,
                       action="issue refused", changes={"reason": [None, refusal.message]})
        raise


@transaction.atomic
def _issue(right: IssuanceRight, actor: Actor, customer: Customer | None) -> LicenseKey:
    locked = IssuanceRight.objects.select_for_update(of=("self",)).select_related(
        "reseller__vendor", "template__product__vendor").get(pk=right.pk)
    if locked.status != IssuanceRight.ACTIVE or (
            locked.valid_until is not None and locked.valid_until <= timezone.now()):
        raise DomainError(RIGHT_CLOSED)
    if locked.issued >= locked.quota:
        raise DomainError(QUOTA_USED_UP)
    reseller = locked.reseller
    if customer is not None and not (
            customer.vendor_id == reseller.vendor_id
            and (customer.reseller_id == reseller.pk or customer.shared_with_resellers)):
        raise DomainError("Could not find the customer.", field="customer")
    key = key_create_from_template(template=locked.template, actor=actor, customer=customer,
                                   reseller=reseller)
    locked.issued += 1
    locked.save(update_fields=["issued", "updated"])
    Issuance.objects.create(right=locked, reseller=reseller, template=locked.template, key=key)
    log_change(vendor=reseller.vendor, actor=actor, obj=locked, action="key issued",
               changes={"key": [None, key.key], "issued": [locked.issued - 1, locked.issued]})
    events.key_event(key, "reseller.key_issued",
                     IssuedBy={"ResellerId": reseller.pk, "Name": reseller.name,
                               "Template": locked.template.name})
    right.issued = locked.issued
    return key


@transaction.atomic
def reseller_customer_create(*, reseller: Reseller, actor: Actor, name: str = "",
                             email: str = "", company_name: str = "", shared: bool = False
                             ) -> Customer:
    if not (name or email or company_name):
        raise DomainError("Give the customer a name, an e-mail address or a company.",
                          field="name")
    customer = Customer.objects.create(vendor=reseller.vendor, reseller=reseller, name=name,
                                       email=email, company_name=company_name,
                                       shared_with_resellers=shared)
    log_change(vendor=reseller.vendor, actor=actor, obj=customer, action="created",
               changes={"name": [None, name], "email": [None, email],
                        "reseller": [None, str(reseller)], "shared": [None, shared]})
    events.customer_event(customer)
    return customer


def billing_report(*, vendor: Vendor, since: dt.datetime | None = None,
                   until: dt.datetime | None = None) -> list[dict[str, Any]]:
    """Keys issued per reseller, month and template: what the vendor can bill."""
    issuances = Issuance.objects.filter(reseller__vendor=vendor)
    if since:
        issuances = issuances.filter(time__gte=since)
    if until:
        issuances = issuances.filter(time__lt=until)
    return list(
        issuances.annotate(month=TruncMonth("time"))
        .values("reseller_id", "reseller__name", "reseller__company", "month", "template_id",
                "template__name")
        .annotate(count=Count("id"))
        .order_by("reseller__name", "month", "template__name")
    )


# --- Resellers kept through the Web API (reseller/AddReseller, EditReseller, RemoveReseller) ---
# Cryptolens' limits and messages (app.cryptolens.io/docs/api/v3/AddReseller): name and email
# 100 characters, description 500. Its url (500) and phone (100) limits are longer than this
# model's columns (200 and 50), so those two say this model's limits in the same words.
RESELLER_FIELDS = ["name", "company", "email", "url", "phone", "description", "metadata"]
# Cryptolens' limits (AddReseller's page), and ours for the company and metadata.
RESELLER_LIMITS = {"name": 100, "company": 100, "email": 100, "url": 500, "phone": 100,
                   "description": 500, "metadata": 10000}
RESELLER_IN_USE = ("This reseller is in use ({uses}) and cannot be removed: resellers that "
                   "issued keys, hold issuance rights or have customers stay on record.")
RESELLER_NOT_FOUND = "Could not find the reseller."


def _check_reseller(values: dict[str, Any]) -> None:
    for name, limit in RESELLER_LIMITS.items():
        if len(values.get(name) or "") > limit:
            raise DomainError(f"The {name} cannot be longer than {limit} characters.",
                              field=name)
    if not (values.get("name") or "").strip():
        raise DomainError("Give the reseller a name.", field="name")
    try:
        if values.get("email"):
            validate_email(values["email"])
    except ValidationError:
        raise DomainError("The email is not a valid e-mail address.", field="email") from None
    try:
        # Shown as a link on the reseller's page: only web addresses.
        if values.get("url"):
            URLValidator(schemes=["http", "https"])(values["url"])
    except ValidationError:
        raise DomainError("The url must be a web address (http:// or https://).",
                          field="url") from None


@transaction.atomic
def reseller_add(*, vendor: Vendor, actor: Actor, name: str = "", email: str = "",
                 company: str = "", url: str = "", phone: str = "", description: str = "",
                 metadata: str = "") -> Reseller:
    """A reseller the vendor keeps on record (AddReseller) without inviting anyone: it has
    no portal login until the vendor sends the invitation from the reseller's page, which
    needs an e-mail address (reseller_invitation_resend)."""
    values = {"name": name.strip() or email.strip() or company.strip(),
              "email": email.strip().lower(), "company": company.strip(), "url": url.strip(),
              "phone": phone.strip(), "description": description, "metadata": metadata}
    _check_reseller(values)
    reseller = Reseller.objects.create(vendor=vendor, **values)
    log_change(vendor=vendor, actor=actor, obj=reseller, action="created",
               changes=diff({}, snapshot(reseller, RESELLER_FIELDS)))
    return reseller


@transaction.atomic
def reseller_update(*, reseller: Reseller, actor: Actor, **fields: Any) -> Reseller:
    """Change the given fields of a reseller (EditReseller changes only what is given)."""
    unknown = set(fields) - set(RESELLER_FIELDS)
    if unknown:
        raise TypeError(f"Unknown reseller fields: {sorted(unknown)}")
    if "email" in fields:
        fields["email"] = fields["email"].strip().lower()
    locked = (Reseller.objects.select_for_update(of=("self",)).select_related("vendor")
              .get(pk=reseller.pk))
    before = snapshot(locked, RESELLER_FIELDS)
    _check_reseller({**before, **fields})
    for name, value in fields.items():
        setattr(locked, name, value)
    locked.save(update_fields=[*fields, "updated"])
    changes = diff(before, snapshot(locked, RESELLER_FIELDS))
    if changes:
        log_change(vendor=locked.vendor, actor=actor, obj=locked, action="updated",
                   changes=changes)
    for name in RESELLER_FIELDS:
        setattr(reseller, name, getattr(locked, name))
    return reseller


def reseller_uses(reseller: Reseller) -> list[str]:
    """What keeps a reseller on record: keys it holds or issued, rights, its customers."""
    counts = [
        (LicenseKey.objects.filter(reseller=reseller).count(), "license key"),
        (Issuance.objects.filter(reseller=reseller).count(), "issued key"),
        (IssuanceRight.objects.filter(reseller=reseller).count(), "issuance right"),
        (Customer.objects.filter(reseller=reseller).count(), "customer"),
    ]
    return [f"{n} {noun}{'' if n == 1 else 's'}" for n, noun in counts if n]


@transaction.atomic
def reseller_remove(*, reseller: Reseller, actor: Actor) -> None:
    """Remove a reseller that is in use nowhere. Refused otherwise, as in Cryptolens
    ("resellers ... in use cannot be removed", docs/reseller): issuances are the billing
    report and rights are never removed; a key or customer would lose its reseller."""
    locked = (Reseller.objects.select_for_update(of=("self",)).select_related("vendor")
              .get(pk=reseller.pk))
    uses = reseller_uses(locked)
    if uses:
        raise DomainError(RESELLER_IN_USE.format(uses=", ".join(uses)))
    changes = {n: [v, None] for n, v in snapshot(locked, RESELLER_FIELDS).items()}
    if locked.user_id:
        changes["user"] = [locked.user.email if locked.user else None, None]
    log_change(vendor=locked.vendor, actor=actor, obj=locked, action="deleted",
               changes=changes)
    locked.delete()


@transaction.atomic
def keys_set_reseller(*, keys: list[LicenseKey], reseller: Reseller | None, actor: Actor
                      ) -> None:
    """Attach `keys` to `reseller` (None detaches them): Cryptolens' ChangeReseller and
    CreateKey's ResellerId. The keys then carry the Reseller object (ModelVersion 3) and show
    in that reseller's portal."""
    if not keys:
        return
    vendor = keys[0].product.vendor
    # The reseller's row lock orders this with reseller_remove: a reseller is never removed
    # while a key is being attached to it.
    if reseller is not None and (reseller.vendor_id != vendor.pk or not list(
            Reseller.objects.select_for_update().filter(pk=reseller.pk).values_list("pk"))):
        raise DomainError(RESELLER_NOT_FOUND, field="reseller")
    locked = list(LicenseKey.objects.select_for_update(of=("self",))
                  .select_related("reseller").filter(pk__in=[k.pk for k in keys]))
    new_id = reseller.pk if reseller is not None else None
    changed = [k for k in locked if k.reseller_id != new_id]
    LicenseKey.objects.filter(pk__in=[k.pk for k in changed]).update(reseller=reseller)
    for key in changed:
        log_change(vendor=vendor, actor=actor, obj=key, action="updated",
                   changes={"reseller": [str(key.reseller) if key.reseller else None,
                                         str(reseller) if reseller else None]})
    for key in keys:
        key.reseller = reseller
