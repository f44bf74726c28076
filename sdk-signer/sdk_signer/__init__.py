"""Licensing for SDKs: developers sign the applications they build with a vendor's SDK
(`sdk-sign`), and the SDK verifies the certificate offline (`verify_certificate`).

In the SDK (the vendor's five lines):

    from sdk_signer import CertificateError, entry_application, verify_certificate
    try:
        license = verify_certificate(PUBLIC_KEY, entry_application(), product_id=3)
    except CertificateError as exc:
        raise RuntimeError(f"This application is not licensed to use the SDK: {exc}")
"""

from .application import entry_application
from .certificate import REASONS, CertificateError, verify_certificate, verify_certificate_bytes
from .fingerprint import ApplicationError, Fingerprint, application_fingerprint, certificate_path
from .keys import KeyFormatError, load_public_key
from .license import DataObject, License

__all__ = [
    "REASONS", "ApplicationError", "CertificateError", "DataObject", "Fingerprint",
    "KeyFormatError", "License", "application_fingerprint", "certificate_path",
    "entry_application", "load_public_key", "verify_certificate", "verify_certificate_bytes",
]
