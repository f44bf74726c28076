"""sdk-sign: sign an application built with a licensed SDK (the developer's one command).

    sdk-sign --key MPDWY-PQAOW-FKSCH-SGAAU dist/myapp-1.0-py3-none-any.whl

The vendor's settings (the portal's address, the product, an access token allowed
sdk.SignApplication, optionally the public key to check the result) come from the vendor's
`sdk-signer.json` (in the current folder, or --config), or the environment
(SDK_SIGNER_SERVER, SDK_SIGNER_PRODUCT_ID, SDK_SIGNER_TOKEN, SDK_SIGNER_KEY,
SDK_SIGNER_PUBLIC_KEY), or the options; an option wins over the environment, which wins over
the file. Also: `sdk-sign --fingerprint APP` prints the fingerprint, and `sdk-sign --verify
APP` checks a certificate offline as the SDK will."""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
import tempfile
import urllib.parse
from pathlib import Path
from typing import Any

from .certificate import (
    FORMAT,
    CertificateError,
    certificate_file,
    verify_certificate,
    verify_certificate_bytes,
)
from .client import Signed, SigningError, shown, sign_application
from .fingerprint import ApplicationError, application_fingerprint, certificate_path
from .keys import KeyFormatError
from .machine import machine_code

CONFIG_NAME = "sdk-signer.json"
SETTINGS = {"server": "SDK_SIGNER_SERVER", "product_id": "SDK_SIGNER_PRODUCT_ID",
            "token": "SDK_SIGNER_TOKEN", "key": "SDK_SIGNER_KEY",
            "public_key": "SDK_SIGNER_PUBLIC_KEY"}


class UsageError(Exception):
    pass


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sdk-sign", description="Sign applications built with a licensed SDK, so the "
        "SDK accepts them offline.")
    parser.add_argument("applications", nargs="+", metavar="APPLICATION",
                        help="a file, a folder or a wheel (.whl)")
    parser.add_argument("--key", help="your license key")
    parser.add_argument("--config", help=f"the vendor's settings (default: ./{CONFIG_NAME})")
    parser.add_argument("--server", help="the licensing portal's address")
    parser.add_argument("--product", dest="product_id", help="the SDK's product id")
    parser.add_argument("--token", help="the vendor's access token for signing")
    parser.add_argument("--public-key", dest="public_key",
                        help="the vendor's public key (text or a file) to check certificates")
    parser.add_argument("--machine-code", help="this machine's code (default: computed)")
    parser.add_argument("--friendly-name", default=socket.gethostname()[:255],
                        help="a name for this machine on the vendor's page (default: host name)")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--fingerprint", action="store_true",
                      help="print each application's fingerprint; sign nothing")
    mode.add_argument("--verify", action="store_true",
                      help="check each application's certificate offline; sign nothing")
    return parser


def _settings(args: argparse.Namespace) -> dict[str, Any]:
    settings: dict[str, Any] = {}
    config = Path(args.config) if args.config else Path(CONFIG_NAME)
    if args.config or config.is_file():
        try:
            loaded = json.loads(config.read_text(encoding="utf-8"))
        except (OSError, ValueError, RecursionError) as exc:
            raise UsageError(f"cannot read {config}: {exc}") from None
        if not isinstance(loaded, dict):
            raise UsageError(f"{config} is not a JSON object")
        for name in SETTINGS:
            value = loaded.get(name)
            if value in (None, ""):
                continue
            if not isinstance(value, str) and not (name == "product_id" and type(value) is int):
                raise UsageError(f"{config}: {name} must be text")
            settings[name] = value
    settings.update({k: os.environ[v] for k, v in SETTINGS.items() if os.environ.get(v)})
    settings.update({k: getattr(args, k) for k in SETTINGS if getattr(args, k, None)})
    if "product_id" in settings:
        value = str(settings["product_id"]).strip()
        if not (value.isascii() and value.isdigit()):
            raise UsageError("the product id must be a whole number")
        settings["product_id"] = int(value)
    key_text = settings.get("public_key")
    if key_text and "<RSAKeyValue>" not in key_text and "BEGIN" not in key_text:
        try:
            settings["public_key"] = Path(key_text).read_text(encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"cannot read the public key {key_text}: {exc}") from None
    return settings


def _need(settings: dict[str, Any], *names: str) -> None:
    missing = [n for n in names if not settings.get(n)]
    if missing:
        flags = ", ".join("--" + n.replace("_id", "").replace("_", "-") for n in missing)
        raise UsageError(f"missing {flags} (or the vendor's {CONFIG_NAME})")


def _verify(settings: dict[str, Any], application: str) -> str:
    license_ = verify_certificate(settings["public_key"], application,
                                  product_id=settings["product_id"])
    features = ", ".join(f"F{n}" for n in range(1, 9) if license_.has_feature(n)) or "none"
    return (f"{application}: certificate {license_.certificate_id} is valid (signed "
            f"{license_.signed_at:%Y-%m-%d %H:%M} UTC; features: {features})")


def _checked(settings: dict[str, Any], signed: Signed, fingerprint: str) -> str:
    """The certificate file's text, once the answer is seen to be a certificate for this
    application (and, with the vendor's public key, verified as the SDK will)."""
    text = certificate_file(payload=signed.payload, signature=signed.signature)
    try:
        payload = json.loads(signed.payload)
        ours = (payload["Format"] == FORMAT
                and payload["Application"]["Fingerprint"] == fingerprint)
    except (ValueError, RecursionError, KeyError, TypeError):
        ours = False
    if not ours:
        raise SigningError("The licensing server's answer is not a certificate for this "
                           "application.")
    if settings.get("public_key"):
        verify_certificate_bytes(settings["public_key"], text.encode(),
                                 product_id=settings["product_id"],
                                 application_fingerprint_value=fingerprint)
    return text


def _write(target: Path, text: str) -> None:
    """Write beside the target, then rename over it: a link at the target is replaced, not
    followed, and an interrupted run leaves the previous certificate whole."""
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _sign(settings: dict[str, Any], application: str, code: str, friendly: str) -> str:
    fingerprint = application_fingerprint(application)
    signed = sign_application(
        server=settings["server"], token=settings["token"],
        product_id=settings["product_id"], key=settings["key"], machine_code=code,
        fingerprint=fingerprint, application_name=Path(application).resolve().name[:255],
        friendly_name=friendly)
    target = certificate_path(application)
    _write(target, _checked(settings, signed, fingerprint.value))
    return (f"{application}: signed ({fingerprint.kind}, {fingerprint.files} files, "
            f"fingerprint {fingerprint.value[:16]}...), certificate {signed.certificate_id} "
            f"written to {target}" + (" and checked" if settings.get("public_key") else ""))


def _printable(text: str) -> str:
    """No terminal control sequences from a server's or a file's words."""
    return "".join(c if c.isprintable() or c == "\n" else "?" for c in text)


def _warn_if_plain(server: str) -> None:
    parts = urllib.parse.urlsplit(server)
    if parts.scheme == "http" and parts.hostname not in ("localhost", "127.0.0.1", "::1"):
        print(f"sdk-sign: warning: {shown(server)} is not https: the token and the license "
              "key travel unencrypted", file=sys.stderr)


def run(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = _settings(args)
        if args.fingerprint:
            for app in args.applications:
                print(f"{application_fingerprint(app).value}  {app}")
            return 0
        if args.verify:
            _need(settings, "public_key", "product_id")
            for app in args.applications:
                print(_verify(settings, app))
            return 0
        _need(settings, "server", "product_id", "token", "key")
        _warn_if_plain(settings["server"])
        code = args.machine_code or machine_code()
        for app in args.applications:
            print(_sign(settings, app, code, args.friendly_name))
    except (UsageError, LookupError, KeyFormatError) as exc:
        print(f"sdk-sign: {_printable(str(exc))}", file=sys.stderr)
        return 2
    except (ApplicationError, SigningError, CertificateError, OSError) as exc:
        print(f"sdk-sign: {_printable(str(exc))}", file=sys.stderr)
        return 1
    return 0


def main() -> None:
    sys.exit(run())
