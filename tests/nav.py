"""A page's navigation read as a screen reader reads it: which links say they are current."""

from __future__ import annotations

from collections import Counter
from html.parser import HTMLParser

from tests.matrix import url_names_in


class _CurrentLinks(HTMLParser):
    """Collects, inside <nav aria-label=LABEL>, the text of each element marked
    aria-current="page" and of each element with the class "active"."""

    def __init__(self, label: str) -> None:
        super().__init__()
        self.label = label
        self.found = False
        self.depth = 0  # > 0 while inside the wanted <nav>
        self.current: list[str] = []
        self.active: list[str] = []
        self._open: list[tuple[str, bool, bool, list[str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "nav" and (self.depth or values.get("aria-label") == self.label):
            self.found = True
            self.depth += 1
        elif self.depth:
            is_current = values.get("aria-current") == "page"
            is_active = "active" in (values.get("class") or "").split()
            if is_current or is_active:
                self._open.append((tag, is_current, is_active, []))

    def handle_endtag(self, tag: str) -> None:
        if tag == "nav" and self.depth:
            self.depth -= 1
        elif self._open and self._open[-1][0] == tag:
            _, is_current, is_active, text = self._open.pop()
            label = " ".join("".join(text).split())
            if is_current:
                self.current.append(label)
            if is_active:
                self.active.append(label)

    def handle_data(self, data: str) -> None:
        for *_, text in self._open:
            text.append(data)


def current_links(response, nav_label: str) -> list[str]:
    """The labels the navigation `nav_label` of the page marks as current; the page must have
    that navigation, and mark the same links with aria-current and the "active" class."""
    parser = _CurrentLinks(nav_label)
    parser.feed(response.content.decode())
    assert parser.found, f'the page has no <nav aria-label="{nav_label}">'
    assert parser.current == parser.active, "aria-current and the active class disagree"
    return parser.current


def has_nav(response, nav_label: str) -> bool:
    parser = _CurrentLinks(nav_label)
    parser.feed(response.content.decode())
    return parser.found


def section_problems(namespace: str, url_names: dict[str, tuple[str, ...]],
                     sections: dict[str, str]) -> list[str]:
    """What is wrong with a portal's section list: a URL of `namespace` in no section, a name
    listed that the namespace no longer has, a name listed in two sections."""
    names = {f"{namespace}:{name}" for name in url_names_in(namespace)}
    counts = Counter(name for listed in url_names.values() for name in listed)
    return ([f"{name}: in no section" for name in sorted(names - sections.keys())]
            + [f"{name}: no such URL" for name in sorted(sections.keys() - names)]
            + [f"{name}: in {count} sections" for name, count in counts.items() if count > 1])
