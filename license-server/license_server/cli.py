"""`license-server`: load the options, check the vendor's configuration and license files,
then serve until SIGTERM/SIGINT (systemd's stop)."""

from __future__ import annotations

import logging
import signal
import sqlite3
import sys
import threading
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import rsa

from . import configuration as configuration_module
from . import crypto
from . import license_files as license_files_module
from .cache import AnswerCache
from .configuration import Configuration, ConfigurationError
from .httpd import make_server
from .options import Options, load
from .service import LicenseServer
from .store import Store
from .uploader import Uploader
from .upstream import Upstream

logger = logging.getLogger("license_server")

VENDOR_KEY_REQUIRED = (
    "vendor_public_key is not set (--vendor-public-key, LICENSE_SERVER_VENDOR_PUBLIC_KEY or "
    "\"vendor_public_key\" in the JSON file). The configuration and license files are checked "
    "with the vendor's public key, so it must come from the vendor, not from those files: ask "
    "the vendor for it (their dashboard shows it under License servers, on the "
    "configuration's page: vendor-public-key.xml) and give its RSAKeyValue XML or the path "
    "of a file holding it.")


def vendor_key(options: Options) -> rsa.RSAPublicKey:
    """The vendor's public key pinned in the server's own options; ValueError saying what is
    wrong when it is missing or cannot be read. Never taken from the configuration file: a
    customer who edits that file can put any key in it."""
    if not options.vendor_public_key:
        raise ValueError(VENDOR_KEY_REQUIRED)
    try:
        return crypto.public_key_from_xml(options.vendor_public_key)
    except crypto.KeyFormatError as exc:
        raise ValueError(f"vendor_public_key: {exc}") from None


def needs_vendor_key(options: Options) -> bool:
    return bool(options.configuration or options.license_files)


def read_configuration(options: Options) -> tuple[Configuration | None, str]:
    """The verified configuration (or None) and the error that stops local floating."""
    if not options.configuration:
        return None, ""
    try:
        text = Path(options.configuration).read_text()
        return configuration_module.parse(
            text, vendor_public_key_xml=options.vendor_public_key), ""
    except OSError as exc:
        return None, configuration_module.UNREADABLE.format(problem=exc)
    except ConfigurationError as exc:
        return None, str(exc)


def build(options: Options) -> tuple[LicenseServer, Uploader]:
    configuration, problem = read_configuration(options)
    if problem:
        logger.error("%s Relaying still works; local floating is off.", problem)
    try:
        pinned = vendor_key(options)
    except ValueError:  # main() refuses to start; here the files are skipped and reported
        pinned = None
    files, _ = license_files_module.load(options.license_files, pinned)
    folder = Path(options.cache_folder)
    store = Store(folder / "license-server.sqlite3")
    upstream_url = options.upstream or (configuration.portal if configuration else "")
    # Offline mode never contacts the portal: no relay and no uploads (the journal waits).
    upstream = (Upstream(upstream_url, options.upstream_timeout)
                if upstream_url and not options.offline else None)
    service = LicenseServer(options=options, store=store,
                            cache=AnswerCache(folder, options.cache_length_days), files=files,
                            upstream=upstream, configuration=configuration,
                            configuration_error=problem)
    revoked_id = str(configuration.id) if configuration else ""
    uploader = Uploader(store=store, upstream=upstream,
                        token=configuration.upload_token if configuration else "",
                        interval=options.upload_interval,
                        on_revoked=lambda: store.set_meta("revoked", revoked_id))
    service.on_portal_answer = uploader.wake
    return service, uploader


def check(options: Options) -> int:
    """Print what the server would load; exit status 1 if anything is wrong."""
    key: rsa.RSAPublicKey | None = None
    if needs_vendor_key(options):
        try:
            key = vendor_key(options)
        except ValueError as exc:
            print(f"license-server: {exc}")
            return 1
    configuration, problem = read_configuration(options)
    if configuration:
        print(f"Configuration {configuration.id} ({configuration.name}): signature valid, "
              f"{len(configuration.floating_keys)} floating key(s)")
    if problem:
        print(problem)
    files, problems = license_files_module.load(options.license_files, key)
    for product_id, key_string in sorted(files):
        print(f"License file for product {product_id}, key {key_string}: signature valid")
    for line in problems:
        print(line)
    return 1 if problem or problems else 0


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        options, check_only = load(argv)
        if check_only:
            return check(options)
        if not options.offline and not (options.upstream or options.configuration):
            raise ValueError("give --upstream (the portal's address) or --offline")
        if needs_vendor_key(options):
            vendor_key(options)  # refuse to start on a configuration nobody can tie to the vendor
        service, uploader = build(options)
        server = make_server(service, options.host, options.port)
    except (ValueError, OSError, sqlite3.Error) as exc:  # bad option, file, folder or port
        print(f"license-server: {exc}", file=sys.stderr)
        return 2
    stop = threading.Event()

    def shut_down(signum: int, frame: object) -> None:
        if not stop.is_set():
            stop.set()
            threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, shut_down)
    signal.signal(signal.SIGINT, shut_down)
    uploader.start()
    logger.info("License server listening on http://%s:%s/api/ (upstream: %s, offline: %s)",
                options.host, server.server_address[1],
                service.upstream.base if service.upstream else "none", options.offline)
    try:
        server.serve_forever(poll_interval=0.5)
    finally:
        uploader.stop()
        server.server_close()
        service.store.close()
    return 0
