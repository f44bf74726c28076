"""Every destructive button asks first, the one way: a data-confirm attribute that
static/js/behaviour.js turns into a confirmation before the form is sent.

The template scan fails when a new form that removes, revokes, deletes, deactivates, blocks,
retires, pauses, stops or withdraws lacks it. A page named `*_delete.html` is itself the
question (it shows what goes before its button), so its own form needs no second one."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from allauth.account.models import EmailAddress
from django.conf import settings
from django.test import Client
from django.urls import reverse

from tests.factories import UserFactory

TEMPLATES = Path(settings.BASE_DIR) / "templates"
BEHAVIOUR_JS = Path(settings.BASE_DIR) / "static" / "js" / "behaviour.js"

DESTRUCTIVE_WORDS = r"remove|revoke|delete|deactivate|block|retire|pause|stop|withdraw"
DESTRUCTIVE_ACTION = re.compile(rf"\{{% url '[\w:]*({DESTRUCTIVE_WORDS})[\w]*'", re.I)
DESTRUCTIVE_LABEL = re.compile(rf"\b({DESTRUCTIVE_WORDS})\b", re.I)
DESTRUCTIVE_VALUE = re.compile(r'name="action" value="(pause|stop)"')
FORM = re.compile(r"<form\b(?P<tag>[^>]*)>(?P<body>.*?)</form>", re.S)
BUTTON = re.compile(r"<button\b(?P<tag>[^>]*)>(?P<label>.*?)</button>", re.S)


def destructive_forms_without_confirm(text: str) -> list[str]:
    """The opening tags of POST forms in `text` that destroy something without asking."""
    missing = []
    for form in FORM.finditer(text):
        tag, body = form.group("tag"), form.group("body")
        if 'method="post"' not in tag.lower() or "data-confirm" in tag:
            continue
        buttons = list(BUTTON.finditer(body))
        # "Unblock" and "Resume" undo; only the destructive word itself counts.
        unasked_button = any(
            DESTRUCTIVE_LABEL.search(re.sub(r"\{[%{].*?[%}]\}", " ", b.group("label")))
            and "data-confirm" not in b.group("tag") for b in buttons)
        destroys = DESTRUCTIVE_ACTION.search(tag) or DESTRUCTIVE_VALUE.search(body)
        if unasked_button or (destroys and not any("data-confirm" in b.group("tag")
                                                   for b in buttons)):
            missing.append(tag.strip())
    return missing


def test_every_destructive_form_in_the_templates_asks_first():
    missing = {}
    for path in sorted(TEMPLATES.rglob("*.html")):
        if path.name.endswith("_delete.html"):
            continue
        found = destructive_forms_without_confirm(path.read_text())
        if found:
            missing[str(path.relative_to(TEMPLATES))] = found
    assert missing == {}, "add data-confirm=\"…?\" to these forms or their destructive button"


@pytest.mark.parametrize("snippet", [
    """<form method="post" action="{% url 'vendor_portal:member_remove' m.pk %}">
       <button class="danger">Remove</button></form>""",
    """<form method="post" action="{% url 'x:right_change' r.pk %}"><input type="hidden"
       name="action" value="pause"><button>Pause</button></form>""",
    """<form method="post" action="{% url 'x:thing' %}"><button>{% if a %}Withdraw{% else %}
       Allow{% endif %}</button></form>""",
])
def test_the_scan_catches_a_destructive_form_without_confirm(snippet):
    assert destructive_forms_without_confirm(snippet) != []


@pytest.mark.parametrize("snippet", [
    """<form method="post" action="{% url 'x:member_remove' m.pk %}" data-confirm="Remove?">
       <button class="danger">Remove</button></form>""",
    """<form method="post" action="{% url 'x:right_change' r.pk %}"><input type="hidden"
       name="action" value="pause"><button data-confirm="Pause?">Pause</button></form>""",
    """<form method="post" action="{% url 'x:key_block' k.pk %}"{% if not k.block %}
       data-confirm="Block?"{% endif %}><button>Unblock</button></form>""",
    """<form method="post" action="{% url 'x:right_change' r.pk %}"><input type="hidden"
       name="action" value="resume"><button>Resume</button></form>""",
    """<form method="get" action="{% url 'x:remove_filter' %}"><button>Remove</button></form>""",
])
def test_the_scan_lets_confirmed_and_harmless_forms_pass(snippet):
    assert destructive_forms_without_confirm(snippet) == []


def test_behaviour_js_asks_for_forms_and_buttons_with_data_confirm():
    script = BEHAVIOUR_JS.read_text()
    assert "button.dataset.confirm" in script and "form.dataset.confirm" in script
    assert "window.confirm(message)" in script and "event.preventDefault()" in script


@pytest.mark.django_db
def test_removing_an_email_address_asks_first():
    """allauth's e-mail page: its Remove button goes through the portal's button element."""
    user = UserFactory()
    EmailAddress.objects.create(user=user, email="second@example.com", verified=True)
    client = Client()
    client.force_login(user)

    content = client.get(reverse("account_email")).content.decode()

    remove = re.search(r'<button[^>]*name="action_remove"[^>]*>', content)
    assert remove, content
    assert 'data-confirm="Remove the selected e-mail address' in remove.group(0)
    assert 'class="danger"' in remove.group(0)
    primary = re.search(r'<button[^>]*name="action_primary"[^>]*>', content)
    assert primary and "data-confirm" not in primary.group(0)
