"""The endpoint license servers upload their journal to: POST /api/license-server/upload-log.

Not a Web API method of the registry: an access token cannot be given this right. The
credential is the upload token inside the vendor-issued configuration file (Cryptolens' token
format, ["<configuration id>","<secret>"]), so only that configuration's server can upload,
and revoking the configuration ends it. Answers use the Web API envelope."""

from __future__ import annotations

import logging

from django.core.exceptions import SuspiciousOperation
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from apps.core.errors import DomainError
from apps.core.net import client_ip
from apps.license_server.uploads import UNABLE_TO_AUTHENTICATE, license_server_upload

from .. import errors, ratelimit
from ..views import envelope, error

logger = logging.getLogger(__name__)


@csrf_exempt
@require_POST
def upload_log(request: HttpRequest) -> HttpResponse:
    ip = client_ip(request)
    if ratelimit.is_blocked(ip):
        return error("Too many requests. Please try again later.")
    try:
        # The service checks the token before it reads (and bounds) the records.
        result = license_server_upload(token=request.POST.get("token", ""),
                                       records_text=request.POST.get("Records", ""))
    except DomainError as exc:
        if exc.message == UNABLE_TO_AUTHENTICATE:
            ratelimit.record_failure(ip)
        return error(exc.message)
    except SuspiciousOperation:  # too many fields, or a body over DATA_UPLOAD_MAX_MEMORY_SIZE
        return error(errors.INCORRECT_INPUT)
    return envelope({"stored": result.stored, "duplicates": result.duplicates,
                     "refused": result.refused})
