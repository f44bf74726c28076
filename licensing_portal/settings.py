"""Settings for the licensing portal, driven by environment variables (see .env.example).

Defaults run on SQLite with Celery tasks executed eagerly, so `make run` needs nothing but Python.
DATABASE_URL switches to PostgreSQL and REDIS_URL to Redis (cache, Celery broker and results).
"""

import os
from pathlib import Path
from typing import Any

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def load_env_file(path: Path) -> None:
    """Read KEY=VALUE lines of a development `.env` (which `make setup` writes with DEBUG=1)
    into the environment, for the variables the environment does not set itself: so that
    `.venv/bin/python manage.py ...` works as the README types it. Production passes its
    variables in the environment (deploy/portal/*.service) and has no such file."""
    if not path.is_file():
        return
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        name, _, value = line.partition("=")
        name, value = name.strip().removeprefix("export ").strip(), value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        os.environ.setdefault(name, value)


load_env_file(Path(os.environ.get("PORTAL_ENV_FILE") or BASE_DIR / ".env"))


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)
_DEV_SECRET = "dev-only-insecure-secret-key-change-me-in-production-0123456789"
SECRET_KEY = os.environ.get("SECRET_KEY") or (_DEV_SECRET if DEBUG else "")
if not SECRET_KEY:
    raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off (see .env.example).")

# Private signing keys are encrypted with a key derived from this value (HKDF). It defaults to
# SECRET_KEY; set it separately so that rotating SECRET_KEY does not orphan the signing keys.
SIGNING_KEY_ENCRYPTION_SECRET = os.environ.get("SIGNING_KEY_ENCRYPTION_SECRET") or SECRET_KEY

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
SITE_NAME = os.environ.get("SITE_NAME", "Licensing Portal")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "apps.core",
    "apps.audit",
    "apps.accounts",
    "apps.licensing",
    "apps.usage",
    "apps.vendor_portal",
    "apps.api",
    "apps.activation_forms",
    "apps.customer_portal",
    "apps.reseller_portal",
    "apps.anomalies",
    "apps.license_server",
    "apps.sdk_licensing",
    "apps.commerce",
    "apps.webhooks",
    "apps.storefront",
    "apps.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
]

ROOT_URLCONF = "licensing_portal.urls"
WSGI_APPLICATION = "licensing_portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "apps.core.context_processors.site",
                "apps.vendor_portal.context_processors.portal",
            ],
            # Django's {% url %} and |date, cheaper (see the module).
            "builtins": ["apps.core.template_builtins"],
        },
    },
]

DATABASES = {
    "default": dj_database_url.config(
        env="DATABASE_URL",
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

REDIS_URL = os.environ.get("REDIS_URL", "")
CACHES: dict[str, dict[str, Any]]
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Sessions are read from the shared cache when there is one (the database stays their record):
# a page saves a query. Never from a per-process cache, where a session ended in one worker
# would live on in the others.
SESSION_ENGINE = ("django.contrib.sessions.backends.cached_db" if REDIS_URL
                  else "django.contrib.sessions.backends.db")

CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = REDIS_URL or None
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_TIME_LIMIT = 300
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE: dict = {}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]

# django-allauth: e-mail login, vendor sign-up, verification, password reset, TOTP.
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_ADAPTER = "apps.vendor_portal.adapter.AccountAdapter"
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_SIGNUP_FORM_CLASS = "apps.vendor_portal.forms.VendorSignupForm"
ACCOUNT_EMAIL_VERIFICATION = os.environ.get("ACCOUNT_EMAIL_VERIFICATION", "mandatory")
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_USER_DISPLAY = "apps.accounts.models.display_name"
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
# ACCOUNT_RATE_LIMITS: in the Hardening block below.
ACCOUNT_EMAIL_SUBJECT_PREFIX = f"[{SITE_NAME}] "
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = SITE_NAME
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "vendor_portal:dashboard"
ACCOUNT_LOGOUT_REDIRECT_URL = "account_login"

# In development without a mail server (no EMAIL_HOST), mail goes to the console and to the
# development mailbox page (/dev/mailbox/); with DEBUG off, to SMTP.
EMAIL_BACKEND = os.environ.get(
    "EMAIL_BACKEND",
    "apps.core.devmail.EmailBackend"
    if DEBUG and not os.environ.get("EMAIL_HOST")
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)  # STARTTLS, usually port 587
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)  # implicit TLS, usually port 465
# Mail is sent inside requests (sign-up, password reset): never let a dead SMTP server hang one.
EMAIL_TIMEOUT = int(os.environ.get("EMAIL_TIMEOUT", "10"))
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "licensing@localhost")

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# Security headers. In production (DEBUG off) everything `check --deploy` asks for is on;
# SECURE_SSL_REDIRECT can be turned off behind a proxy that already redirects.
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # load balancers probe over plain HTTP
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", str(60 * 60 * 24 * 365)))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    if env_bool("SECURE_PROXY_SSL_HEADER", False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# Web API (Cryptolens v3 wire format).
# Behind a reverse proxy that sets X-Forwarded-For, take the client address from it.
API_TRUST_X_FORWARDED_FOR = env_bool("API_TRUST_X_FORWARDED_FOR", False)
# Failed token/key look-ups allowed per IP address and window before the IP is refused.
API_FAILURE_WINDOW_SECONDS = int(os.environ.get("API_FAILURE_WINDOW_SECONDS", "60"))
API_MAX_FAILURES_PER_WINDOW = int(os.environ.get("API_MAX_FAILURES_PER_WINDOW", "60"))
# Public activation forms: failed attempts allowed per IP address and form in a window.
ACTIVATION_FORM_MAX_FAILURES = int(os.environ.get("ACTIVATION_FORM_MAX_FAILURES", "10"))
ACTIVATION_FORM_FAILURE_WINDOW_SECONDS = int(
    os.environ.get("ACTIVATION_FORM_FAILURE_WINDOW_SECONDS", "600")
)

# Reports. Optional MaxMind-format country database (GeoLite2-Country.mmdb) for the Web API
# log's Country column; empty: countries stay empty and the reports say so.
GEOIP_DATABASE = os.environ.get("GEOIP_DATABASE", "")
# Floating calls are condensed into seat sessions for the reports: every few minutes in the
# background (reports also catch up on whatever is left when they are opened).
CELERY_BEAT_SCHEDULE["floating-sessions-refresh"] = {
    "task": "apps.usage.tasks.floating_sessions_refresh_task",
    "schedule": int(os.environ.get("FLOATING_SESSIONS_REFRESH_SECONDS", "300")),
}

# --- Anomaly detection (apps.anomalies) ---
# Days of Web API log (counted back from the newest row) each training reads.
ANOMALY_TRAIN_DAYS = int(os.environ.get("ANOMALY_TRAIN_DAYS", "30"))
ANOMALY_SEED = int(os.environ.get("ANOMALY_SEED", "0"))
# Nightly retraining of every vendor at this UTC time; scoring of new rows every N minutes.
ANOMALY_RETRAIN_HOUR = int(os.environ.get("ANOMALY_RETRAIN_HOUR", "3"))
ANOMALY_RETRAIN_MINUTE = int(os.environ.get("ANOMALY_RETRAIN_MINUTE", "15"))
ANOMALY_DETECT_EVERY_MINUTES = int(os.environ.get("ANOMALY_DETECT_EVERY_MINUTES", "10"))
# Each run scores again this much before the last run's newest row (its partial window).
ANOMALY_RESCORE_OVERLAP_SECONDS = int(os.environ.get("ANOMALY_RESCORE_OVERLAP_SECONDS",
                                                     "3600"))
ANOMALY_TRAIN_TIME_LIMIT = int(os.environ.get("ANOMALY_TRAIN_TIME_LIMIT", "3600"))
ANOMALY_DETECT_TIME_LIMIT = int(os.environ.get("ANOMALY_DETECT_TIME_LIMIT", "600"))
# Celery queue of the training task; run a worker with -Q on it.
ANOMALY_QUEUE = os.environ.get("ANOMALY_QUEUE", "anomalies")
# Address of the portal, for the links in the anomaly digest e-mail (sent by a worker).
ANOMALY_PORTAL_URL = os.environ.get("ANOMALY_PORTAL_URL", "http://127.0.0.1:8000")

from celery.schedules import crontab  # noqa: E402

CELERY_BEAT_SCHEDULE["anomaly-retrain-nightly"] = {
    "task": "apps.anomalies.tasks.anomaly_retrain_all",
    "schedule": crontab(hour=ANOMALY_RETRAIN_HOUR, minute=ANOMALY_RETRAIN_MINUTE),
}
CELERY_BEAT_SCHEDULE["anomaly-detect-recent"] = {
    "task": "apps.anomalies.tasks.anomaly_detect_all",
    "schedule": crontab(minute=f"*/{ANOMALY_DETECT_EVERY_MINUTES}"),
}
CELERY_TASK_ROUTES = globals().get("CELERY_TASK_ROUTES") or {}
CELERY_TASK_ROUTES["apps.anomalies.tasks.anomaly_model_retrain"] = {"queue": ANOMALY_QUEUE}
CELERY_TASK_ROUTES["apps.anomalies.tasks.anomaly_rescore_task"] = {"queue": ANOMALY_QUEUE}

# --- License server (apps.license_server) ---
# The portal's address as customers' license servers reach it, written into each configuration
# file (they relay to it and upload their logs there). Empty: the address the vendor's browser
# used when issuing the file. The license server itself reads only LICENSE_SERVER_* variables
# of its own (license-server/license_server/options.py), never these settings.
LICENSE_SERVER_PORTAL_URL = os.environ.get("LICENSE_SERVER_PORTAL_URL", "").rstrip("/")
# Where `manage.py build_license_server_wheel` writes the license server's wheel, which the
# vendor dashboard offers for download (`make setup` builds it; so must every deploy).
LICENSE_SERVER_WHEEL_DIR = Path(os.environ.get("LICENSE_SERVER_WHEEL_DIR")
                                or BASE_DIR / "license-server" / "dist")

# --- SDK licensing (apps.sdk_licensing) ---
# Where `manage.py build_sdk_signer_wheel` writes the SDK signer's wheel (`sdk-sign` and the
# offline verifier), offered on the SDK developers pages (`make setup` builds it; so must every
# deploy).
SDK_SIGNER_WHEEL_DIR = Path(os.environ.get("SDK_SIGNER_WHEEL_DIR")
                            or BASE_DIR / "sdk-signer" / "dist")

# --- Hardening: rate limits, headers, key rotation (issue 10) ---
# Rates are "<requests>/<seconds>"; "0" switches one off. Counters live in the cache (Redis
# when REDIS_URL is set). Defaults sit far above real clients and the benchmarks: they stop
# floods and runaway loops, not normal traffic. See SECURITY.md.


def env_rate(name: str, default: str) -> tuple[int, int]:
    """"600/60" -> (600, 60): requests per window in seconds; "0" -> (0, 60), no limit."""
    count, _, window = (os.environ.get(name) or default).strip().partition("/")
    return int(count or 0), int(window or 60)


# Web API: every authenticated call counts against its access token and its IP address.
API_RATE_LIMIT_PER_TOKEN = env_rate("API_RATE_LIMIT_PER_TOKEN", "50000/10")
API_RATE_LIMIT_PER_IP = env_rate("API_RATE_LIMIT_PER_IP", "50000/10")
# HTTP status of a refused call. Cryptolens answers every error with 200 + {"result":1}; the
# official clients read the body on 4xx too, so 429 also works where a proxy wants it.
API_RATE_LIMIT_HTTP_STATUS = int(os.environ.get("API_RATE_LIMIT_HTTP_STATUS", "200"))
# userauth/Login (and ChangePassword's old password or reset token): failed attempts per user
# name (per vendor) and per IP address; over either, every attempt is refused for the window.
USERAUTH_FAILURES_PER_USER = env_rate("USERAUTH_FAILURES_PER_USER", "10/900")
USERAUTH_FAILURES_PER_IP = env_rate("USERAUTH_FAILURES_PER_IP", "50/900")
# Public activation forms: submissions per IP address (all forms) and per license key.
ACTIVATION_FORM_RATE_LIMIT_PER_IP = env_rate("ACTIVATION_FORM_RATE_LIMIT_PER_IP", "60/600")
ACTIVATION_FORM_RATE_LIMIT_PER_KEY = env_rate("ACTIVATION_FORM_RATE_LIMIT_PER_KEY", "30/600")
# Orders started on payment forms from one IP (each makes a Stripe Checkout session).
PAYMENT_FORM_RATE_LIMIT_PER_IP = env_rate("PAYMENT_FORM_RATE_LIMIT_PER_IP", "20/600")
# django-allauth's limits, in its own syntax ("10/m/ip,5/5m/key"; "" switches one off).
ACCOUNT_RATE_LIMITS = {
    "login": os.environ.get("ACCOUNT_RATE_LIMIT_LOGIN", "30/m/ip"),
    "login_failed": os.environ.get("ACCOUNT_RATE_LIMIT_LOGIN_FAILED", "10/m/ip,5/5m/key"),
    "signup": os.environ.get("ACCOUNT_RATE_LIMIT_SIGNUP", "20/m/ip"),
    "reset_password": os.environ.get("ACCOUNT_RATE_LIMIT_RESET_PASSWORD", "20/m/ip,5/m/key"),
    "reset_password_from_key": os.environ.get(
        "ACCOUNT_RATE_LIMIT_RESET_PASSWORD_FROM_KEY", "20/m/ip"),
    "confirm_email": os.environ.get("ACCOUNT_RATE_LIMIT_CONFIRM_EMAIL", "1/3m/key"),
    "change_password": os.environ.get("ACCOUNT_RATE_LIMIT_CHANGE_PASSWORD", "5/m/user"),
    "manage_email": os.environ.get("ACCOUNT_RATE_LIMIT_MANAGE_EMAIL", "10/m/user"),
    "reauthenticate": os.environ.get("ACCOUNT_RATE_LIMIT_REAUTHENTICATE", "10/m/user"),
}

# Headers on every response (apps.core.security_headers.SecurityHeadersMiddleware). No inline
# script or style anywhere: pages pass data with json_script and behaviour lives in static/js.
CONTENT_SECURITY_POLICY = os.environ.get("CONTENT_SECURITY_POLICY") or (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
PERMISSIONS_POLICY = os.environ.get("PERMISSIONS_POLICY") or (
    "camera=(), microphone=(), geolocation=(), payment=(), usb=()"
)
MIDDLEWARE.insert(1, "apps.core.security_headers.SecurityHeadersMiddleware")
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
CSRF_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
# Sessions end after this many seconds (default 12 hours), also while in use.
SESSION_COOKIE_AGE = int(os.environ.get("SESSION_COOKIE_AGE", str(12 * 60 * 60)))

# --- Operations: retention, replicas, Celery reliability (issue 10) ---
# Database outages: connecting gives up after DB_CONNECT_TIMEOUT seconds instead of hanging a
# worker, CONN_HEALTH_CHECKS (above) replaces a connection that died while idle, and the
# middleware answers requests that still hit the outage with the Cryptolens envelope on /api/
# and a 503 elsewhere, never a 500 page (docs/operations.md, "Faults").
DB_CONNECT_TIMEOUT = int(os.environ.get("DB_CONNECT_TIMEOUT", "5"))
if DATABASES["default"]["ENGINE"].endswith("postgresql"):
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout",
                                                              DB_CONNECT_TIMEOUT)
# The Web API's start-up calls run one statement each (apps.licensing.fastpath), which costs
# PostgreSQL more to plan than to run: it is prepared once per connection
# (apps.core.pipeline). 0 prepares nothing: PgBouncer in transaction mode before 1.21.
DB_PREPARED_STATEMENTS = os.environ.get("DB_PREPARED_STATEMENTS", "1") != "0"
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
MIDDLEWARE.append("apps.core.middleware.DatabaseUnavailableMiddleware")
# The Web API's calls (/api/<controller>/<method>) run through this shorter stack
# (licensing_portal/handlers.py, used by licensing_portal.wsgi): the same security headers
# and database-outage answer, without sessions, CSRF, authentication, messages, static files
# or allauth, which an API call never uses.
API_MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "apps.core.security_headers.SecurityHeadersMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "apps.core.middleware.DatabaseUnavailableMiddleware",
]

# Read replica (PostgreSQL streaming replica): reads of these append-only models go there
# (reports, log pages, anomaly training), everything else stays on the primary.
DATABASE_REPLICA_URL = os.environ.get("DATABASE_REPLICA_URL", "")
DATABASE_REPLICA_READ_MODELS = env_list("DATABASE_REPLICA_READ_MODELS",
                                        "usage.WebApiLog,usage.Event")
if DATABASE_REPLICA_URL:
    DATABASES["replica"] = dj_database_url.parse(
        DATABASE_REPLICA_URL, conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
    if DATABASES["replica"]["ENGINE"].endswith("postgresql"):
        DATABASES["replica"].setdefault("OPTIONS", {})["connect_timeout"] = DB_CONNECT_TIMEOUT
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
    DATABASE_ROUTERS = ["apps.core.dbrouters.PrimaryReplicaRouter"]

# Redis outages: the cache fails open (a miss, rate limits stop counting) instead of raising
# from every request; Web API log rows go straight to PostgreSQL and are never in Redis.
REDIS_CACHE_TIMEOUT = float(os.environ.get("REDIS_CACHE_TIMEOUT", "0.5"))
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "apps.core.cache.FailOpenRedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {"socket_connect_timeout": REDIS_CACHE_TIMEOUT,
                        "socket_timeout": REDIS_CACHE_TIMEOUT, "retry_after_seconds": 5},
        }
    }

# Celery: a training whose worker dies (OOM killer, SIGKILL, a lost host) is delivered again
# instead of being lost: acknowledged only when done (acks_late), and put back at once when
# the pool process running it dies (reject_on_worker_lost). When the whole worker dies, Redis
# hands the unacknowledged message to another worker after the visibility timeout, which must
# be longer than the longest task (training) or a running task is started twice.
# The same for the rescoring queued once after each new detector (idempotent: it updates the
# same findings); lost, that training period would never be scored again.
CELERY_TASK_ANNOTATIONS = {
    "apps.anomalies.tasks.anomaly_model_retrain": {"acks_late": True,
                                                   "reject_on_worker_lost": True},
    "apps.anomalies.tasks.anomaly_rescore_task": {"acks_late": True,
                                                  "reject_on_worker_lost": True},
}
CELERY_WORKER_PREFETCH_MULTIPLIER = 1  # a worker busy training does not hoard the next ones
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
CELERY_VISIBILITY_TIMEOUT = int(os.environ.get("CELERY_VISIBILITY_TIMEOUT",
                                               str(ANOMALY_TRAIN_TIME_LIMIT + 600)))
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_VISIBILITY_TIMEOUT}

# Web API log retention: rows older than this many days are deleted daily, in batches
# (apps/usage/retention.py; on PostgreSQL whole months are dropped). 0 keeps the log forever.
WEBAPI_LOG_RETENTION_DAYS = int(os.environ.get("WEBAPI_LOG_RETENTION_DAYS", "0"))
WEBAPI_LOG_RETENTION_BATCH_SIZE = int(os.environ.get("WEBAPI_LOG_RETENTION_BATCH_SIZE", "5000"))
WEBAPI_LOG_RETENTION_MAX_BATCHES = int(os.environ.get("WEBAPI_LOG_RETENTION_MAX_BATCHES",
                                                      "2000"))
WEBAPI_LOG_RETENTION_TIME_LIMIT = int(os.environ.get("WEBAPI_LOG_RETENTION_TIME_LIMIT", "3600"))
WEBAPI_LOG_RETENTION_HOUR = int(os.environ.get("WEBAPI_LOG_RETENTION_HOUR", "4"))
WEBAPI_LOG_RETENTION_MINUTE = int(os.environ.get("WEBAPI_LOG_RETENTION_MINUTE", "30"))
CELERY_BEAT_SCHEDULE["weblog-retention-daily"] = {
    "task": "apps.usage.tasks.weblog_prune_task",
    "schedule": crontab(hour=WEBAPI_LOG_RETENTION_HOUR, minute=WEBAPI_LOG_RETENTION_MINUTE),
}

# The Web API log is partitioned by month on PostgreSQL (apps/usage/partitions.py): a daily
# task creates this month's partition and this many months ahead. A row whose month has no
# partition yet waits in the default partition and moves when its month's is created.
WEBAPI_LOG_PARTITIONS_AHEAD = int(os.environ.get("WEBAPI_LOG_PARTITIONS_AHEAD", "3"))
CELERY_BEAT_SCHEDULE["weblog-partitions-daily"] = {
    "task": "apps.usage.tasks.weblog_partitions_task",
    "schedule": crontab(hour=WEBAPI_LOG_RETENTION_HOUR, minute=0),
}

# --- Payments (apps.commerce) ---
# Stripe's API; tests point it at a local fake. Retries of one call by the stripe package
# (with the same idempotency key); retries after that are Celery's.
STRIPE_API_BASE = os.environ.get("STRIPE_API_BASE", "https://api.stripe.com")
STRIPE_MAX_NETWORK_RETRIES = int(os.environ.get("STRIPE_MAX_NETWORK_RETRIES", "2"))
CELERY_BEAT_SCHEDULE["stripe-usage-sweep"] = {
    "task": "apps.commerce.tasks.usage_sweep_task", "schedule": 60}
CELERY_BEAT_SCHEDULE["stripe-subscriptions-enforce"] = {
    "task": "apps.commerce.tasks.subscriptions_enforce_task", "schedule": 600}

# --- Key expiry: notices to customers, blocking of expired keys (docs/notifications.md) ---
# Public address of the portal, for links in e-mails sent by a worker (no request to take it
# from): the renewal link of an expiry notice.
PORTAL_BASE_URL = os.environ.get("PORTAL_BASE_URL", "http://127.0.0.1:8000")
CELERY_IMPORTS = ["apps.commerce.expiry_tasks"]  # not a `tasks` module: not autodiscovered
CELERY_BEAT_SCHEDULE["key-expiry-hourly"] = {
    "task": "apps.commerce.expiry_tasks.expiry_hourly_task",
    "schedule": crontab(minute=int(os.environ.get("KEY_EXPIRY_MINUTE", "5"))),
}

# --- Outgoing webhooks (apps.webhooks) ---
WEBHOOK_TIMEOUT_SECONDS = int(os.environ.get("WEBHOOK_TIMEOUT_SECONDS", "10"))
WEBHOOK_RETRY_DAYS = int(os.environ.get("WEBHOOK_RETRY_DAYS", "3"))
WEBHOOK_DISABLE_AFTER_DAYS = int(os.environ.get("WEBHOOK_DISABLE_AFTER_DAYS", "3"))
# Only for development and tests: endpoints on this machine or the local network, over http.
WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = os.environ.get("WEBHOOKS_ALLOW_PRIVATE_ADDRESSES",
                                                  "0") == "1"
CELERY_TASK_ROUTES["apps.webhooks.tasks.webhook_deliver_task"] = {"queue": "webhooks"}
CELERY_TASK_ROUTES["apps.webhooks.tasks.webhook_sweep_task"] = {"queue": "webhooks"}
CELERY_BEAT_SCHEDULE["webhook-sweep"] = {
    "task": "apps.webhooks.tasks.webhook_sweep_task", "schedule": 60}
