"""The sidebar's language switch (Русский / English): the browser's language first, then the
visitor's choice, kept for the session (:mod:`clustering.i18n` holds the catalogs)."""
from __future__ import annotations

import streamlit as st

from clustering import i18n

#: The session-state key (and widget key) of the chosen language.
KEY = "cm_lang"
#: The language last chosen (the switch's own value is unset by a click on the chosen option).
KEPT = "cm_language"


def browser_language() -> str:
    """The interface language of the browser's locale (``st.context.locale``), English when the
    interface does not have it or the browser says none."""
    try:
        locale = st.context.locale
    except Exception:  # noqa: BLE001 - no browser context (a bare script run)
        locale = None
    return i18n.language_of_locale(locale)


def session_choice():
    """The language chosen in the session of the script running in this thread (a callback, a
    fragment), None outside a script run (a job's watching thread)."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    if get_script_run_ctx(suppress_warning=True) is None:
        return None
    return st.session_state.get(KEPT)


i18n.set_language_source(session_choice)


def choose() -> str:
    """Draw the switch in the sidebar and make its language this session's; returns it."""
    chosen = st.session_state.get(KEY)
    if chosen not in i18n.LANGUAGES:  # first visit, or a click on the chosen one unset it
        chosen = st.session_state.get(KEPT) or browser_language()
        st.session_state[KEY] = chosen
    st.session_state[KEPT] = chosen
    i18n.set_language(chosen)
    # One label in both languages: a widget whose label changed would be a new widget.
    st.sidebar.segmented_control("Язык · Language", options=list(i18n.LANGUAGES),
                                 format_func=i18n.LANGUAGES.get, key=KEY,
                                 label_visibility="collapsed")
    return chosen
