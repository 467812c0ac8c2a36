"""The app's names for the registered methods (:mod:`clustering.registry`), in one place.

A method's page title, page file, the prefix of its settings' widget keys, its Compare label and
its sidebar word are fields of its registry entry; the comparison ("compare"), a kind of result
but no method, is added here. The mappings (:data:`RESULT_TITLES`, ...) are read from the
registry each time, so a method registered later is in them.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Callable, Optional

from clustering import registry
from clustering.i18n import N_, _

#: The comparison of several methods: its title, page and sidebar word.
COMPARE = {"title": N_("Comparison"), "page": "pages/compare.py", "sidebar": N_("comparison")}


def page_specs() -> list:
    """The methods with an app page, in registration order."""
    return [s for s in registry.specs() if s.page]


def result_kinds() -> list[str]:
    """Every kind of result a workspace shows: the methods with a page, then the comparison."""
    return [s.name for s in page_specs()] + ["compare"]


def result_title(method: str) -> str:
    """The title of a run of ``method`` (its page's title; a classic method's own label)."""
    if method == "compare":
        return COMPARE["title"]
    return registry.get(method).label if method in registry.names() else method


def result_page(method: str) -> Optional[str]:
    if method == "compare":
        return COMPARE["page"]
    return registry.get(method).page if method in registry.names() else None


def form_key(method: str) -> Optional[str]:
    """The prefix of ``method``'s setting widgets on its page (``forms.param_inputs``)."""
    return registry.get(method).form_key if method in registry.names() else None


def compare_label(method: str) -> str:
    """Its name in Compare's choices and tables, translated (the registry marks it)."""
    return _(registry.get(method).short) if method in registry.names() else method


def compare_choices() -> list[str]:
    """The methods offered on the Compare page."""
    return [s.name for s in registry.specs() if s.compare]


def sidebar_name(method: str) -> str:
    if method == "compare":
        return COMPARE["sidebar"]
    return registry.get(method).sidebar if method in registry.names() else method


class _View(Mapping):
    """A read-only mapping built from the registry on every access."""

    def __init__(self, build: Callable[[], dict]):
        self._build = build

    def __getitem__(self, key):
        return self._build()[key]

    def __iter__(self):
        return iter(self._build())

    def __len__(self):
        return len(self._build())


#: Each kind of result: its title and its page (the pages' methods and the comparison).
RESULT_TITLES: Mapping[str, str] = _View(lambda: {m: result_title(m) for m in result_kinds()})
RESULT_PAGES: Mapping[str, str] = _View(lambda: {m: result_page(m) for m in result_kinds()})
#: The prefix of each method page's setting widgets.
FORM_KEYS: Mapping[str, str] = _View(lambda: {s.name: s.form_key for s in page_specs()})
#: The methods of the Compare page and their labels.
COMPARE_LABELS: Mapping[str, str] = _View(lambda: {m: compare_label(m)
                                                   for m in compare_choices()})
