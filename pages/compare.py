"""Compare: several methods on the current data, metrics table and small scatter multiples."""
import streamlit as st

from clustering import neighbour_plots, neighbours, plots
from clustering.i18n import _, fmt
from ui import (configio, headline, k_panel, live, method_page, methods, runs, state,
                widgets)

st.title(_("Compare methods"))
st.caption(_("Run several methods on the current data with the same number of clusters and "
             "read their quality figures side by side."))
widgets.flash_messages()
if not widgets.need_data():
    configio.comparison_loader()
    st.stop()
ds = state.dataset()
available = methods.compare_choices()
busy = live.other_job_notice("compare")
running = state.job_running()
default_k, k_origin = method_page.default_k(ds)


def use_eps(value: float) -> None:
    """on_click: put the suggested eps into the eps widget."""
    st.session_state["cmp_eps"] = value


def eps_helper(ds, eps: float, min_samples: int, running: bool) -> None:
    """The sorted k-distance curve (k = min samples), drawn on demand and kept per data and k,
    with a button that takes the eps at its knee."""
    key = (state.data_token(), min_samples)
    st.caption(_("Each object's distance to its {k}-th nearest neighbour, sorted; "
                 "objects left of the knee are in clusters, those right of it noise "
                 "(Ester et al. 1996).").format(k=min_samples))
    if st.button(_("Draw the k-distance curve"), key="cmp_kdist_draw", disabled=running):
        with widgets.guard():
            d = neighbours.k_distance_curve(ds.X, min_samples)
            suggested = neighbours.round_eps(neighbours.suggest_eps(d))
            st.session_state["cmp_kdist"] = (key, d, suggested)
    cached = st.session_state.get("cmp_kdist")
    if cached is None or cached[0] != key:
        return
    _key, d, suggested = cached
    if ds.X.shape[0] > d.size:
        st.caption(_("A random sample of {n} of the {total} objects.").format(
            n=d.size, total=ds.X.shape[0]))
    st.plotly_chart(neighbour_plots.k_distance_plot(d, eps=eps, suggested=suggested,
                                                    k=min_samples), key="cmp_kdist_chart")
    st.button(_("Use the suggested eps ({eps})").format(eps=fmt(suggested, "g")),
              key="cmp_kdist_use", on_click=use_eps, args=(suggested,), disabled=running)


with st.container(border=True):
    chosen = st.multiselect(_("Methods"), available, default=available, key="cmp_methods",
                            format_func=methods.compare_label,
                            persist_state="session", disabled=running)
    c1, c2, c3, c4 = st.columns(4)
    k = c1.number_input(_("clusters K"), 1, 30, default_k, key="cmp_k",
                        persist_state="session", disabled=running)
    c1.caption(widgets.md_escape(_("Default: {origin}").format(origin=k_origin)))
    seed = c2.number_input(_("random seed"), 0, 2**31 - 1, 0, key="cmp_seed",
                           persist_state="session", disabled=running)
    eps = c3.number_input(_("DBSCAN eps"), 0.001, 100.0, 0.3, step=0.05, key="cmp_eps",
                          persist_state="session", disabled=running,
                          help=_("Neighbourhood radius in the (scaled) feature space."))
    min_samples = c4.number_input(_("DBSCAN min samples"), 1, 500, 5, key="cmp_min_samples",
                                  persist_state="session", disabled=running)
    with st.expander(_("Choose eps: k-distance curve")):
        eps_helper(ds, float(eps), int(min_samples), running)
    k_panel.suggest_panel("cmp", ds, state.data_token(), target="cmp_k", disabled=running)
    if st.button(_("Run the comparison"), type="primary", key="cmp_run",
                 icon=":material/play_arrow:", disabled=running or busy or not chosen):
        with widgets.guard():
            settings = runs.compare_params(chosen, int(k), int(seed), float(eps),
                                           int(min_samples), n_objects=ds.X.shape[0])
            runs.preflight_comparison(settings, ds.X)  # refused before the job starts
            spec, token = state.data_spec(), state.data_token()

            def target(callback, stop):
                return runs.compare(settings, ds, spec, callback=callback, stop=stop,
                                    data_token=token)

            state.start_job("compare", target, _("Comparison"),
                            config=runs.job_config("compare", settings, spec))
            st.rerun()
    with widgets.guard():  # the live panel where the eye is: right under the Run button
        live.live_panel("compare")

configio.comparison_loader(disabled=running or busy)


def results(res):
    """Which methods are poor, the metrics table (key columns first) and the partitions side
    by side (False: no method finished)."""
    for name, message in res.extra.get("errors", {}).items():
        st.warning(widgets.md_escape(f"{_(name)}: {message}"))
    # the methods are named in English where the comparison ran (a worker): shown translated
    table = res.extra["table"].rename(index=lambda m: _(str(m)))
    if table.empty:
        st.info(_("No method finished."))
        return False
    for verdict in headline.compare_verdicts(table).values():
        st.warning(widgets.md_escape(verdict), icon=":material/warning:")
    shown = headline.comparison_display(table)
    counts = {headline.readable(c)[0] for c in headline.COUNTS}
    widgets.table(shown, column_config={
        c: st.column_config.NumberColumn(format="%d" if c in counts else widgets.number_format(
            "%.2f s" if c == _("seconds") else "%.4f"))
        for c in shown.columns})
    P, axes = state.projection()
    partitions = {_(str(k)): v for k, v in res.extra["partitions"].items()}
    st.plotly_chart(plots.small_multiples(P, partitions, cols=4, axis_names=axes),
                    key="cmp_multiples")
    return True


method_page.results("compare", "cmp", results, _("Pick methods and run the comparison."),
                    note=_("Upload the configuration under 'Repeat a saved comparison' to run "
                           "the same methods with the same settings on the same data again."))
