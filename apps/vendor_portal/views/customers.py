from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render

from apps.access import VendorRequest, access_customer, vendor_member
from apps.audit.log import Actor
from apps.core.errors import DomainError
from apps.licensing import selectors, services
from apps.licensing.models import Activation
from apps.licensing.services.catalog import CUSTOMER_FIELDS
from apps.licensing.services.deletion import customer_delete as delete_customer
from apps.licensing.services.deletion import customer_deletion_plan

from ..forms import CustomerForm, PortalInvitationForm, SearchForm
from .common import add_domain_error, csv_response, paginate


@vendor_member("read")
def customer_list(request: VendorRequest) -> HttpResponse:
    search = SearchForm(request.GET)
    query = search.cleaned_data["q"] if search.is_valid() else ""
    customers = selectors.customer_list(vendor=request.vendor, query=query)
    if request.GET.get("format") == "csv":
        return csv_response(
            "customers.csv", ["ID", "Name", "E-mail", "Company", "Keys", "Created", "Notes"],
            ([c.pk, c.name, c.email, c.company_name, c.key_count, c.created.isoformat(), c.notes]
             for c in customers.iterator()),
        )
    return render(request, "vendor_portal/customer_list.html",
                  {"page": paginate(request, customers), "query": query})


@vendor_member("write")
def customer_create(request: VendorRequest) -> HttpResponse:
    form = CustomerForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            customer = services.customer_create(
                vendor=request.vendor, actor=Actor.for_user(request.user), **form.cleaned_data
            )
        except DomainError as error:
            add_domain_error(form, error)
        else:
            messages.success(request, f"Customer “{customer}” created.")
            return redirect("vendor_portal:customer_detail", customer_id=customer.pk)
    return render(request, "vendor_portal/customer_form.html", {"form": form})


@vendor_member("read")
def customer_detail(request: VendorRequest, customer_id: int) -> HttpResponse:
    customer = access_customer(request.membership, customer_id)
    keys = customer.keys.select_related("product").order_by("product__name", "-serial")
    return render(request, "vendor_portal/customer_detail.html", {
        "customer": customer, "keys": keys,
        # Node-locked devices: what the customer-wide cap counts.
        "device_count": Activation.objects.filter(key__customer=customer, floating=False).count(),
        "portal_users": customer.portal_members.select_related("user").order_by("created"),
        "portal_links": customer.portal_links.select_related("created_by"),
        "invitation_form": PortalInvitationForm(),
        # Users of the vendor's application (userauth) who log in as this customer.
        "app_users": customer.app_users.order_by("username", "id"),
        # Applications its people authorized (user account authorization), newest first.
        "app_authorizations": customer.app_authorizations.select_related("user")[:50],
    })


@vendor_member("write")
def customer_edit(request: VendorRequest, customer_id: int) -> HttpResponse:
    customer = access_customer(request.membership, customer_id, level="write")
    form = CustomerForm(request.POST or None,
                        initial={f: getattr(customer, f) for f in CUSTOMER_FIELDS})
    if request.method == "POST" and form.is_valid():
        try:
            services.customer_update(customer=customer, actor=Actor.for_user(request.user),
                                     **form.cleaned_data)
        except DomainError as error:
            add_domain_error(form, error)
        else:
            messages.success(request, "Customer saved.")
            return redirect("vendor_portal:customer_detail", customer_id=customer.pk)
    return render(request, "vendor_portal/customer_form.html",
                  {"form": form, "customer": customer})


@vendor_member("write")
def customer_delete(request: VendorRequest, customer_id: int) -> HttpResponse:
    """Confirm, then delete a customer: its keys stay, without a customer."""
    customer = access_customer(request.membership, customer_id, level="write")
    if request.method == "POST":
        try:
            delete_customer(customer=customer, actor=Actor.for_user(request.user))
        except DomainError as error:
            messages.error(request, error.message)
            return redirect("vendor_portal:customer_delete", customer_id=customer.pk)
        else:
            messages.success(request, f"Customer “{customer}” deleted; its keys are kept "
                                      "without a customer.")
            return redirect("vendor_portal:customer_list")
    return render(request, "vendor_portal/customer_delete.html", {
        "customer": customer, "plan": customer_deletion_plan(customer=customer)})

