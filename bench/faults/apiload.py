"""API traffic for the fault scenarios, with every answer recorded for the checks afterwards:
new devices racing for a key's limited seats, re-activations of a known device (the
PostgreSQL fast path) and GetKey calls, from a few client threads."""

from __future__ import annotations

import http.client
import itertools
import json
import threading
import time
from collections import Counter
from dataclasses import dataclass

from . import common

NEW, KNOWN, GETKEY = "Activate new device", "Activate known device", "GetKey"


@dataclass
class Answer:
    kind: str
    machine_code: str
    at: float  # seconds since the start of the load
    status: int  # 0: no HTTP answer at all (connection refused or reset)
    json_ok: bool  # a JSON body with an integer result and a string message
    result: int | None
    message: str
    content_type: str
    ms: float = 0.0  # latency

    @property
    def success(self) -> bool:
        return self.status == 200 and self.result == 0


@dataclass
class Target:
    port: int
    token: str
    product_id: int
    limited_key: str  # few seats: new devices race for them
    known_key: str
    known_machine: str


def _call(conn: http.client.HTTPConnection, target: Target, kind: str, code: str,
          start: float) -> Answer:
    base = {"token": target.token, "ProductId": str(target.product_id), "Sign": "True",
            "SignMethod": "1"}
    if kind == NEW:
        path, data = "/api/key/Activate", {**base, "Key": target.limited_key, "MachineCode": code}
    elif kind == KNOWN:
        path, data = "/api/key/Activate", {**base, "Key": target.known_key,
                                           "MachineCode": target.known_machine}
    else:
        path, data = "/api/key/GetKey", {**base, "Key": target.known_key}
    sent = time.perf_counter()
    try:
        conn.request("POST", path, _form(data),
                     {"Content-Type": "application/x-www-form-urlencoded"})
        response = conn.getresponse()
        body, ctype = response.read(), response.getheader("Content-Type", "")
        status = response.status
    except (OSError, http.client.HTTPException) as error:
        conn.close()
        return Answer(kind, code, sent - start, 0, False, None,
                      f"{type(error).__name__}: {error}", "", (time.perf_counter() - sent) * 1000)
    try:
        parsed = json.loads(body)
        ok = isinstance(parsed.get("result"), int) and isinstance(parsed.get("message"), str)
    except (ValueError, AttributeError):
        parsed, ok = {}, False
    return Answer(kind, code, sent - start, status, ok, parsed.get("result"),
                  parsed.get("message", body[:120].decode(errors="replace")), ctype,
                  (time.perf_counter() - sent) * 1000)


def _form(data: dict[str, str]) -> str:
    import urllib.parse

    return urllib.parse.urlencode(data)


class Load:
    """Client threads sending NEW, KNOWN and GETKEY calls in turn until stopped."""

    def __init__(self, target: Target, threads: int = 6, pause_s: float = 0.01) -> None:
        self.target, self.threads, self.pause_s = target, threads, pause_s
        self.answers: list[Answer] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._codes = itertools.count()
        self._workers: list[threading.Thread] = []
        self.start = 0.0

    def __enter__(self) -> Load:
        self.start = time.perf_counter()
        self._workers = [threading.Thread(target=self._run, args=(i,), daemon=True)
                         for i in range(self.threads)]
        for w in self._workers:
            w.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for w in self._workers:
            w.join(timeout=30)

    def now(self) -> float:
        return time.perf_counter() - self.start

    def _run(self, i: int) -> None:
        conn = http.client.HTTPConnection(common.HOST, self.target.port, timeout=15)
        kinds = itertools.cycle([NEW, KNOWN, GETKEY][i % 3:] + [NEW, KNOWN, GETKEY][:i % 3])
        while not self._stop.is_set():
            kind = next(kinds)
            answer = _call(conn, self.target, kind, f"dev-{next(self._codes)}", self.start)
            with self._lock:
                self.answers.append(answer)
            time.sleep(self.pause_s)
        conn.close()


def describe(answers: list[Answer]) -> list[str]:
    """Counts by outcome: success, each error message, non-envelope answers."""
    counter: Counter[str] = Counter()
    for a in answers:
        if a.status == 0:
            counter[f"no HTTP answer ({a.message[:60]})"] += 1
        elif not a.json_ok:
            counter[f"NOT an envelope: HTTP {a.status} {a.content_type}"] += 1
        elif a.success:
            counter["result 0 (success)"] += 1
        else:
            counter[f"result {a.result}: {a.message[:90]}"] += 1
    return [f"{n:6d}  {what}" for what, n in counter.most_common()]


def check_log_rows(answers: list[Answer], target: Target) -> tuple[int, int]:
    """(success answers, those without a matching success row in the Web API log). New
    devices are matched one by one by machine code; re-activations and GetKey by count."""
    from apps.usage.models import WebApiLog

    def succeeded(state: int) -> bool:
        return (state % 100) // 10 == 1

    rows = list(WebApiLog.objects.filter(product_id=target.product_id)
                .values_list("method", "key", "machine_code", "state"))
    ok_rows = [r for r in rows if succeeded(r[3])]
    new_logged = {r[2] for r in ok_rows if r[0] == "key.Activate" and r[1] == target.limited_key}
    missing = sum(1 for a in answers if a.success and a.kind == NEW
                  and a.machine_code not in new_logged)
    for kind, method, machine in ((KNOWN, "key.Activate", target.known_machine),
                                  (GETKEY, "key.GetKey", None)):
        answered = sum(1 for a in answers if a.success and a.kind == kind)
        logged = sum(1 for r in ok_rows if r[0] == method and r[1] == target.known_key
                     and (machine is None or r[2] == machine))
        missing += max(0, answered - logged)
    return sum(1 for a in answers if a.success), missing
