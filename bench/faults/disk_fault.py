"""The license server's cache folder on a full disk (a tiny tmpfs, unmounted afterwards).

1. The portal (gunicorn, production settings) and the license server relaying to it run; the
   license server's cache folder is a 256 KiB tmpfs.
2. Device A activates through the license server: the portal's answer is relayed and cached.
3. The tmpfs is filled to the last byte.
4. Device A again and device B (new) activate: both still get the portal's signed answer; the
   license server logs why it could not cache (ENOSPC) instead of failing the call.
5. The portal goes away: device A is served its cached answer (the entry from step 2 is
   intact), device B gets the license server's clear error (nothing could be cached for it).
6. Every cache file on the tmpfs parses as JSON: no torn or empty files.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from . import common

TMPFS_SIZE = "256k"


def run(seconds: float) -> bool:
    db = common.database_settings()
    name = f"{db['NAME']}_faults_disk_{os.getpid()}"
    folder = Path(tempfile.mkdtemp(prefix="ops-disk-"))
    cache = folder / "cache"
    cache.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={TMPFS_SIZE},mode=0700", "tmpfs",
                    str(cache)], check=True)
    common.create_database(db, name)
    try:
        return _scenario(common.database_url(db, name), cache)
    finally:
        common.close_connections()
        common.drop_database(db, name)
        subprocess.run(["umount", str(cache)], check=False)
        shutil.rmtree(folder, ignore_errors=True)


def _activate(port: int, tenant: common.Tenant, key: str, machine: str) -> dict | None:
    _, body = common.api(port, "key/Activate", {
        "token": tenant.token, "ProductId": str(tenant.product_id), "Key": key,
        "MachineCode": machine, "Sign": "True", "SignMethod": "1"})
    return body


def _show(label: str, body: dict | None) -> str:
    if body is None:
        return f"{label}: NOT JSON"
    if body.get("result") == 0:
        return f"{label}: result 0, signed license ({len(body.get('licenseKey', ''))} chars)"
    return f"{label}: result {body.get('result')}, {body.get('message')!r}"


def _fill(cache: Path) -> int:
    written = 0
    with (cache / "filler").open("wb", buffering=0) as out:
        for chunk in (4096, 512, 1):  # down to the last byte
            try:
                while True:
                    written += out.write(b"\0" * chunk)
            except OSError:
                pass
    return written


def _scenario(url: str, cache: Path) -> bool:
    env = common.production_env(url)
    common.django_setup(env)
    common.migrate()
    tenant = common.seed_tenant("Disk faults vendor")
    _, key = common.make_key(tenant.product_id, seats=10)
    common.close_connections()
    log = common.log_path("disk")
    portal_port, server_port = common.free_port(), common.free_port()
    with common.processes() as started:
        portal = common.start_gunicorn(env, portal_port, log, workers=1, threads=2)
        started.append(portal)
        with log.open("ab") as out:
            server = subprocess.Popen(
                [common.PYTHON, "-m", "license_server", "--host", common.HOST,
                 "--port", str(server_port), "--upstream", f"http://{common.HOST}:{portal_port}",
                 "--cache-folder", str(cache), "--no-local-floating"],
                cwd=common.ROOT, env={**env, "PYTHONWARNINGS": "ignore"}, stdout=out,
                stderr=subprocess.STDOUT, start_new_session=True)
        started.append(server)
        _wait_listening(server_port, server, log)
        first = _activate(server_port, tenant, key, "device-A")
        print(f"  {_show('device A, disk has room', first)}")
        filled = _fill(cache)
        print(f"  tmpfs ({TMPFS_SIZE}) filled: {filled} more bytes written until ENOSPC; "
              f"df: {_df(cache)}")
        again = _activate(server_port, tenant, key, "device-A")
        other = _activate(server_port, tenant, key, "device-B")
        print(f"  {_show('device A, disk full', again)}")
        print(f"  {_show('device B (new), disk full', other)}")
        common.stop(portal)
        offline_a = _activate(server_port, tenant, key, "device-A")
        offline_b = _activate(server_port, tenant, key, "device-B")
        print("  portal stopped (unreachable):")
        print(f"    {_show('device A', offline_a)}")
        print(f"    {_show('device B', offline_b)}")
    files = [p for p in cache.rglob("*.json")]
    bad = [p for p in files if not _valid_json(p)]
    lines = log.read_text(errors="replace").splitlines()
    enospc = [line for line in lines if "ERROR" in line or "WARNING" in line]
    print(f"  cache files: {len(files)}, of which not valid JSON: {len(bad)}; other files: "
          f"{sorted(p.name for p in cache.iterdir() if p.suffix != '.json' and p.is_file())}")
    print(f"  license server log: {len(enospc)} ERROR/WARNING lines:")
    for line in enospc[:6]:
        print(f"    {line.strip()[:160]}")
    shutil.rmtree(log.parent, ignore_errors=True)
    return (all(b is not None and b.get("result") == 0 for b in (first, again, other))
            and offline_a is not None and offline_a.get("result") == 0
            and offline_b is not None and offline_b.get("result") == 1 and not bad)


def _valid_json(path: Path) -> bool:
    try:
        json.loads(path.read_bytes())
        return True
    except ValueError:
        return False


def _df(path: Path) -> str:
    stat = os.statvfs(path)
    return f"{stat.f_bavail * stat.f_frsize} bytes free of {stat.f_blocks * stat.f_frsize}"


def _wait_listening(port: int, server: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            common.fail(f"the license server exited:\n{log.read_text()[-2000:]}")
        try:
            common.request(port, "GET", "/", timeout=1)
            return
        except OSError:
            time.sleep(0.2)
    common.fail("the license server did not start")
