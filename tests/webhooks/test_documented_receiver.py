"""The receiver snippet of docs/webhooks.md, alone: ten lines, standard library only, and it
checks what the portal signs (apps.webhooks.services.signature_header) the way the document
says: any v1 matches, the raw body, the secret, a timestamp at most five minutes off."""

from __future__ import annotations

import ast
import time

from apps.webhooks.services import signature_header

from .receiver import load_verify, snippet

verify = load_verify()
BODY = b'{"id":"evt_1","type":"key.blocked","data":{"object":{"Key":"AAAA"}}}'


def test_ten_lines_of_standard_library():
    code = snippet()
    assert len(code.strip().splitlines()) == 10
    imported = {alias.name for node in ast.walk(ast.parse(code))
                if isinstance(node, ast.Import | ast.ImportFrom) for alias in node.names}
    assert imported == {"hashlib", "hmac", "time"}


def test_accepts_what_the_portal_signs():
    now = int(time.time())
    assert verify("whsec_a", BODY, signature_header(["whsec_a"], BODY, now))
    # A rotation overlap: two v1, either secret verifies.
    both = signature_header(["whsec_new", "whsec_old"], BODY, now)
    assert both.count("v1=") == 2
    assert verify("whsec_new", BODY, both) and verify("whsec_old", BODY, both)
    assert verify("whsec_a", BODY, signature_header(["whsec_a"], BODY, now - 299))


def test_refuses_the_rest():
    now = int(time.time())
    good = signature_header(["whsec_a"], BODY, now)
    assert not verify("whsec_b", BODY, good)                      # another secret
    assert not verify("whsec_a", BODY + b" ", good)               # the body changed
    assert not verify("whsec_a", BODY, signature_header(["whsec_a"], BODY, now - 301))  # old
    assert not verify("whsec_a", BODY, signature_header(["whsec_a"], BODY, now + 3600))
    t, v1 = good.split(",")
    assert not verify("whsec_a", BODY, f"t={now - 1},{v1}")       # the timestamp is signed
    for header in ["", v1, t, "t=,v1=", "t=abc," + v1, "t=\u00b2," + v1, "garbage",
                   f"{t},v1=\u00e9{v1[3:]}", f"{t},v0={v1[3:]}"]:
        assert not verify("whsec_a", BODY, header), header
