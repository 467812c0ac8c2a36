"""The method page template: settings (in an expander, closed while a run is live), "Suggest
K", Train, the live panel right under it and the saved-run loader, from a method's registry entry
(:mod:`clustering.registry`).

A page script calls :func:`render` with its method's name, its caption and, where it draws more
than the generic form, its own ``settings`` function; it keeps only its results view::

    page = method_page.render("som", CAPTION, settings=som_settings, train_label="Train the map")
    page.results(draw_results, "Train the map to see ...")

``settings(page)`` draws the inputs (``page.inputs(...)`` draws parameters from the method's
constraints) and returns the chosen values; ``draw_results(result)`` draws the tabs of a finished
run, the template adds the "Results" heading, the result's headline in plain words with every
quality figure one click away (:mod:`ui.headline`; not for :data:`OWN_CHOICE_OF_K`) and the
download buttons (the registry's ``downloads``). :func:`results` serves the Compare page too.
The default number of clusters is the data's (:func:`default_k`), said under the K input.

The widget keys are the method's ``form_key`` and the parameter's name (``som_rows``), the train
button ``{form_key}_train``, the loader's ``{form_key}_cfg_upload``, as saved workspaces and the
tests know them; the settings expander's open state is ``{form_key}_settings``, "Suggest K"'s
buttons ``{form_key}_k_draw`` and ``{form_key}_k_use``.
"""
from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any, Callable, Mapping, Optional

import streamlit as st

from clustering import registry
from clustering.i18n import _
from ui import configio, forms, live, runs, state, widgets

#: Methods that draw their own headline and choice of the number of clusters (the ensemble:
#: :func:`ui.map_views.headline`, its curve over M); the template draws neither for them.
OWN_CHOICE_OF_K = ("qbm",)


@dataclass
class MethodPage:
    """What a page's settings and results functions are given."""

    spec: registry.MethodSpec
    ds: Any
    defaults: dict
    running: bool
    busy: bool
    #: Where the default ``n_clusters`` came from ("" when the method has none).
    k_origin: str = ""
    _k_captioned: bool = dataclass_field(default=False, init=False, repr=False)

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
        """The inputs of ``defaults`` (name -> default), drawn from the method's constraints;
        with ``n_clusters`` among them, where its default came from (:meth:`k_caption`)."""
        values = forms.param_inputs(defaults, self.key,
                                    columns=columns or self.spec.form.get("columns", 3),
                                    choices=choices(self.spec), disabled=self.running,
                                    constraints=registry.constraints(self.name))
        if "n_clusters" in defaults:
            self.k_caption()
        return values

    def k_caption(self) -> None:
        """Once per page: where the default number of clusters came from
        (:func:`clustering.k_selection.default_k`)."""
        if self.k_origin and not self._k_captioned:
            st.caption(widgets.md_escape(_("Default number of clusters: {origin}").format(
                origin=self.k_origin)))
            self._k_captioned = True

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
        st.subheader(_("Results"))
        if kind in registry.names() and kind not in OWN_CHOICE_OF_K:
            result_headline(res)
        if draw(res) is False:
            return
        st.markdown("**" + _("Downloads") + "**")
        for i, row in enumerate(download_rows(res)):
            widgets.downloads(row, key=f"{key}_dl" + (str(i + 1) if i else ""),
                              dataset=state.dataset())
        if note:
            st.caption(note)


def result_headline(res) -> None:
    """A method's result in plain words (:mod:`ui.headline`) and, one click away, every
    quality figure (:func:`ui.widgets.metrics_table`)."""
    from ui import headline

    headline.draw(headline.build(res.labels, res.metrics, res.proba))
    with st.expander(_("All quality figures")):
        widgets.metrics_table(res.metrics)


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


def default_k(dataset=None) -> tuple[int, str]:
    """The app's default number of clusters for ``dataset`` (the session's by default) and where
    it came from (:func:`clustering.k_selection.default_k`)."""
    from clustering import k_selection

    return k_selection.default_k(state.dataset() if dataset is None else dataset,
                                 limit=forms.PARAM_META["n_clusters"]["max"])


def page_defaults(name: str, dataset) -> tuple[dict, str]:
    """The registry's defaults of ``name`` with the data's default number of clusters
    (:func:`default_k`) and its origin ("" when the method takes no number of clusters)."""
    defaults = registry.default_params(name)
    if "n_clusters" not in defaults or not registry.get(name).uses_n_clusters:
        return defaults, ""
    defaults["n_clusters"], origin = default_k(dataset)
    return defaults, origin


def settings_state(key: str, running: bool, failed: bool = False) -> str:
    """The key of the settings expander's open state (``{key}_settings``): open on a page's
    first view unless a run is live, closed when a run starts (the live panel comes into view)
    and kept closed when it ends with a result (the results come into view), open again when it
    ended on an error (``failed``: the settings are what to change); the user opens it at any
    time. The running state last seen is kept in ``{key}_settings_ran``."""
    ss = st.session_state
    state_key, seen = f"{key}_settings", f"{key}_settings_ran"
    ss.setdefault(state_key, not running)
    if running and not ss.get(seen):
        ss[state_key] = False
    elif failed and not running and ss.get(seen):
        ss[state_key] = True
    ss[seen] = running
    return state_key


def render(name: str, caption: str, *, settings: Callable[[MethodPage], dict] = default_settings,
           drawer: Optional[Callable] = None, train_label: Optional[str] = None) -> MethodPage:
    """Draw the method page of ``name``: title, caption, the settings in an expander
    (``settings(page)`` returns the chosen values; closed while a run is live), "Suggest K",
    Train, the live panel right under it (``drawer(job)`` draws a training snapshot) and the
    saved-run loader (``train_label``: the Train button's words, "Train" by default). Returns
    the :class:`MethodPage` for the results view; without data it
    shows the loader and stops the script (``st.stop``)."""
    spec = registry.get(name)
    st.title(_(spec.label))  # the registry marks its labels for the catalogs
    st.caption(caption)
    widgets.flash_messages()
    if not widgets.need_data():
        configio.config_loader(name, spec.form_key)
        st.stop()
    busy = live.other_job_notice(name)  # says which other training holds the session
    defaults, origin = page_defaults(name, state.dataset())
    page = MethodPage(spec, state.dataset(), defaults, running=state.job_running(), busy=busy,
                      k_origin=origin)
    with st.container(border=True):
        job = state.job()
        failed = job is not None and job.method == name and bool(job.error)
        with st.expander(_("Settings"), key=settings_state(page.key, page.running, failed),
                         on_change="rerun", icon=":material/tune:"):
            values = settings(page)
            page.k_caption()
            if origin and name not in OWN_CHOICE_OF_K:
                from ui import k_panel

                k_panel.suggest_panel(page.key, page.ds, state.data_token(),
                                      disabled=page.running)
        if st.button(_("Train") if train_label is None else train_label, type="primary",
                     key=f"{spec.form_key}_train",
                     icon=":material/play_arrow:", disabled=page.running or page.busy):
            with widgets.guard():
                _train(page, values, spec.label)
        with widgets.guard():  # the live panel where the eye is: right under Train
            live.live_panel(name, drawer)
    configio.config_loader(name, spec.form_key, disabled=page.running or page.busy)
    return page
