"""Two of Django's template builtins, made cheaper for what every page does many times; each
gives exactly what Django's own gives (tests/core/test_template_builtins.py compares them).
Registered in settings.TEMPLATES as a builtin library, after Django's, so every template uses
them without `{% load %}`.

- `{% url %}` keeps each address it reversed: a page reverses its navigation's twenty
  addresses and one or two per table row, and Django's reverse took about a tenth of a key
  list's rendering. An address depends only on the URLconf, the script prefix, the current
  application namespace and the arguments, which make the key; arguments other than text and
  integers (a model instance, whose text may change) are reversed every time.
- `|date` with a format of numbers only (Y, m, d, H, i, s and separators, as in "Y-m-d H:i")
  formats them directly; Django's formatter, which looks up translations for every call, took
  another tenth. Any other format, or a value that is not a date-time, goes to Django's."""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.template import Context, Library, Node
from django.template.base import Parser, Token
from django.template.defaultfilters import date as django_date
from django.template.defaulttags import URLNode
from django.template.defaulttags import url as django_url
from django.urls import NoReverseMatch, get_script_prefix, get_urlconf, reverse
from django.utils.html import conditional_escape

register = Library()

_CACHEABLE = (str, int)


@functools.lru_cache(maxsize=8192)
def _reversed(urlconf: str, prefix: str, current_app: str | None, view_name: str,
              args: tuple[Any, ...], kwargs: tuple[tuple[str, Any], ...]) -> str:
    return reverse(view_name, urlconf=urlconf, args=args, kwargs=dict(kwargs),
                   current_app=current_app)


def _clear(*, setting: str, **_: Any) -> None:
    if setting == "ROOT_URLCONF":
        _reversed.cache_clear()


setting_changed.connect(_clear)


class CachedURLNode(URLNode):
    def render(self, context: Context) -> str:
        args = tuple(arg.resolve(context) for arg in self.args)
        kwargs = tuple((k, v.resolve(context)) for k, v in self.kwargs.items())
        if not all(type(v) in _CACHEABLE for v in (*args, *(v for _, v in kwargs))):
            return super().render(context)
        view_name = self.view_name.resolve(context)
        request = getattr(context, "request", None)
        current_app = getattr(request, "current_app", None)
        if current_app is None:
            current_app = getattr(getattr(request, "resolver_match", None), "namespace", None)
        url = ""
        try:
            url = _reversed(get_urlconf() or settings.ROOT_URLCONF, get_script_prefix(),
                            current_app, view_name, args, kwargs)
        except NoReverseMatch:
            if self.asvar is None:
                raise
        if self.asvar:
            context[self.asvar] = url
            return ""
        return conditional_escape(url) if context.autoescape else url


@register.tag
def url(parser: Parser, token: Token) -> Node:
    """Django's `{% url %}` (same syntax, same output), with its addresses kept."""
    node = django_url(parser, token)
    return CachedURLNode(node.view_name, node.args, node.kwargs, node.asvar)


# The format characters formatted here, each as Django formats it (zero-padded numbers).
_NUMERIC = {"Y": "{0.year:04d}", "m": "{0.month:02d}", "d": "{0.day:02d}",
            "H": "{0.hour:02d}", "i": "{0.minute:02d}", "s": "{0.second:02d}"}
_SEPARATORS = frozenset("-: /.")


@functools.lru_cache(maxsize=256)
def _template(arg: str) -> str | None:
    """A str.format template for a numbers-only format; None for any other."""
    if not arg or not all(c in _NUMERIC or c in _SEPARATORS for c in arg):
        return None
    return "".join(_NUMERIC.get(c, c) for c in arg)


@register.filter(expects_localtime=True, is_safe=False)
def date(value: Any, arg: str | None = None) -> str:
    """Django's `|date` (same output), numbers-only formats of date-times formatted directly."""
    template = _template(arg) if arg is not None and isinstance(value, dt.datetime) else None
    if template is None:
        return django_date(value, arg)
    return template.format(value)
