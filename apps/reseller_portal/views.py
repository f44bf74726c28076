"""The reseller portal: a reseller's rights, the keys they issue under them, their customers.

Every view declares its rule with `@reseller_member` and reaches objects only through
`apps.access`, so another reseller's rights, keys and customers answer 404 and the
vendor's other products never show. `accept` is public: the token in the path is the
credential."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, TypedDict, cast

from django import forms
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from apps.access import (
    ResellerRequest,
    access_reseller_key,
    access_reseller_right,
    choose_reseller,
    reseller_customers,
    reseller_member,
)
from apps.accounts.models import Reseller
from apps.audit.log import Actor
from apps.core.csvexport import csv_response
from apps.core.errors import DomainError
from apps.core.pagination import paginate
from apps.licensing.license_files import license_file
from apps.licensing.models import Customer, Issuance, IssuanceRight, LicenseKey
from apps.licensing.selectors import ActivationCount
from apps.licensing.selectors_resellers import reseller_keys
from apps.licensing.services.offline import activation_add
from apps.licensing.services.resellers import (
    SESSION_RESELLER_INVITATION_TOKEN,
    reseller_accept,
    reseller_customer_create,
    reseller_for_token,
    reseller_issue_key,
)
from apps.licensing.services.seats import Device

from .forms import CustomerForm, IssueKeyForm, LicenseFileForm, SearchForm

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations

RECENT_KEYS = 10


def _query(request: HttpRequest) -> str:
    search = SearchForm(request.GET)
    return search.cleaned_data["q"].strip() if search.is_valid() else ""


def _add_error(form: forms.Form, error: DomainError) -> None:
    """A service's refusal on the form: on its field when the form has it, else on top."""
    form.add_error(error.field if error.field in form.fields else None, error.message)


def _right_state(right: IssuanceRight, now: dt.datetime) -> tuple[str, str]:
    """What the status badge says (label, badge class); the service decides what issues."""
    if right.status == IssuanceRight.STOPPED:
        return "Stopped", "danger"
    if right.status == IssuanceRight.PAUSED:
        return "Paused", "warn"
    if right.valid_until is not None and right.valid_until <= now:
        return "Expired", "warn"
    if right.remaining == 0:
        return "Used up", ""
    return "Active", "ok"


class RightState(TypedDict):
    """The status badge of a right, set on it for the templates."""

    state_label: str
    state_class: str


def _with_state(rights: list[IssuanceRight]
                ) -> list[WithAnnotations[IssuanceRight, RightState]]:
    now = timezone.now()
    # The same objects, with two attributes more (as if annotated by the queryset).
    shown = cast("list[WithAnnotations[IssuanceRight, RightState]]", rights)
    for right in shown:
        right.state_label, right.state_class = _right_state(right, now)
    return shown


@reseller_member
def dashboard(request: ResellerRequest) -> HttpResponse:
    rights = IssuanceRight.objects.filter(reseller=request.reseller).select_related(
        "template__product")
    return render(request, "reseller_portal/dashboard.html", {
        "rights": _with_state(list(rights)),
        "recent_keys": reseller_keys(reseller=request.reseller)[:RECENT_KEYS],
    })


@require_POST
@reseller_member
def switch_reseller(request: ResellerRequest, reseller_id: int) -> HttpResponse:
    reseller = choose_reseller(request, reseller_id)
    messages.success(request, f"You are now reselling for {reseller.vendor.name}.")
    return redirect("reseller_portal:dashboard")


@reseller_member
def key_issue(request: ResellerRequest, right_id: int) -> HttpResponse:
    """Issue one key under a right; a refusal (quota used up, right closed) stays on the form."""
    right = access_reseller_right(request.reseller, right_id)
    form = IssueKeyForm(request.POST if request.method == "POST" else None,
                        customers=reseller_customers(request.reseller),
                        initial={"customer": request.GET.get("customer")})
    if request.method == "POST" and form.is_valid():
        try:
            key = reseller_issue_key(right=right, actor=Actor.for_user(request.user),
                                     customer=form.cleaned_data["customer"])
        except DomainError as error:
            _add_error(form, error)
            right.refresh_from_db()  # another browser may have issued meanwhile
        else:
            messages.success(request, f"Issued {key.key}.")
            return redirect("reseller_portal:key_detail", key_id=key.pk)
    return render(request, "reseller_portal/key_issue.html", {
        "right": _with_state([right])[0], "form": form})


@reseller_member
def key_list(request: ResellerRequest) -> HttpResponse:
    query = _query(request)
    keys = reseller_keys(reseller=request.reseller, query=query)
    if request.GET.get("format") == "csv":
        return _keys_csv(keys)
    return render(request, "reseller_portal/key_list.html", {
        "page": paginate(request, keys), "query": query})


def _keys_csv(keys: QuerySet[WithAnnotations[LicenseKey, ActivationCount]]) -> HttpResponse:
    return csv_response(
        "issued-keys.csv",
        ["Key", "Product", "Customer", "Created", "Expires", "Blocked", "Max machines",
         "Activations"],
        ((key.key, key.product.name, str(key.customer or ""), key.created.isoformat(),
          key.expires.isoformat(), key.block, key.max_no_of_machines, key.activation_count)
         for key in keys.iterator()),
    )


@reseller_member
def key_detail(request: ResellerRequest, key_id: int) -> HttpResponse:
    key = access_reseller_key(request.reseller, key_id)
    issuance = Issuance.objects.filter(key=key).select_related("right", "template").first()
    return render(request, "reseller_portal/key_detail.html", {
        "key": key, "activations": list(key.activations.all()), "issuance": issuance,
        "features": list(zip(key.product.feature_names, key.features, strict=True)),
        "right": _with_state([issuance.right])[0] if issuance else None,
        "file_form": LicenseFileForm(),
    })


@require_POST
@reseller_member
def license_file_download(request: ResellerRequest, key_id: int) -> HttpResponse:
    """A signed .skm file listing every device of the key, as the official clients load it;
    with a machine code, made for that device, activated first if needed. The reseller asks
    as the device would: automatic activation off leaves new devices to the vendor."""
    key = access_reseller_key(request.reseller, key_id)
    form = LicenseFileForm(request.POST)
    current = None
    try:
        if not form.is_valid():
            raise DomainError(" ".join(str(e) for errors in form.errors.values()
                                      for e in errors))
        if form.cleaned_data["machine_code"]:
            device = Device(form.cleaned_data["machine_code"], form.cleaned_data["friendly_name"])
            current, _ = activation_add(key=key, device=device, by_vendor=False,
                                        actor=Actor.for_user(request.user))
    except DomainError as error:
        messages.error(request, error.message)
        return redirect("reseller_portal:key_detail", key_id=key.pk)
    file = license_file(key=key, current=current)
    response = HttpResponse(file.content, content_type=file.content_type)
    response["Content-Disposition"] = f'attachment; filename="{file.filename}"'
    return response


def _reseller_customer_list(reseller: Reseller, query: str) -> QuerySet[Customer]:
    customers = reseller_customers(reseller)
    if query:
        customers = customers.filter(Q(name__icontains=query) | Q(email__icontains=query)
                                     | Q(company_name__icontains=query))
    # Only the keys this reseller issued: a shared customer's other keys are not theirs.
    return customers.select_related("reseller").annotate(
        issued_count=Count("keys", filter=Q(keys__reseller=reseller))).order_by("name", "id")


def _open_rights(reseller: Reseller) -> list[IssuanceRight]:
    rights = IssuanceRight.objects.filter(reseller=reseller).select_related("template")
    return [right for right in rights if right.is_open]


@reseller_member
def customer_list(request: ResellerRequest) -> HttpResponse:
    query = _query(request)
    return render(request, "reseller_portal/customer_list.html", {
        "page": paginate(request, _reseller_customer_list(request.reseller, query)),
        "query": query, "open_rights": _open_rights(request.reseller),
    })


@reseller_member
def customer_create(request: ResellerRequest) -> HttpResponse:
    form = CustomerForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            customer = reseller_customer_create(reseller=request.reseller,
                                                actor=Actor.for_user(request.user),
                                                **form.cleaned_data)
        except DomainError as error:
            _add_error(form, error)
        else:
            messages.success(request, f"Customer {customer} created.")
            return redirect("reseller_portal:customer_list")
    return render(request, "reseller_portal/customer_form.html", {"form": form})


def accept(request: HttpRequest, token: str) -> HttpResponse:
    """Public: anyone holding the link sees it; accepting needs a login with the invited
    address, so anonymous visitors are sent to log in (or sign up) first."""
    reseller = reseller_for_token(token)
    if reseller is None:
        return render(request, "reseller_portal/accept_invalid.html", status=404)
    if not request.user.is_authenticated:
        request.session[SESSION_RESELLER_INVITATION_TOKEN] = token  # fills in the sign-up form
        messages.info(request, f"{reseller.vendor.name} invited {reseller.email} to resell its "
                               "software. No account yet? Sign up with that address first, "
                               "then open the invitation link again.")
        return redirect_to_login(request.get_full_path())
    if request.method == "POST":
        try:
            accepted = reseller_accept(reseller=reseller, user=request.user)
        except DomainError as error:
            messages.error(request, error.message)
        else:
            choose_reseller(request, accepted.pk)
            messages.success(request, f"You are now a reseller of {accepted.vendor.name}.")
            return redirect("reseller_portal:dashboard")
    return render(request, "reseller_portal/accept.html", {
        "invited": reseller,
        "address_matches": request.user.email.lower() == reseller.email.lower()})
