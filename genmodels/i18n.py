"""Two languages, the gettext way: English in the code, Simplified Chinese in a message catalog.

Every string a person reads goes through one of these:

- ``_("Trained {n} epochs", n=5)``: translate now (at render time, in the page's language) and fill
  the named placeholders. Placeholders are always named, so a translation may reorder them.
- ``ngettext("{n} model", "{n} models", n, n=n)``: the plural form the language needs (Chinese
  has one form, English two).
- ``L_("The file {name} is not an image", name=...)``: a *lazy* text, translated each time it is
  shown. Exceptions and module-level constants use it, because they are made once (at import, or
  in a training thread) but read later by people in different languages.
- ``N_("Ring")``: only marks a constant for extraction; translate it where it is shown with
  ``_(value)``.

The catalog is ``genmodels/locale/zh_CN/LC_MESSAGES/genmodels.po`` (any translation tool edits
it); Babel extracts the strings (``make i18n``) and compiles the catalog in memory on first use,
so there is no generated ``.mo`` file to keep in step. Which language is "now": the UI installs a
resolver (the browser session's language, ``genmodels.ui.i18n``); the CLI and the library follow
LC_ALL / LC_MESSAGES / LANG; ``using(language)`` overrides both for a block (tests, a job thread).
"""

from __future__ import annotations

import contextlib
import functools
import gettext
import io
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from string import Formatter

LANGUAGES = {"en": "English", "zh_CN": "简体中文"}
DEFAULT_LANGUAGE = "en"
DOMAIN = "genmodels"
LOCALE_DIR = Path(__file__).parent / "locale"

_resolver: Callable[[], str | None] | None = None
_override = threading.local()


def normalize(tag: str | None) -> str:
    """A language tag from a browser, a link or the environment -> a key of LANGUAGES.

    Any Chinese tag (zh, zh-CN, zh_CN.UTF-8, zh-Hans) -> "zh_CN"; anything else -> "en"."""
    tag = (tag or "").strip().lower().replace("-", "_")
    return "zh_CN" if tag.startswith("zh") else DEFAULT_LANGUAGE


def environment_language() -> str:
    """The language of the usual locale variables, in gettext's order of precedence."""
    for name in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(name, "").split(":")[0]
        if value:
            return normalize(value)
    return DEFAULT_LANGUAGE


def set_resolver(resolver: Callable[[], str | None] | None) -> None:
    """Install the function that says the current language (the UI: the browser session's)."""
    global _resolver
    _resolver = resolver


def language() -> str:
    """The language to speak now: a ``using`` block's, else the resolver's, else the environment's."""
    forced = getattr(_override, "language", None)
    if forced:
        return forced
    if _resolver is not None:
        try:
            chosen = _resolver()
        except Exception:  # no session here (a background thread): fall back to the environment
            chosen = None
        if chosen:
            return normalize(chosen)
    return environment_language()


@contextlib.contextmanager
def using(lang: str) -> Iterator[None]:
    """Speak ``lang`` inside the block, in this thread only."""
    previous = getattr(_override, "language", None)
    _override.language = normalize(lang)
    try:
        yield
    finally:
        _override.language = previous


@functools.cache
def translations(lang: str) -> gettext.NullTranslations:
    """The catalog of ``lang``, compiled from its .po file in memory (English: no catalog)."""
    po_path = LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
    if lang == DEFAULT_LANGUAGE or not po_path.exists():
        return gettext.NullTranslations()
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with po_path.open("rb") as po_file:
        catalog = read_po(po_file, locale=lang, domain=DOMAIN)
    compiled = io.BytesIO()
    write_mo(compiled, catalog, use_fuzzy=False)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


def _fill(text: str, values: dict) -> str:
    return text.format(**values) if values else text


def _(message: str, **values) -> str:
    """``message`` in the current language, with its named placeholders filled."""
    return _fill(translations(language()).gettext(message), values)


def ngettext(singular: str, plural: str, count: int, **values) -> str:
    """The form of ``singular``/``plural`` that ``count`` needs in the current language, filled."""
    return _fill(translations(language()).ngettext(singular, plural, count), values)


def listing(items) -> str:
    """Words or phrases as the current language lists them: "a, b, c" in English, "a、b、c" in Chinese."""
    # TRANSLATORS: the separator between the items of a list of words (Chinese uses 、)
    return _(", ").join(str(item) for item in items)


class Listed:
    """Items to list in a lazy text's placeholder, as whoever reads the text lists them (``listing``):
    ``L_("... ({formats})", formats=Listed(["PNG", "GIF"]))`` reads "PNG, GIF" and "PNG、GIF"."""

    def __init__(self, items):
        self.items = tuple(str(item) for item in items)

    def __format__(self, spec: str) -> str:
        return format(listing(self.items), spec)


def N_(message: str) -> str:
    """Mark ``message`` for extraction only; it is translated where it is shown."""
    return message


class LazyText(str):
    """A message translated each time it is shown (``str()``, formatting, Markdown).

    It is a ``str`` (the English text) so code that compares, logs or stores it keeps working;
    ``str(text)`` and ``format`` give the current language."""

    def __new__(cls, message: str, values: dict):
        text = super().__new__(cls, _fill(message, values))
        text.message, text.values = message, values
        return text

    def __str__(self) -> str:
        values = {key: str(value) if isinstance(value, LazyText) else value
                  for key, value in self.values.items()}
        return _(self.message, **values)

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)

    def __reduce__(self):
        # Pickle and copy as the message and its values, still lazy: st.cache_data pickles what it
        # returns, copy.deepcopy copies datasets and presets, and an exception's args go with it.
        return LazyText, (self.message, self.values)


def L_(message: str, **values) -> LazyText:
    """A lazy ``_``: for exception messages and constants made before anyone reads them."""
    return LazyText(message, values)


def placeholders(text: str) -> set[str]:
    """The named placeholders of a message ({name} -> "name"); the catalog test compares them."""
    return {field for _literal, field, _spec, _conv in Formatter().parse(text) if field}
