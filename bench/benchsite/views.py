"""The yardstick for the Web API's hot path: a view that only builds and signs the payload a
re-activation returns (same key, same device, StringSign, ModelVersion 1), from objects
loaded once per process. No token check, no look-ups, no log write."""

from __future__ import annotations

import os
import threading
from typing import Any

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from apps.licensing.license_payload import LicenseView, string_sign
from apps.licensing.models import Activation, LicenseKey, SigningKey

_lock = threading.Lock()
_loaded: dict[str, Any] = {}


def _preloaded() -> dict[str, Any]:
    with _lock:
        if not _loaded:
            key = (LicenseKey.objects.select_related("product__vendor", "customer")
                   .prefetch_related("data_objects", "activations")
                   .get(pk=int(os.environ["BENCH_KEY_ID"])))
            activations = list(key.activations.all())
            current = Activation.objects.get(key=key, floating=False,
                                             machine_code=os.environ["BENCH_MACHINE_CODE"])
            _loaded.update(key=key, activations=activations, current=current,
                           signing_key=SigningKey.objects.get(vendor=key.product.vendor))
        return _loaded


@csrf_exempt  # as the Web API's dispatcher
def sign(request: HttpRequest) -> JsonResponse:
    loaded = _preloaded()
    view = LicenseView(key=loaded["key"], activations=loaded["activations"],
                       current=loaded["current"])
    body = string_sign(view, loaded["signing_key"])
    return JsonResponse({**body, "result": 0, "message": ""},
                        json_dumps_params={"ensure_ascii": False})
