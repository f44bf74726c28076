"""The public activation form: key + machine code in, license file (.skm) out. No login, no
JavaScript; the form's unguessable URL is what finds it."""

from __future__ import annotations

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from apps.core import ratelimit
from apps.core.errors import DomainError
from apps.core.hashing import sha256_hex
from apps.core.net import client_ip
from apps.core.ratelimit import Limit
from apps.licensing.license_files import LicenseFile
from apps.licensing.models import ActivationForm
from apps.licensing.services.activation_forms import (
    TooManyAttempts,
    activation_form_public,
    activation_form_retry_after,
    activation_form_submit,
)

from .forms import ActivationRequestForm


@never_cache
@require_http_methods(["GET", "POST"])
def activation_form(request: HttpRequest, slug: str) -> HttpResponse:
    page = activation_form_public(slug=slug)
    if page is None:
        raise Http404
    ip = client_ip(request)
    if request.method == "GET":
        retry_after = activation_form_retry_after(form=page, ip=ip)
        if retry_after:
            return _too_many_attempts(request, page, retry_after)
    form = ActivationRequestForm(request.POST or None, ask_friendly_name=page.ask_friendly_name,
                                 machine_code_help=page.machine_code_help)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        retry_after = _submission_retry_after(page, ip, data["key"])
        if retry_after:
            return _too_many_attempts(request, page, retry_after)
        try:
            file = activation_form_submit(
                form=page, key_string=data["key"], machine_code=data["machine_code"],
                friendly_name=data.get("friendly_name", ""), ip=ip)
        except TooManyAttempts as error:
            return _too_many_attempts(request, page, error.retry_after)
        except DomainError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            return _download(file)
    return render(request, "activation_forms/activation_form.html",
                  {"page": page, "form": form, "vendor": page.product.vendor})


def _submission_retry_after(page: ActivationForm, ip: str | None, key_string: str) -> int:
    """Count a submission against its IP's budget (all forms) and its key's (any IP);
    settings ACTIVATION_FORM_RATE_LIMIT_PER_IP / _PER_KEY. Failures have their own, tighter
    limit in the service."""
    ip_limit, ip_window = settings.ACTIVATION_FORM_RATE_LIMIT_PER_IP
    key_limit, key_window = settings.ACTIVATION_FORM_RATE_LIMIT_PER_KEY
    key_digest = sha256_hex(key_string.strip().upper())[:32]
    limits = [Limit(f"af-key:{page.product_id}:{key_digest}", key_limit, key_window)]
    if ip:
        limits.append(Limit(f"af-ip:{ip}", ip_limit, ip_window))
    return ratelimit.hit(limits)


def _download(file: LicenseFile) -> HttpResponse:
    response = HttpResponse(file.content, content_type=file.content_type)
    response["Content-Disposition"] = f'attachment; filename="{file.filename}"'
    return response


def _too_many_attempts(request: HttpRequest, page: ActivationForm, retry_after: int
                       ) -> HttpResponse:
    response = render(request, "activation_forms/too_many_attempts.html",
                      {"page": page, "vendor": page.product.vendor,
                       "minutes": max(1, -(-retry_after // 60))}, status=429)
    response["Retry-After"] = str(retry_after)
    return response
