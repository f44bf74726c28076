"""The one place the portal talks to Stripe: the official `stripe` package, pointed at
settings.STRIPE_API_BASE (a local fake in tests), with the vendor's own secret key.

Every call that creates something carries an idempotency key, so a retry after a timeout
never creates it twice (Stripe keeps idempotency keys for at least 24 hours)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import stripe
from django.conf import settings

from apps.core.sealed import unseal

from .models import StripeAccount

SECRET_KEY_PURPOSE = "stripe-secret-key"
WEBHOOK_SECRET_PURPOSE = "stripe-webhook-secret"

# What Stripe signs webhooks with, and how old a signature may be (Stripe's own default).
WEBHOOK_TOLERANCE_SECONDS = 300


class StripeUnavailable(Exception):
    """Stripe could not be reached or failed on its side: worth trying again later."""


class StripeRefused(Exception):
    """Stripe answered that the request is wrong (a bad key, a missing price): trying again
    will not help. `message` is Stripe's own words."""

    def __init__(self, message: str, param: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.param = param


def client(account: StripeAccount) -> stripe.StripeClient:
    return stripe.StripeClient(
        unseal(account.secret_key_encrypted, purpose=SECRET_KEY_PURPOSE),
        base_addresses={"api": settings.STRIPE_API_BASE},
        max_network_retries=settings.STRIPE_MAX_NETWORK_RETRIES,
    )


def call(account: StripeAccount, fn_path: str, *args: Any, **kwargs: Any) -> Any:
    """Call `client.v1.<fn_path>` (e.g. "checkout.sessions.create") and turn the package's
    errors into ours: StripeUnavailable for a network or server failure, StripeRefused for
    anything Stripe refuses."""
    target: Any = client(account).v1
    for part in fn_path.split("."):
        target = getattr(target, part)
    try:
        return target(*args, **kwargs)
    except (stripe.APIConnectionError, stripe.RateLimitError) as exc:
        raise StripeUnavailable(str(exc.user_message or exc)) from None
    except stripe.StripeError as exc:
        status = exc.http_status or 0
        if status >= 500 or status in (0, 409):
            raise StripeUnavailable(str(exc.user_message or exc)) from None
        error = getattr(exc, "error", None)
        raise StripeRefused(str(exc.user_message or "Stripe refused the request."),
                            param=str(getattr(error, "param", "") or "")) from None


def redirect_origins() -> list[str]:
    """Where the portal's forms send people on to: Stripe Checkout and the billing portal
    (and, when STRIPE_API_BASE names another server, such as a test's fake, that one)."""
    origins = ["https://checkout.stripe.com", "https://billing.stripe.com"]
    parts = urlsplit(settings.STRIPE_API_BASE)
    own = f"{parts.scheme}://{parts.netloc}"
    if parts.netloc and own != "https://api.stripe.com":
        origins.append(own)
    return origins


def webhook_secret(account: StripeAccount) -> str:
    return unseal(account.webhook_secret_encrypted, purpose=WEBHOOK_SECRET_PURPOSE)


def verify_signature(payload: bytes, header: str, secret: str) -> bool:
    """Stripe's scheme (t=timestamp, v1=HMAC-SHA256 of "t.payload"), checked by the package
    itself, with its timestamp tolerance."""
    try:
        stripe.WebhookSignature.verify_header(payload.decode("utf-8"), header, secret,
                                              WEBHOOK_TOLERANCE_SECONDS)
    except (stripe.SignatureVerificationError, UnicodeDecodeError, ValueError):
        return False
    return True
