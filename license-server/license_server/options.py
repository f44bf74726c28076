"""The license server's options, from a JSON file, environment variables and flags.

Precedence, highest first: command-line flags, environment variables (LICENSE_SERVER_*), the
JSON file given with --config (or LICENSE_SERVER_CONFIG), built-in defaults. Relative paths in
the JSON file are read relative to that file's folder."""

from __future__ import annotations

import argparse
import json
import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

ENV_PREFIX = "LICENSE_SERVER_"
PATH_OPTIONS = ("cache_folder", "configuration", "license_files")


@dataclass
class Options:
    port: int = 8080
    host: str = "0.0.0.0"  # noqa: S104 (devices on the network must reach it)
    upstream: str = ""  # the portal's address; default: the one in the configuration file
    cache_folder: str = "license-server-data"
    cache_length_days: float = 30.0
    offline: bool = False
    license_files: list[str] = field(default_factory=list)
    local_floating: bool = True
    configuration: str = ""  # the vendor-issued configuration file
    # The vendor's RSAKeyValue XML, or a path to a file holding it. Required with a
    # configuration or license files: they are checked with this key only.
    vendor_public_key: str = ""
    upload_interval: float = 60.0  # seconds between attempts to upload the journal
    upstream_timeout: float = 10.0


def _coerce(name: str, value: Any) -> Any:
    default = Options.__dataclass_fields__[name].type
    if name == "license_files":
        items = [value] if isinstance(value, str) else [str(v) for v in value]
        return [p.strip() for item in items for p in item.replace(os.pathsep, ";").split(";")
                if p.strip()]
    if default in ("bool", bool):
        return value if isinstance(value, bool) else str(value).strip().lower() in (
            "1", "true", "yes", "on")
    if default in ("int", int):
        return int(value)
    if default in ("float", float):
        return float(value)
    return str(value)


def _from_file(path: str) -> dict[str, Any]:
    base = Path(path).resolve().parent
    data = json.loads(Path(path).read_text())
    unknown = set(data) - {f.name for f in fields(Options)}
    if unknown:
        raise ValueError(f"unknown options in {path}: {', '.join(sorted(unknown))}")
    values = {name: _coerce(name, value) for name, value in data.items()}
    for name in PATH_OPTIONS:
        if name == "license_files" and name in values:
            values[name] = [str(base / p) for p in values[name]]
        elif values.get(name):
            values[name] = str(base / values[name])
    key = values.get("vendor_public_key")
    if key and not _is_xml(key):  # a path to the file holding it
        values["vendor_public_key"] = str(base / key)
    return values


def _is_xml(value: str) -> bool:
    return "<RSAKeyValue>" in value


def _from_env(environ: dict[str, str]) -> dict[str, Any]:
    values = {}
    for f in fields(Options):
        raw = environ.get(ENV_PREFIX + f.name.upper())
        if raw is not None and raw != "":
            values[f.name] = _coerce(f.name, raw)
    return values


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="license-server", description=(
        "On-premises license server: relays devices' calls to the licensing portal, caches "
        "the signed answers, and answers from the cache and license files when the portal "
        "cannot be reached."))
    p.add_argument("--config", help="JSON file with any of the options below (snake_case)")
    p.add_argument("--port", type=int)
    p.add_argument("--host", help="address to listen on (default 0.0.0.0)")
    p.add_argument("--upstream", help="the portal's address, e.g. https://licensing.example.com")
    p.add_argument("--cache-folder", help="where answers, the journal and seats are kept")
    p.add_argument("--cache-length", dest="cache_length_days", type=float,
                   help="days a cached answer may be served (default 30)")
    p.add_argument("--offline", action=argparse.BooleanOptionalAction, default=None,
                   help="never contact the portal; answer from cache and license files")
    p.add_argument("--license-files", action="append",
                   help="a .skm file or a folder of them (repeat, or separate with ;)")
    p.add_argument("--local-floating", action=argparse.BooleanOptionalAction, default=None,
                   help="hand out floating seats locally when the portal is unreachable")
    p.add_argument("--configuration", help="the configuration file issued by the vendor")
    p.add_argument("--vendor-public-key", help=(
        "vendor's RSAKeyValue XML, or a file with it; required with a configuration or "
        "license files (from the vendor, never from those files)"))
    p.add_argument("--upload-interval", type=float, help="seconds between log uploads")
    p.add_argument("--upstream-timeout", type=float, help="seconds to wait for the portal")
    p.add_argument("--check", action="store_true",
                   help="check the configuration and license files, print a report, exit")
    return p


def load(argv: list[str] | None = None, environ: dict[str, str] | None = None
         ) -> tuple[Options, bool]:
    """(options, check_only) from the command line and the environment."""
    environ = dict(os.environ if environ is None else environ)
    args = parser().parse_args(argv)
    values: dict[str, Any] = {}
    config_path = args.config or environ.get(ENV_PREFIX + "CONFIG")
    if config_path:
        values.update(_from_file(config_path))
    values.update(_from_env(environ))
    for f in fields(Options):
        flag = getattr(args, f.name, None)
        if flag is not None:
            values[f.name] = _coerce(f.name, flag)
    options = Options(**values)
    key = options.vendor_public_key
    if key and not _is_xml(key):
        try:
            options.vendor_public_key = Path(key).read_text()
        except OSError as exc:
            raise ValueError(f"vendor_public_key: cannot read {key}: {exc.strerror}") from None
    return options, args.check
