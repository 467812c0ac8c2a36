"""Repeat a saved run: upload its configuration JSON (and its CSV when it used one)."""
from __future__ import annotations

import json
from typing import Any, Callable, Optional

import streamlit as st

from clustering import config as cfg
from clustering.errors import ClusteringError
from clustering import i18n
from clustering.i18n import N_, _
from ui import forms, runs, state, widgets
from ui import methods as labels


def _data_name(data: dict) -> str:
    """The data a configuration describes, in words."""
    return str(data.get("name") or data.get("file_name") or data.get("path", _("data")))


def _same_spec(a, b) -> bool:
    """Two data recipes alike as JSON (a stored one reads tuples back as lists)."""
    return json.dumps(a, sort_keys=True, default=str) == json.dumps(b, sort_keys=True, default=str)


def _changes_data(data: dict) -> bool:
    return state.dataset() is None or not _same_spec(state.data_spec(), data)


def _use_data(data: dict, csv: bytes | None) -> None:
    """Make the data a configuration describes the session's data (unless it already is)."""
    if _changes_data(data):
        ds = runs.load_data(data, csv)
        state.set_dataset(ds, dict(data), _("{name} (from a configuration)").format(
            name=_data_name(data)))


def _error_key(key: str) -> str:
    return f"{key}_error"


def _failed(err: Exception, key: str) -> None:
    """Keep the reason a replay (control ``key``) failed, shown next to that control."""
    st.session_state[_error_key(key)] = (
        i18n.text(err) if isinstance(err, ClusteringError) else
        _("The configuration could not be applied ({error_type}: {error}).").format(
            error_type=type(err).__name__, error=err))


def replay_error(key: str) -> None:
    """Draw the reason the replay of the control ``key`` last failed, if it did."""
    message = st.session_state.get(_error_key(key))
    if message:
        st.error(widgets.md_escape(message), icon=":material/error:")


def _ask_then(key: str, data: dict, action, args: tuple) -> None:
    """on_click: ``action(*args)`` now, or, when it would load other data over results, after
    the user confirms (:func:`ui.state.confirm_box`)."""
    st.session_state.pop(_error_key(key), None)
    try:
        state.refresh()  # callbacks run before the script: the workspace as it is now
    except Exception as err:  # noqa: BLE001 - said next to the control
        _failed(err, key)
        return
    if not _changes_data(data) or state.ask(key, _("the run's data ({name})").format(
            name=_data_name(data))):
        action(*args)


def _apply(method: str, key_prefix: str, text: bytes, csv: bytes | None,
           key: str | None = None) -> bool:
    """on_click: rebuild the data if needed, fill the settings in, start the run; True when it
    started, else the reason is shown next to the control ``key`` (the Apply button's)."""
    key = key or f"{key_prefix}_cfg_apply"
    st.session_state.pop(_error_key(key), None)
    try:
        state.refresh()  # callbacks run before the script: the workspace as it is now
        config = cfg.load_config(text)
        if config.method != method:
            raise ClusteringError(_("method: this configuration is for {method}; open its page "
                                    "to repeat it.").format(method=repr(config.method)))
        _use_data(config.data, csv)
        ds, spec, token = state.dataset(), state.data_spec(), state.data_token()
        params = dict(config.params)
        runs.preflight(method, params, ds.X)  # refused before the job starts, like the page
        forms.set_values(config.params, key_prefix)  # only for a run that starts
        auto_key = f"{key_prefix}_auto_m"  # the ensemble's "choose M from the curve"
        if auto_key in st.session_state:
            st.session_state[auto_key] = config.params.get("n_clusters") == "auto"

        def target(callback, stop):
            return runs.train(method, params, ds, spec, callback=callback, stop=stop,
                              data_token=token)

        state.start_job(method, target, labels.result_title(method),
                        config=runs.job_config(method, params, config.data))
        state.flash(_("Repeating the saved run."), "info")
        return True
    except Exception as err:  # shown next to the control on the next run
        _failed(err, key)
        return False


def _apply_comparison(text: bytes, csv: bytes | None, key: str = "cmp_cfg_apply") -> bool:
    """on_click: rebuild the data if needed and repeat every method of a saved comparison;
    True when it started, else the reason is shown next to the control ``key``."""
    st.session_state.pop(_error_key(key), None)
    try:
        state.refresh()
        config = cfg.load_comparison(text)
        _use_data(config.data, csv)
        ds, spec, token = state.dataset(), state.data_spec(), state.data_token()
        methods = {m: dict(p) for m, p in config.methods.items()}
        runs.preflight_comparison(methods, ds.X)  # refused before the job starts, like the page
        st.session_state["cmp_methods"] = [m for m in methods if m in labels.compare_choices()]

        def target(callback, stop):
            return runs.compare(methods, ds, spec, callback=callback, stop=stop,
                                data_token=token)

        state.start_job("compare", target, N_("Comparison"),
                        config=runs.job_config("compare", methods, config.data))
        state.flash(_("Repeating the saved comparison."), "info")
        return True
    except Exception as err:
        _failed(err, key)
        return False


def _rerun_now(config: dict, key: str, then: Optional[Callable[[], Any]] = None) -> bool:
    """Run a recorded configuration again; ``then()`` once it started. True when it started."""
    text = json.dumps(config).encode()
    if config.get("format") == cfg.COMPARISON_FORMAT:
        started = _apply_comparison(text, None, key)
    else:
        method = config.get("method")
        started = _apply(method, labels.form_key(method) or method, text, None, key)
    if started and then is not None:
        then()
    return started


def rerun(config: dict, key: str, then: Optional[Callable[[], Any]] = None) -> None:
    """on_click of the control ``key``: run a recorded configuration again (a job a server
    restart interrupted), asking first when it would load other data over results; ``then()``
    once it started. :func:`rerun_status` draws the question or the refusal."""
    _ask_then(key, dict(config.get("data") or {}), _rerun_now, (config, key, then))


def rerun_status(config: dict, key: str, then: Optional[Callable[[], Any]] = None) -> None:
    """Next to the control ``key`` of :func:`rerun`: its question, or why it did not start."""
    state.confirm_box(key, on_confirm=_rerun_now, args=(config, key, then))
    replay_error(key)


def _csv_for(data: dict, key_prefix: str):
    """The table a csv-based configuration needs (an uploader); ``(ready, bytes or None)``.
    A file other than the run's is refused here, in words."""
    if data["source"] != "csv" or _same_spec(state.data_spec(), data):
        return True, None
    name = data.get("file_name") or _("its table")
    csv_up = st.file_uploader(widgets.md_escape(
        _("The run used the table {name}: upload it").format(name=repr(name))),
                              type=["csv", "txt", "tsv", "xlsx", "xlsm", "xls", "ods"],
                              key=f"{key_prefix}_cfg_csv")
    if csv_up is None:
        return False, None
    raw = csv_up.getvalue()
    digest = cfg.sha256_of(raw)
    if digest != data.get("sha256"):
        st.error(widgets.md_escape(
            _("This run was made on a different table: expected SHA-256 {expected} ({name}), the "
              "file {file} has {digest}; upload that table.").format(
                expected=data.get("sha256"), name=name,
                file=repr(csv_up.name), digest=digest)),
            icon=":material/error:")
        return False, None
    return True, raw


def _uploaded(label: str, key: str, load):
    """An uploader of a configuration JSON: ``(text, load(text))``, ``(None, None)`` when nothing
    is uploaded or it does not load (the reason is shown)."""
    up = st.file_uploader(label, type=["json"], key=key)
    if up is None:
        return None, None
    text = up.getvalue()
    try:
        return text, load(text)
    except Exception as err:
        widgets.show_error(err)
        return None, None


def _loader_open(key_prefix: str, apply_key: str) -> bool:
    """Whether a loader's expander opens: while it holds an upload, a question or an error."""
    ss = st.session_state
    return any(ss.get(k) is not None for k in (f"{key_prefix}_cfg_upload", f"{key_prefix}_cfg_csv",
                                               f"{apply_key}_ask", _error_key(apply_key)))


def _forget(key: str) -> None:
    """Nothing (loadable) uploaded: no question and no error of an earlier file stay."""
    for k in (f"{key}_ask", _error_key(key)):
        st.session_state.pop(k, None)


def comparison_loader(disabled: bool = False) -> None:
    """An expander to upload a saved comparison (JSON) and repeat it."""
    key = "cmp_cfg_apply"
    with st.expander(_("Repeat a saved comparison (upload its configuration JSON)"),
                     expanded=_loader_open("cmp", key)):
        text, config = _uploaded(_("Comparison configuration (.json)"), "cmp_cfg_upload",
                                 cfg.load_comparison)
        if config is None:
            _forget(key)
            return
        st.text("\n".join(f"{labels.compare_label(m)}: "
                          + ", ".join(f"{k} = {v}" for k, v in p.items())
                          for m, p in config.methods.items()))
        ready, csv = _csv_for(config.data, "cmp")
        if not ready:
            return
        st.button(_("Apply and run"), key=key, type="primary", on_click=_ask_then,
                  args=(key, config.data, _apply_comparison, (text, csv, key)),
                  disabled=disabled, icon=":material/replay:")
        state.confirm_box(key, on_confirm=_apply_comparison, args=(text, csv, key))
        replay_error(key)


def config_loader(method: str, key_prefix: str, disabled: bool = False) -> None:
    """An expander to upload a configuration and repeat the run it describes."""
    key = f"{key_prefix}_cfg_apply"
    with st.expander(_("Repeat a saved run (upload its configuration JSON)"),
                     expanded=_loader_open(key_prefix, key)):
        text, config = _uploaded(_("Run configuration (.json)"), f"{key_prefix}_cfg_upload",
                                 cfg.load_config)
        if config is None:
            _forget(key)
            return
        if config.method != method:
            st.error(widgets.md_escape(_("This configuration is for the method {method}, not "
                                         "this page's.").format(method=repr(config.method))))
            return
        summary = ", ".join(f"{k} = {v}" for k, v in config.params.items())
        st.text(f"{config.method}: {summary}")
        ready, csv = _csv_for(config.data, key_prefix)
        if not ready:
            return
        args = (method, key_prefix, text, csv, key)
        st.button(_("Apply and train"), key=key, type="primary", on_click=_ask_then,
                  args=(key, config.data, _apply, args), disabled=disabled,
                  icon=":material/replay:")
        state.confirm_box(key, on_confirm=_apply, args=args)
        replay_error(key)
