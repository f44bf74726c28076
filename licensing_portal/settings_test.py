"""Test settings: the real settings with fast hashing, in-memory mail and eager Celery."""

import os

os.environ.setdefault("DEBUG", "1")

from .settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
CELERY_TASK_ALWAYS_EAGER = True
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
if os.environ.get("TEST_SERVER_REDIS_URL"):
    # A portal process a test starts (tests/servers.py) that must share the cache with its
    # siblings, as production's do: the rate limits across processes.
    CACHES = {"default": {"BACKEND": "apps.core.cache.FailOpenRedisCache",
                          "LOCATION": os.environ["TEST_SERVER_REDIS_URL"],
                          "KEY_PREFIX": os.environ.get("TEST_SERVER_CACHE_PREFIX", "")}}
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Property-based and client tests make many failing calls from 127.0.0.1; the limiter's own
# test lowers this again.
API_MAX_FAILURES_PER_WINDOW = 1_000_000
# No test reaches Stripe: tests that pay point this at their local fake (tests/commerce);
# anything else that calls Stripe by mistake fails fast on a closed local port.
STRIPE_API_BASE = "http://127.0.0.1:9"
STRIPE_MAX_NETWORK_RETRIES = 0
