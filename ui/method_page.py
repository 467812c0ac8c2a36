"""The method page template: settings, Train, the saved-run loader and the live panel, from a
method's registry entry (:mod:`clustering.registry`).

A page script calls :func:`render` with its method's name, its caption and, where it draws more
than the generic form, its own ``settings`` function; it keeps only its results view::

    page = method_page.render("som", CAPTION, settings=som_settings, train_label="Train the map")
    page.results(draw_results, "Train the map to see ...")

``settings(page)`` draws the inputs (``page.inputs(...)`` draws parameters from the method's
constraints) and returns the chosen values; ``draw_results(result)`` draws the tabs of a finished
run, the template adds the "Results" heading and the download buttons (the registry's
``downloads``). :func:`results` serves the Compare page too.

The widget keys are the method's ``form_key`` and the parameter's name (``som_rows``), the train
button ``{form_key}_train``, the loader's ``{form_key}_cfg_upload``, as saved workspaces and the
tests know them.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping, Optional

import streamlit as st

from clustering import registry
from ui import configio, forms, live, runs, state, widgets


@dataclass
class MethodPage:
    """What a page's settings and results functions are given."""

    spec: registry.MethodSpec
    ds: Any
    defaults: dict
    running: bool
    busy: bool

    @property
    def key(self) -> str:
        return self.spec.form_key

    @property
    def name(self) -> str:
        return self.spec.name

    def shown(self) -> dict:
        """The parameters the page shows, with their defaults (hidden and server settings left
        out)."""
        hidden = set(self.spec.hidden) | set(runs.SERVER_PARAMS)
        return {k: v for k, v in self.defaults.items() if k not in hidden}

    def field(self, name: str) -> Optional[forms.FieldSpec]:
        """What the form draws for the parameter ``name`` (its constraint's bounds, options)."""
        allowed = (registry.constraints(self.name) or {}).get(name)
        return None if allowed is None else forms.field_spec(allowed)

    def inputs(self, defaults: Mapping[str, Any], *, columns: Optional[int] = None) -> dict:
        """The inputs of ``defaults`` (name -> default), drawn from the method's constraints."""
        return forms.param_inputs(defaults, self.key,
                                  columns=columns or self.spec.form.get("columns", 3),
                                  choices=choices(self.spec), disabled=self.running,
                                  constraints=registry.constraints(self.name))

    def results(self, draw: Callable[[Any], Optional[bool]], empty: str) -> None:
        """The method's results view (:func:`results`)."""
        results(self.name, self.key, draw, empty)


def results(kind: str, key: str, draw: Callable[[Any], Optional[bool]], empty: str, *,
            note: str = "") -> None:
    """The session's result of ``kind`` (a method or "compare") unless its job is running: a
    note saying how to get one (``empty``), or the "Results" heading, ``draw(result)`` (False:
    nothing to download) and the result's downloads (widget keys ``{key}_dl``, ``{key}_dl2``,
    ... one per row), then ``note``."""
    if state.job_running() and state.job().method == kind:
        return
    with widgets.guard():
        res = state.result(kind)
        if res is None:
            st.info(empty, icon=":material/info:")
            return
        st.divider()
        st.subheader("Results")
        if draw(res) is False:
            return
        st.markdown("**Downloads**")
        for i, row in enumerate(download_rows(res)):
            widgets.downloads(row, key=f"{key}_dl" + (str(i + 1) if i else ""))
        if note:
            st.caption(note)


def download_rows(res) -> list:
    """The rows of download buttons of a result: its method's registry ``downloads``, else
    :func:`ui.downloads.download_rows` (a comparison; a method with the default files)."""
    from ui import downloads

    spec = registry.get(res.method) if res.method in registry.names() else None
    rows = registry.resolve(spec.downloads) if spec is not None else None
    return (rows or downloads.download_rows)(res, state.dataset())


def choices(spec: registry.MethodSpec) -> dict:
    """The options a method names itself for parameters without a constraint (``"module:attr"``
    paths resolved)."""
    return {k: list(registry.resolve(v) if isinstance(v, str) else v)
            for k, v in spec.choices.items()}


def default_settings(page: MethodPage) -> dict:
    """The generic form: every shown parameter, laid out in the spec's columns."""
    return page.inputs(page.shown())


def _train(page: MethodPage, values: Mapping[str, Any], label: str) -> None:
    """Check ``values``, refuse what the fit would refuse, start the job."""
    from clustering import config as cfg

    name, ds = page.name, page.ds
    params = cfg.validate_params(name, {**values, **page.spec.app_settings})
    runs.preflight(name, params, ds.X)  # a job above the memory limit never starts
    spec, token = state.data_spec(), state.data_token()

    def target(callback, stop):
        return runs.train(name, params, ds, spec, callback=callback, stop=stop,
                          data_token=token)

    state.start_job(name, target, label, config=runs.job_config(name, params, spec))
    st.rerun()


def render(name: str, caption: str, *, settings: Callable[[MethodPage], dict] = default_settings,
           drawer: Optional[Callable] = None, train_label: str = "Train") -> MethodPage:
    """Draw the method page of ``name``: title, caption, settings (``settings(page)`` returns
    the chosen values), Train, the saved-run loader and the live panel (``drawer(job)`` draws a
    training snapshot). Returns the :class:`MethodPage` for the results view; without data it
    shows the loader and stops the script (``st.stop``)."""
    spec = registry.get(name)
    st.title(spec.label)
    st.caption(caption)
    widgets.flash_messages()
    if not widgets.need_data():
        configio.config_loader(name, spec.form_key)
        st.stop()
    live_slot = st.container()  # the live training panel sits on top
    busy = live.other_job_notice(name)  # says which other training holds the session
    page = MethodPage(spec, state.dataset(), registry.default_params(name),
                      running=state.job_running(), busy=busy)
    with st.container(border=True):
        values = settings(page)
        if st.button(train_label, type="primary", key=f"{spec.form_key}_train",
                     icon=":material/play_arrow:", disabled=page.running or page.busy):
            with widgets.guard():
                _train(page, values, spec.label)
    configio.config_loader(name, spec.form_key, disabled=page.running or page.busy)
    with live_slot, widgets.guard():
        live.live_panel(name, drawer)
    return page
