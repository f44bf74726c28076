"""What every HTML page must satisfy under the Content-Security-Policy: the header is sent,
and the page has no inline script, event-handler attribute or inline style that the policy
would block (data passed with json_script is fine: it is never executed)."""

from __future__ import annotations

import re

from django.conf import settings

SCRIPT_TAG = re.compile(r"<script\b([^>]*)>", re.I)
HANDLER_ATTRIBUTE = re.compile(r"<[a-z][^>]*\son[a-z]+\s*=", re.I)
STYLE_ATTRIBUTE = re.compile(r"<[a-z][^>]*\sstyle\s*=", re.I)
JAVASCRIPT_URL = re.compile(r"""(?:href|src|action)\s*=\s*["']?\s*javascript:""", re.I)


def page_problems(response) -> list[str]:
    """Empty for a response the CSP lets render in full; else what is wrong with it."""
    if "text/html" not in response.get("Content-Type", ""):
        return []
    problems = []
    if response.get("Content-Security-Policy") != settings.CONTENT_SECURITY_POLICY:
        problems.append("no Content-Security-Policy header")
    content = response.content.decode(errors="replace")
    for attributes in SCRIPT_TAG.findall(content):
        if "src=" not in attributes and 'type="application/json"' not in attributes:
            problems.append(f"inline <script{attributes}>")
    for pattern, what in ((HANDLER_ATTRIBUTE, "an on…= handler"), (STYLE_ATTRIBUTE, "style="),
                          (JAVASCRIPT_URL, "a javascript: URL")):
        if pattern.search(content):
            problems.append(f"{what}: {pattern.search(content).group(0)[:80]}")
    if re.search(r"<style\b", content, re.I):
        problems.append("an inline <style> element")
    return problems
