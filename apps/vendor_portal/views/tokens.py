from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from apps.access import VendorRequest, access_token, vendor_member
from apps.audit.log import Actor
from apps.core.errors import DomainError
from apps.licensing import services
from apps.licensing.api_methods import API_METHOD_GROUPS
from apps.licensing.models import AccessToken, LicenseKey, LicenseTemplate, Product

from ..forms import TokenWithTemplateLockForm
from ..forms.licensing import HIDEABLE_FIELDS
from .common import add_domain_error


@vendor_member("read")
def token_list(request: VendorRequest) -> HttpResponse:
    tokens = AccessToken.objects.for_vendor(request.vendor).select_related(
        "product", "locked_key", "template_lock", "created_by"
    )
    rows = [(token, [name for bit, name in HIDEABLE_FIELDS if token.fields_hidden & int(bit)])
            for token in tokens]
    return render(request, "vendor_portal/token_list.html", {"tokens": tokens, "rows": rows})


@vendor_member("write")
def token_create(request: VendorRequest) -> HttpResponse:
    products = Product.objects.for_vendor(request.vendor)
    form = TokenWithTemplateLockForm(
        request.POST or None, products=products, method_groups=API_METHOD_GROUPS,
        templates=LicenseTemplate.objects.for_vendor(request.vendor).select_related("product"))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            locked_key = _find_key(request, data["product"], data["locked_key"])
            token, token_string = services.token_create(
                vendor=request.vendor, actor=Actor.for_user(request.user), name=data["name"],
                permissions=data["permissions"], product=data["product"],
                locked_key=locked_key, template_lock=data["template_lock"],
                key_lock_required=data["key_lock_required"],
                fields_hidden=data["fields_hidden"], trial_days=data["trial_days"],
                max_increment=data["max_increment"],
            )
        except DomainError as error:
            add_domain_error(form, error)
        else:
            # Shown on this response only; the secret is not stored.
            return render(request, "vendor_portal/token_created.html",
                          {"token": token, "token_string": token_string})
    return render(request, "vendor_portal/token_form.html",
                  {"form": form, "method_groups": API_METHOD_GROUPS})


def _find_key(request: VendorRequest, product: Product | None, key_string: str
              ) -> LicenseKey | None:
    if not key_string:
        return None
    keys = LicenseKey.objects.for_vendor(request.vendor).filter(key=key_string)
    if product is not None:
        keys = keys.filter(product=product)
    found = list(keys[:2])
    if len(found) != 1:
        message = ("Could not find the key." if not found
                   else "That key exists in several products: choose the product lock too.")
        raise DomainError(message, field="locked_key")
    return found[0]


@require_POST
@vendor_member("write")
def token_revoke(request: VendorRequest, token_id: int) -> HttpResponse:
    token = access_token(request.membership, token_id, level="write")
    services.token_revoke(token=token, actor=Actor.for_user(request.user))
    messages.success(request, f"Token “{token.name}” revoked.")
    return redirect("vendor_portal:token_list")
