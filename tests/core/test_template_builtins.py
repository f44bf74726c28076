"""apps.core.template_builtins replaces Django's {% url %} and |date in every template: each must
give exactly what Django's own gives, whatever it is asked."""

from __future__ import annotations

import datetime as dt

import pytest
from django.template import Context, Engine, engines
from django.test import override_settings
from django.urls import clear_script_prefix, set_script_prefix
from django.utils import timezone

from apps.core.template_builtins import CachedURLNode

# Django's engine, without the project's builtins: the reference.
DJANGO = Engine()
PROJECT = engines["django"].engine


def _render(engine: Engine, source: str, context: dict) -> str:
    """The output, or the error's kind: a value Django refuses must be refused alike."""
    try:
        return engine.from_string(source).render(Context(context))
    except Exception as error:
        return f"raised {type(error).__name__}"


def _both(source: str, **context) -> tuple[str, str]:
    return _render(DJANGO, source, context), _render(PROJECT, source, context)


def test_the_project_templates_use_the_cached_url_tag():
    node = PROJECT.from_string("{% url 'vendor_portal:dashboard' %}").nodelist[0]
    assert isinstance(node, CachedURLNode)


URLS = [
    ("{% url 'vendor_portal:dashboard' %}", {}),
    ("{% url 'vendor_portal:key_detail' key_id %}", {"key_id": 42}),
    ("{% url 'vendor_portal:key_detail' key_id=key_id %}", {"key_id": 7}),
    ("{% url 'vendor_portal:key_detail' key_id %}", {"key_id": "42"}),
    ("{% url name key_id %}", {"name": "vendor_portal:key_detail", "key_id": 9}),
    ("{% url 'vendor_portal:key_detail' 5 as there %}[{{ there }}]", {}),
    ("{% url 'no_such_view' as there %}[{{ there }}]", {}),
    ("{% url 'vendor_portal:key_detail' key %}", {"key": 3.0}),  # not kept: reversed anew
    ("{% url 'vendor_portal:key_detail' key %}", {"key": "x"}),
    ("{% url 'no_such_view' %}", {}),
]


@pytest.mark.parametrize(("source", "context"), URLS)
def test_url_gives_what_djangos_gives(source, context):
    for _ in range(2):  # the second time from what was kept
        django, ours = _both(source, **context)
        assert ours == django


def test_url_follows_the_script_prefix_and_the_urlconf():
    source = "{% url 'vendor_portal:dashboard' %}"
    assert _both(source)[1] == "/"
    set_script_prefix("/portal/")
    try:
        assert _both(source) == ("/portal/", "/portal/")
    finally:
        clear_script_prefix()
    assert _both(source)[1] == "/"
    with override_settings(ROOT_URLCONF="tests.core.test_template_builtins"):
        assert _both(source) == ("raised NoReverseMatch", "raised NoReverseMatch")


@pytest.mark.parametrize("autoescape", ["on", "off"])
def test_url_is_escaped_as_djangos_is(autoescape):
    # An "&" stays as it is in a reversed address; the page escapes it, unless told not to.
    source = (f"{{% autoescape {autoescape} %}}{{% url 'customer_portal:join' token %}}"
              "{% endautoescape %}")
    django, ours = _both(source, token="a&b<c>")
    assert ours == django
    assert ("&amp;" in ours) == (autoescape == "on")


urlpatterns: list = []  # the URLconf of the test above that names none of the portal's

FORMATS = ["Y-m-d", "Y-m-d H:i", "Y-m-d H:i:s", "H:i:s", "Ymd", "H:i", "m-d", "m-d H:i",
           "Y-m", "Y/m/d", "D, d M Y", "N j, Y, P", r"Y-m-d\TH:i", "c", "", "e", "T"]
VALUES = [
    dt.datetime(2026, 12, 7, 6, 5, 4, 321, tzinfo=dt.UTC),
    dt.datetime(7, 1, 2, 3, 4, 5, tzinfo=dt.UTC),  # a year of one digit: zero-padded
    dt.datetime(2026, 3, 1, 23, 59, 59, tzinfo=dt.timezone(dt.timedelta(hours=5))),
    dt.datetime(2026, 3, 1, 23, 59, 59),  # naive
    dt.date(2026, 2, 3),
    None, "", "not a date", 17,
]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_date_gives_what_djangos_gives(fmt, value):
    django, ours = _both("{{ value|date:fmt }}", value=value, fmt=fmt)
    assert ours == django


@pytest.mark.parametrize("value", VALUES[:4], ids=repr)
def test_date_shows_the_current_time_zone_as_djangos_does(value):
    with timezone.override("America/New_York"):
        django, ours = _both('{{ value|date:"Y-m-d H:i" }} {{ value|date }}', value=value)
    assert ours == django
