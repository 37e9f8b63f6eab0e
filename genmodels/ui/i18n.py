"""The language of a browser session: from a shared link, the sidebar's picker or the browser.

Which language a session speaks, strongest first:

1. ``?lang=zh`` or ``?lang=en`` in the address (also ``zh-CN``, ``zh_CN``, ...): a teacher shares
   one link with the class. It wins, and the session remembers it, because Streamlit drops the
   query string when the student moves to another page.
2. The language picked in the sidebar (``language_picker``), remembered in the session under
   ``genlab_language``; picking one also writes it into the address, so the link can be shared.
3. The browser's own language (``st.context.locale``, the browser's ``navigator.language``):
   any zh-* is Chinese, anything else English.

``install()`` runs first in app.py on every run: it reads the link and hands
``genmodels.i18n`` a resolver, so every ``_()`` in a page (and in a fragment's rerun, which does
not run app.py) speaks the language of the session whose script is running. A background thread
has no session: there the resolver says nothing and ``genmodels.i18n`` falls back to the locale
variables, which is why exceptions carry lazy ``L_`` texts, translated where they are shown.

Switching language touches nothing but ``genlab_language`` (and the picker's own state): the
session's models, its job and every page's settings stay as they are.
"""

from __future__ import annotations

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from genmodels import i18n
from genmodels.i18n import LANGUAGES, _, normalize

LANGUAGE = "genlab_language"  # the session's chosen language, a key of LANGUAGES ("en", "zh_CN")
PICKER = "genlab_language_picker"  # the sidebar selectbox's own state
QUERY = "lang"  # ?lang=zh / ?lang=en
URL_CODE = {"en": "en", "zh_CN": "zh"}  # what the address shows for each language


def _session_resolver() -> str | None:
    """What ``genmodels.i18n.language()`` asks: the running session's language, or None outside a
    session's script (a job's thread, the CLI, a unit test), where the locale variables decide."""
    if get_script_run_ctx(suppress_warning=True) is None:
        return None
    chosen = st.session_state.get(LANGUAGE)
    if chosen in LANGUAGES:
        return chosen
    return normalize(st.context.locale)


def session_language() -> str:
    """The language of this session now: ``?lang=`` (remembered), else the sidebar's choice, else
    the browser's language."""
    asked = st.query_params.get(QUERY)
    if asked:
        language = normalize(asked)
        if st.session_state.get(LANGUAGE) != language:
            st.session_state[LANGUAGE] = language
        return language
    chosen = st.session_state.get(LANGUAGE)
    if chosen in LANGUAGES:
        return chosen
    return normalize(st.context.locale)


def install() -> str:
    """Called first in app.py, before any text is drawn: make ``_()`` follow this session's
    language for the rest of the run (and in fragment reruns), and return that language."""
    i18n.set_resolver(_session_resolver)
    return session_language()


def _picked() -> None:
    """The picker changed: remember the language and put it in the address (one link to share)."""
    language = st.session_state[PICKER]
    st.session_state[LANGUAGE] = language
    st.query_params[QUERY] = URL_CODE[language]


def keep_link_in_sync() -> None:
    """Once a language was chosen (by a link or the picker), keep ``?lang=`` in the address: moving
    to another page drops the query string, and the address should stay a link to share."""
    chosen = st.session_state.get(LANGUAGE)
    if chosen in LANGUAGES and st.query_params.get(QUERY) != URL_CODE[chosen]:
        st.query_params[QUERY] = URL_CODE[chosen]


def language_picker() -> None:
    """The sidebar's language switch (English / 简体中文). It changes the language key only."""
    current = session_language()
    if st.session_state.get(PICKER) != current:  # follow a ?lang= link or the browser
        st.session_state[PICKER] = current
    st.selectbox(_("Language"), list(LANGUAGES), format_func=LANGUAGES.__getitem__, key=PICKER,
                 on_change=_picked)
    keep_link_in_sync()
