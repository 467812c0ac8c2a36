"""The workbench's languages: message catalogs (gettext, kept with Babel) and numbers as each
language writes them.

Every user-visible sentence is written in English in the code, marked ``_("...")`` (or
``N_("...")`` where it is only declared and translated when shown), and translated from the
catalog ``locales/<lang>/LC_MESSAGES/clustermap.po``. The catalogs are the standard form:
``pybabel extract -F babel.cfg -k N_ -o locales/clustermap.pot .`` collects the messages,
``pybabel update -i locales/clustermap.pot -d locales -D clustermap`` merges them into each
language, a translator fills in the ``msgstr`` lines. The ``.po`` file is the source of truth: it
is compiled (Babel's ``write_mo``) in memory the first time a language is used, so no compiled
file can go stale; the test command compiles every catalog as a check and fails on a missing or
fuzzy translation (``tests/test_i18n.py``).

The language is per caller: :func:`set_language` sets it for the current thread or task (a
``contextvars`` variable: each Streamlit session's script runs in its own thread, so two visitors
in two languages do not see each other's), :func:`gettext` reads it; a thread that set none asks
the source the app gives (:func:`set_language_source`: the session's choice). Parameters stay data: a
message is translated first and formatted after, ``_("Column {name} ...").format(name=col)``.
Without a catalog for the language (or a message missing from it) the English text is shown.
"""
from __future__ import annotations

import contextvars
import gettext as _gettext
import io
import numbers
import os
import string
import threading
from functools import lru_cache
from pathlib import Path
from typing import Callable, Optional

__all__ = ["LANGUAGES", "DEFAULT_LANGUAGE", "LANG_ENV", "LOCALE_DIR", "DOMAIN", "gettext", "_",
           "N_", "ngettext", "set_language", "set_language_source", "language", "check_language", "language_of_locale",
           "language_from_env", "catalog_path", "separators", "format_number", "fmt", "parse_number", "Message",
           "Joined", "Text", "text", "to_data", "from_data"]

#: The languages of the interface, by code: the name each is chosen by (in its own language).
LANGUAGES = {"en": "English", "ru": "Русский"}
#: The language of the code's own messages (and of a caller that sets none).
DEFAULT_LANGUAGE = "en"
#: The gettext domain: the catalogs are ``<LOCALE_DIR>/<lang>/LC_MESSAGES/<DOMAIN>.po``.
DOMAIN = "clustermap"
LOCALE_DIR = Path(__file__).resolve().parents[1] / "locales"
#: The environment variable the command line reads its language from (as ``LANG=ru_RU.UTF-8``).
LANG_ENV = "LANG"

_current: contextvars.ContextVar[Optional[str]] = contextvars.ContextVar("clustermap_language",
                                                                        default=None)
_lock = threading.Lock()
#: Where a thread that set no language finds one (:func:`set_language_source`), or None.
_source: Optional[Callable[[], Optional[str]]] = None


def check_language(code: str) -> str:
    """``code`` if it is one of :data:`LANGUAGES`, else a ``ConfigError`` naming them."""
    from clustering.errors import ConfigError

    if code not in LANGUAGES:
        raise ConfigError(f"language: {code!r} is not one of "
                          f"{', '.join(repr(c) for c in LANGUAGES)}.")
    return code


def set_language(code: str) -> None:
    """Make ``code`` (one of :data:`LANGUAGES`) the language of this thread's messages."""
    _current.set(check_language(code))


def set_language_source(source: Optional[Callable[[], Optional[str]]]) -> None:
    """Where a thread that set no language asks for one: ``source()`` returns a language code or
    None (the app's: the visitor's choice in the session of the running script, so that a
    button's callback or a fragment's re-run, which run before or without the entry script,
    speak the visitor's language)."""
    global _source
    _source = source


def language() -> str:
    """The language of this thread's messages: the one it set (:func:`set_language`), else
    the source's (:func:`set_language_source`), else :data:`DEFAULT_LANGUAGE`."""
    code = _current.get()
    if code is None and _source is not None:
        try:
            code = _source()
        except Exception:  # noqa: BLE001 - no session to ask: the default
            code = None
    return code if code in LANGUAGES else DEFAULT_LANGUAGE


def language_of_locale(locale: Optional[str]) -> str:
    """The interface language for a locale such as ``"ru-RU"``, ``"ru_RU.UTF-8"`` or ``"en"``:
    its language when the interface has it, else :data:`DEFAULT_LANGUAGE`."""
    code = (locale or "").replace("-", "_").split("_")[0].split(".")[0].lower()
    return code if code in LANGUAGES else DEFAULT_LANGUAGE


def language_from_env(environ=None) -> str:
    """The command line's language from ``LC_ALL``, ``LC_MESSAGES`` or :data:`LANG_ENV`, as
    gettext reads them (the first that is set)."""
    env = os.environ if environ is None else environ
    for name in ("LC_ALL", "LC_MESSAGES", LANG_ENV):
        if env.get(name):
            return language_of_locale(env[name])
    return DEFAULT_LANGUAGE


def catalog_path(code: str) -> Path:
    """Where the catalog of the language ``code`` is kept."""
    return LOCALE_DIR / code / "LC_MESSAGES" / f"{DOMAIN}.po"


@lru_cache(maxsize=None)
def _translations(code: str) -> _gettext.NullTranslations:
    """The compiled catalog of ``code`` (English: none), compiled from its ``.po`` once."""
    path = catalog_path(code)
    if code == DEFAULT_LANGUAGE or not path.exists():
        return _gettext.NullTranslations()
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with _lock, path.open("rb") as fh:
        catalog = read_po(fh, locale=code, domain=DOMAIN)
    buf = io.BytesIO()
    write_mo(buf, catalog, use_fuzzy=False)  # a fuzzy entry is not a translation
    buf.seek(0)
    return _gettext.GNUTranslations(buf)


def gettext(message: str) -> str:
    """``message`` in the current language (:func:`set_language`)."""
    return _translations(language()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The singular or plural form of a message for ``n``, in the current language (Russian has
    three forms: 1 объект, 2 объекта, 5 объектов)."""
    return _translations(language()).ngettext(singular, plural, n)


_ = gettext


def N_(message: str) -> str:
    """Mark ``message`` for the catalogs without translating it here (a declaration translated
    where it is shown)."""
    return message


# ------------------------------------------------------------------------------ numbers
#: Babel writes Russian thousands with a no-break space (CLDR); the interface uses the narrow
#: no-break space (a thin space that does not break), as Russian typography sets numbers.
_THIN = "\u202f"


@lru_cache(maxsize=None)
def separators(code: Optional[str] = None) -> str:
    """The language's decimal and thousands separators, in that order (``".,"`` English,
    ``",\u202f"`` Russian): Babel's (CLDR), a no-break space made a thin one. The one rule
    :func:`format_number`, :func:`fmt` and the figures (Plotly's ``separators``) follow."""
    from babel.numbers import get_decimal_symbol, get_group_symbol

    code = code or DEFAULT_LANGUAGE
    return get_decimal_symbol(code) + get_group_symbol(code).replace("\u00a0", _THIN)


def _localised(text: str, code: str) -> str:
    """``text`` written with English separators (``1,234.5``) in ``code``'s."""
    decimal, group = separators(code)
    return text.translate({ord("."): decimal, ord(","): group}) if code != "en" else text


def format_number(value, digits: int = 4, *, code: Optional[str] = None) -> str:
    """``value`` with at most ``digits`` decimals, as the language writes numbers: English
    ``12,345.6789``, Russian ``12 345,6789`` (decimal comma, thin-space thousands), Babel's
    number formatting. Whole numbers get no decimals; NaN reads as an em dash."""
    from babel.numbers import format_decimal

    code = code or language()
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    if number != number:
        return "—"
    pattern = "#,##0" + ("." + "#" * digits if digits > 0 else "")
    return _localised(format_decimal(number, format=pattern, locale="en"), code)


def fmt(value, spec: str = "", *, code: Optional[str] = None) -> str:
    """``format(value, spec)`` as the language writes numbers: the same digits as ``spec``
    gives in English (``".2f"``, ``".0%"``, ``".4g"``, ``","``), with a decimal comma and
    thin-space thousands in Russian (``fmt(1234.5, ",.1f")`` -> ``"1 234,5"``)."""
    return _LocalFormatter(code or language()).format_field(value, spec)


def parse_number(text: str) -> float:
    """A number typed either way: ``"1 234,5"``, ``"1234.5"``, ``"1,234.5"``, ``"-0,25"``; a
    ``ValueError`` naming the text when it is none."""
    raw = str(text).strip()
    cleaned = "".join(ch for ch in raw if ch not in " \u00a0\u202f\u2009'")
    if "," in cleaned and "." in cleaned:  # the later one is the decimal separator
        cleaned = (cleaned.replace(",", "") if cleaned.rfind(".") > cleaned.rfind(",")
                   else cleaned.replace(".", "").replace(",", "."))
    elif cleaned.count(",") == 1:
        cleaned = cleaned.replace(",", ".")
    try:
        return float(cleaned)
    except ValueError:
        raise ValueError(f"{raw!r} is not a number") from None


# ------------------------------------------------------------------------------ deferred messages
class _LocalFormatter(string.Formatter):
    """``str.format`` that writes a number parameter as the language does: formatted by its spec
    (``{p:.3g}``, ``{n:,}``) as in English, then, in Russian, with a decimal comma and thin-space
    thousands. Other parameters (a quoted cell, a column name) are data and stay as they are."""

    def __init__(self, code: str):
        self.code = code

    def format_field(self, value, format_spec):
        text = super().format_field(value, format_spec)
        if isinstance(value, numbers.Number) and not isinstance(value, bool):
            text = _localised(text, self.code)
        return text


class _Sentence:
    """What a :class:`Message` and a :class:`Joined` share: English as ``str``, and ``+`` with
    text makes a concatenation that stays translatable."""

    __slots__ = ()

    def render(self, translate: bool = True) -> str:  # pragma: no cover - each defines it
        raise NotImplementedError

    def __str__(self) -> str:
        return self.render(translate=False)

    def __add__(self, other):  # message + "text": a concatenation that stays translatable
        return Joined([self, other], "")

    def __radd__(self, other):
        return Joined([other, self], "")


class Message(_Sentence):
    """A sentence kept as its English template and its parameters, translated when it is shown.

    The backend raises its errors with one (``DataError(N_("Row {row}: {value} is not a
    number."), row=5, value="'abc'")``) because it cannot know the visitor's language (it may run
    on a Dask worker); ``str(message)`` is the English sentence, :meth:`render` the sentence in
    the current language with the same parameters. A parameter may itself be a :class:`Message`
    (or a :class:`Joined`), rendered in the same language. A template without parameters is not
    formatted (a finished sentence may hold braces from the data)."""

    __slots__ = ("template", "params")

    def __init__(self, template: str, /, **params):
        self.template = str(template)
        self.params = params

    def render(self, translate: bool = True) -> str:
        """The sentence, in the current language when ``translate``, else in English."""
        code = language() if translate else DEFAULT_LANGUAGE
        # gettext("") is the catalog's header, never a translation
        template = (_translations(code).gettext(self.template) if translate and self.template
                    else self.template)
        if not self.params:
            return template
        values = {k: _render(v, translate) for k, v in self.params.items()}
        try:
            return _LocalFormatter(code).vformat(template, (), values)
        except (KeyError, IndexError, ValueError):  # a damaged translation: the English
            if template == self.template:
                raise
            return _LocalFormatter(code).vformat(self.template, (), values)

    def __repr__(self) -> str:
        return f"Message({self.template!r}, **{self.params!r})"

    def __eq__(self, other) -> bool:
        return (isinstance(other, Message) and other.template == self.template
                and other.params == self.params)

    def __hash__(self) -> int:
        return hash(self.template)

    def __getstate__(self):
        return (self.template, self.params)

    def __setstate__(self, state):
        self.template, self.params = state


class Joined(_Sentence):
    """Parts (sentences, messages) joined by ``sep``, each rendered in the language it
    is shown in; ``capitalize`` makes the first letter of the whole a capital (after
    translation)."""

    __slots__ = ("parts", "sep", "capitalize")

    def __init__(self, parts, sep: str = "; ", capitalize: bool = False):
        self.parts = list(parts)
        self.sep = sep
        self.capitalize = capitalize

    def render(self, translate: bool = True) -> str:
        out = self.sep.join(_render(p, translate) for p in self.parts)
        return out[:1].upper() + out[1:] if self.capitalize else out

    def __getstate__(self):
        return (self.parts, self.sep, self.capitalize)

    def __setstate__(self, state):
        self.parts, self.sep, self.capitalize = state


class Text(str):
    """The English text of a message that is kept as data (a table's cell, a summary's
    warning, a progress line): a ``str`` equal to the English sentence, everywhere a ``str`` is,
    that also carries its :class:`Message` (``.message``), so :func:`text` shows it in the
    reader's language. ``Text(message)``; a store that keeps only text keeps the English."""

    def __new__(cls, message):
        self = super().__new__(cls, str(message))
        self.message = message if isinstance(message, (Message, Joined)) else Message(str(message))
        return self

    def __reduce__(self):
        return (Text, (self.message,))


def _render(value, translate: bool):
    """A parameter for :meth:`Message.render`: a message rendered, anything else as it is."""
    if isinstance(value, (Message, Joined)):
        return value.render(translate)
    if isinstance(value, Text):
        return value.message.render(translate)
    return value


def text(obj) -> str:
    """What ``obj`` says in the current language: a :class:`Message`, an error raised with one
    (``clustering.errors.ClusteringError``) or anything else as ``str``."""
    message = getattr(obj, "message", None)
    if isinstance(message, (Message, Joined)):
        return message.render()
    if isinstance(obj, (Message, Joined)):
        return obj.render()
    return str(obj)


def to_data(obj):
    """``obj`` (a :class:`Message`, a :class:`Joined`, text or a number) as plain JSON data, for
    a store that keeps messages to be shown later in the reader's language (:func:`from_data`)."""
    if isinstance(obj, Message):
        return {"template": obj.template,
                "params": {k: to_data(v) for k, v in obj.params.items()}}
    if isinstance(obj, Joined):
        return {"parts": [to_data(p) for p in obj.parts], "sep": obj.sep,
                "capitalize": obj.capitalize}
    if isinstance(obj, numbers.Integral) and not isinstance(obj, bool):
        return int(obj)
    if isinstance(obj, numbers.Real) and not isinstance(obj, bool):
        return float(obj)
    return obj if isinstance(obj, (str, bool)) or obj is None else str(obj)


def from_data(data):
    """The message :func:`to_data` wrote; a ``ValueError`` for data it cannot have written."""
    if isinstance(data, dict):
        if set(data) == {"template", "params"} and isinstance(data["template"], str) \
                and isinstance(data["params"], dict):
            return Message(data["template"], **{str(k): from_data(v)
                                                for k, v in data["params"].items()})
        if set(data) == {"parts", "sep", "capitalize"} and isinstance(data["parts"], list):
            return Joined([from_data(p) for p in data["parts"]], str(data["sep"]),
                          bool(data["capitalize"]))
        raise ValueError("not a stored message")
    if data is None or isinstance(data, (str, int, float, bool)):
        return data
    raise ValueError("not a stored message")
