"""SDK license certificates: the file, its signature, and the offline verifier.

The file (`<application>.license-certificate`) is JSON:
    {"Format": "licensing-portal/sdk-certificate/1",
     "Certificate": base64 of the payload (UTF-8 JSON),
     "Signature": base64 RSASSA-PKCS1-v1_5 / SHA-256 over CONTEXT + the payload bytes}
made with the vendor's signing key, the one that signs the vendor's license keys. CONTEXT
keeps a certificate's signature from ever passing for a license key's and the other way
round. The payload:
    {"Format": ..., "Id": certificate number, "Vendor": the vendor's key fingerprint,
     "ProductId": ..., "Application": {"Name", "Fingerprint", "Algorithm"},
     "MachineCode": the developer machine that signed,
     "SignedAt": Unix seconds (the portal's clock), "TimeLimited": whether Expires ends the
     license, "License": the LicenseKey object of key/Activate (PascalCase, Unix seconds)}"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from .fingerprint import ALGORITHM, ApplicationError, application_fingerprint, certificate_path
from .keys import PublicKey, key_fingerprint, load_public_key
from .license import License, license_from_payload

FORMAT = "licensing-portal/sdk-certificate/1"
CONTEXT = b"licensing-portal sdk-certificate v1\n"
MAX_CERTIFICATE_BYTES = 1 << 20
PublicKeys = PublicKey | list[PublicKey] | tuple[PublicKey, ...]


class CertificateError(Exception):
    """The application may not use the SDK. `reason` is one of REASONS' keys."""

    def __init__(self, reason: str, detail: str = "") -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(REASONS[reason] + (f" ({detail})" if detail else ""))


REASONS = {
    "missing": "The application has no license certificate: sign it with sdk-sign.",
    "malformed": "The license certificate cannot be read.",
    "other_vendor": "The license certificate was made for another vendor.",
    "edited": "The license certificate was edited after it was signed.",
    "other_product": "The license certificate was made for another product.",
    "application_changed": "The application changed after it was signed: sign it again.",
    "expired_when_signed": "The license had expired when the application was signed.",
    "license_expired": "The license of this certificate has expired.",
    "too_old": "The license certificate is too old: sign the application again.",
    "application_unreadable": "The application cannot be read.",
}


def certificate_file(*, payload: bytes, signature: bytes) -> str:
    """The certificate file's text (the signing utility writes it as the portal answered)."""
    return json.dumps({
        "Format": FORMAT,
        "Certificate": base64.b64encode(payload).decode(),
        "Signature": base64.b64encode(signature).decode(),
    }, indent=2) + "\n"


def _b64(value: Any) -> bytes:
    if not isinstance(value, str):
        raise CertificateError("malformed", "a field is not text")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise CertificateError("malformed", "a field is not base64") from None


def _read(text: bytes) -> tuple[bytes, bytes]:
    try:
        outer = json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: brackets nested beyond reason
        raise CertificateError("malformed", "not JSON") from None
    if not isinstance(outer, dict) or outer.get("Format") != FORMAT:
        raise CertificateError("malformed", "not an SDK license certificate")
    return _b64(outer.get("Certificate")), _b64(outer.get("Signature"))


def _payload(payload_bytes: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(payload_bytes)
    except (ValueError, RecursionError):
        payload = None
    if not isinstance(payload, dict) or payload.get("Format") != FORMAT:
        raise CertificateError("malformed", "the signed part is not a certificate")
    return payload


def _now(now: dt.datetime | None) -> dt.datetime:
    return now.astimezone(dt.UTC) if now is not None else dt.datetime.now(dt.UTC)


def verify_certificate_bytes(public_key: PublicKeys, certificate: bytes, *, product_id: int,
                             application_fingerprint_value: str,
                             max_age_days: float | None = None,
                             now: dt.datetime | None = None) -> License:
    """Verify certificate bytes against an application fingerprint already computed."""
    keys = [load_public_key(k) for k in (
        public_key if isinstance(public_key, list | tuple) else [public_key])]
    payload_bytes, signature = _read(certificate)
    claimed = _payload(payload_bytes)  # read before the signature only to pick the key
    key = next((k for k in keys if key_fingerprint(k) == claimed.get("Vendor")), None)
    if key is None:
        raise CertificateError("other_vendor")
    try:
        key.verify(signature, CONTEXT + payload_bytes, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        raise CertificateError("edited") from None
    try:
        license_ = license_from_payload(claimed)
        algorithm = claimed["Application"].get("Algorithm")
    except (KeyError, TypeError, ValueError, AttributeError, OverflowError):
        raise CertificateError("malformed", "a field is missing") from None
    if license_.product_id != product_id or claimed.get("ProductId") != product_id:
        raise CertificateError("other_product", f"product {claimed.get('ProductId')}")
    if algorithm != ALGORITHM or license_.application_fingerprint != application_fingerprint_value:
        raise CertificateError("application_changed")
    if license_.time_limited and license_.expires < license_.signed_at:
        raise CertificateError("expired_when_signed",
                               f"expired {license_.expires:%Y-%m-%d %H:%M} UTC")
    current = _now(now)
    if license_.time_limited and license_.expires < current:
        raise CertificateError("license_expired", f"on {license_.expires:%Y-%m-%d} UTC")
    if max_age_days is not None and current - license_.signed_at > dt.timedelta(
            days=max_age_days):
        raise CertificateError("too_old", f"signed {license_.signed_at:%Y-%m-%d} UTC")
    return license_


def verify_certificate(public_key: PublicKeys, application: str | os.PathLike[str], *,
                       product_id: int, max_age_days: float | None = None,
                       certificate: str | os.PathLike[str] | None = None,
                       now: dt.datetime | None = None) -> License:
    """Verify, fully offline, the certificate of `application` (a file, folder or wheel) and
    return its license; raise CertificateError (with a `reason`) when the application may not
    use the SDK: no certificate, an edited one, another vendor's or product's, an application
    changed since it was signed, a license that had expired when it was signed or has
    expired since (time-limited licenses), or, with `max_age_days`, a certificate older than
    that. `certificate`: where the certificate is, if not beside the application.
    `public_key`: the vendor's public key (`<RSAKeyValue>` XML or PEM), or a list of them: an
    SDK built after the vendor rotated its signing key lists the old key too, so that
    applications signed before the rotation keep working."""
    path = Path(certificate) if certificate is not None else certificate_path(application)
    try:
        with path.open("rb") as handle:
            text = handle.read(MAX_CERTIFICATE_BYTES + 1)
    except FileNotFoundError:
        raise CertificateError("missing", str(path)) from None
    except OSError as exc:
        raise CertificateError("malformed", str(exc)) from None
    if len(text) > MAX_CERTIFICATE_BYTES:
        raise CertificateError("malformed", "too large")
    try:
        fingerprint = application_fingerprint(application).value
    except ApplicationError as exc:
        raise CertificateError("application_unreadable", str(exc)) from None
    return verify_certificate_bytes(public_key, text, product_id=product_id,
                                    application_fingerprint_value=fingerprint,
                                    max_age_days=max_age_days, now=now)
