"""Amounts as Stripe keeps them: an integer in the currency's smallest unit (cents), except
for Stripe's zero-decimal currencies, where the unit is the currency itself (¥100 is 100)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

# stripe.com/docs/currencies#zero-decimal
ZERO_DECIMAL = frozenset({"bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf",
                          "ugx", "vnd", "vuv", "xaf", "xof", "xpf"})


# Far above any price Stripe takes; keeps the arithmetic below within Decimal's context.
MAX_MAJOR = Decimal(10) ** 15


def decimals(currency: str) -> int:
    return 0 if currency.lower() in ZERO_DECIMAL else 2


def to_minor(value: Decimal | float | str, currency: str) -> int | None:
    """A price in major units ("49.90") as Stripe's integer amount; None when it is not a
    finite number or has more decimals than the currency."""
    try:
        amount = Decimal(str(value))
        if not amount.is_finite() or abs(amount) > MAX_MAJOR:
            return None
        scaled = amount.scaleb(decimals(currency))
        whole = scaled.quantize(Decimal(1), rounding=ROUND_HALF_UP)
    except InvalidOperation:
        return None
    if whole != scaled:
        return None
    return int(whole)


def format_money(amount: int, currency: str) -> str:
    """"49.00 USD", "1,200 JPY"."""
    places = decimals(currency)
    major = Decimal(amount).scaleb(-places)
    return f"{major:,.{places}f} {currency.upper()}"
