"""Repeat a saved run: upload its configuration JSON (and its CSV when it used one)."""
from __future__ import annotations

import json

import streamlit as st

from clustering import config as cfg
from clustering.errors import ClusteringError
from ui import forms, runs, state, widgets
from ui import methods as labels


def _use_data(data: dict, csv: bytes | None) -> None:
    """Make the data a configuration describes the session's data (unless it already is)."""
    if state.data_spec() != data or state.dataset() is None:
        ds = runs.load_data(data, csv)
        name = data.get("name") or data.get("file_name") or data.get("path", "data")
        state.set_dataset(ds, dict(data), f"{name} (from a configuration)")


def _failed(err: Exception) -> None:
    state.flash(str(err) if isinstance(err, ClusteringError) else
                f"The configuration could not be applied ({type(err).__name__}: {err}).",
                "error")


def _apply(method: str, key_prefix: str, text: bytes, csv: bytes | None) -> bool:
    """on_click: rebuild the data if needed, fill the settings in, start the run; True when it
    started (else the reason is shown on the next run)."""
    try:
        state.refresh()  # callbacks run before the script: the workspace as it is now
        config = cfg.load_config(text)
        if config.method != method:
            raise ClusteringError(f"method: this configuration is for {config.method!r}; "
                                  f"open its page to repeat it.")
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
        state.flash("Repeating the saved run.", "info")
        return True
    except Exception as err:  # shown on the next run as a message
        _failed(err)
        return False


def _apply_comparison(text: bytes, csv: bytes | None) -> bool:
    """on_click: rebuild the data if needed and repeat every method of a saved comparison;
    True when it started."""
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

        state.start_job("compare", target, "Comparison",
                        config=runs.job_config("compare", methods, config.data))
        state.flash("Repeating the saved comparison.", "info")
        return True
    except Exception as err:
        _failed(err)
        return False


def rerun(config: dict) -> bool:
    """on_click: run a recorded configuration again (a job a server restart interrupted) on the
    workspace's data; True when it started, else the refusal is shown on the next run."""
    text = json.dumps(config).encode()
    if config.get("format") == cfg.COMPARISON_FORMAT:
        return _apply_comparison(text, None)
    method = config.get("method")
    return _apply(method, labels.form_key(method) or method, text, None)


def _csv_for(data: dict, key_prefix: str):
    """The table a csv-based configuration needs (an uploader); ``(ready, bytes or None)``."""
    if data["source"] != "csv" or state.data_spec() == data:
        return True, None
    csv_up = st.file_uploader(widgets.md_escape(f"The run used the table "
                                                f"{data.get('file_name')!r}: upload it"),
                              type=["csv", "txt", "tsv"], key=f"{key_prefix}_cfg_csv")
    if csv_up is None:
        return False, None
    return True, csv_up.getvalue()


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


def comparison_loader(disabled: bool = False) -> None:
    """An expander to upload a saved comparison (JSON) and repeat it."""
    with st.expander("Repeat a saved comparison (upload its configuration JSON)"):
        text, config = _uploaded("Comparison configuration (.json)", "cmp_cfg_upload",
                                 cfg.load_comparison)
        if config is None:
            return
        st.text("\n".join(f"{labels.compare_label(m)}: "
                          + ", ".join(f"{k} = {v}" for k, v in p.items())
                          for m, p in config.methods.items()))
        ready, csv = _csv_for(config.data, "cmp")
        if not ready:
            return
        st.button("Apply and run", key="cmp_cfg_apply", type="primary",
                  on_click=_apply_comparison, args=(text, csv), disabled=disabled,
                  icon=":material/replay:")


def config_loader(method: str, key_prefix: str, disabled: bool = False) -> None:
    """An expander to upload a configuration and repeat the run it describes."""
    with st.expander("Repeat a saved run (upload its configuration JSON)"):
        text, config = _uploaded("Run configuration (.json)", f"{key_prefix}_cfg_upload",
                                 cfg.load_config)
        if config is None:
            return
        if config.method != method:
            st.error(widgets.md_escape(f"This configuration is for the method {config.method!r}, "
                                       "not this page's."))
            return
        summary = ", ".join(f"{k} = {v}" for k, v in config.params.items())
        st.text(f"{config.method}: {summary}")
        ready, csv = _csv_for(config.data, key_prefix)
        if not ready:
            return
        st.button("Apply and train", key=f"{key_prefix}_cfg_apply", type="primary",
                  on_click=_apply, args=(method, key_prefix, text, csv), disabled=disabled,
                  icon=":material/replay:")
