"""`/healthz` for load balancers and monitoring: 200 when the database answers, 503 when it
does not. The cache is reported but does not fail the check: the portal keeps answering
without Redis (the cache fails open)."""

from __future__ import annotations

import logging

from django.core.cache import cache
from django.db import DatabaseError, connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

logger = logging.getLogger(__name__)


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        database = "ok"
    except DatabaseError as error:
        logger.warning("Health check: database unavailable: %s", error)
        database = "unavailable"
    try:
        cache.set("healthz", 1, timeout=10)
        cache_state = "ok" if cache.get("healthz") == 1 else "unavailable"
    except Exception:  # a cache outage is reported, never raised
        cache_state = "unavailable"
    healthy = database == "ok"
    return JsonResponse({"status": "ok" if healthy else "unavailable", "database": database,
                         "cache": cache_state}, status=200 if healthy else 503)
