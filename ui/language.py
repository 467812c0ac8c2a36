"""The sidebar's language switch (Русский / English): the browser's language first, then the
visitor's choice, kept for the session and in the workspace (:mod:`clustering.i18n` holds the
catalogs)."""
from __future__ import annotations

import logging

import streamlit as st

from clustering import i18n

log = logging.getLogger("clustermap.language")

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


def _remember(workspace, code: str) -> None:
    """Keep ``code`` in ``workspace`` when it is not already its language (a store that cannot
    be written only loses the preference, logged)."""
    if workspace is None or getattr(workspace, "language", None) == code:
        return
    try:
        workspace.set_language(code)
    except Exception:  # noqa: BLE001 - a preference; the page goes on
        log.warning("the workspace's language could not be kept", exc_info=True)


def begin() -> None:
    """Speak the session's language (or the browser's) until :func:`choose` has read the
    workspace's: the messages of opening the workspace are in it."""
    code = st.session_state.get(KEPT)
    i18n.set_language(code if code in i18n.LANGUAGES else browser_language())


def choose(workspace=None) -> str:
    """Draw the switch in the sidebar and make its language this session's; returns it.

    The language is the one chosen in this session, else the one last chosen in ``workspace``
    (:attr:`ui.workspace.Workspace.language`: a reload, another tab, a new visit), else the
    browser's; a choice is kept in the workspace too."""
    chosen = st.session_state.get(KEY)
    if chosen not in i18n.LANGUAGES:  # first visit, or a click on the chosen one unset it
        remembered = getattr(workspace, "language", None)
        chosen = (st.session_state.get(KEPT) or
                  (remembered if remembered in i18n.LANGUAGES else None) or browser_language())
        st.session_state[KEY] = chosen
    st.session_state[KEPT] = chosen
    i18n.set_language(chosen)
    _remember(workspace, chosen)
    # One label in both languages: a widget whose label changed would be a new widget.
    st.sidebar.segmented_control("Язык · Language", options=list(i18n.LANGUAGES),
                                 format_func=i18n.LANGUAGES.get, key=KEY,
                                 label_visibility="collapsed")
    return chosen
