"""Neural clustering: kernel, network and training settings; live training; soft results.

The page template (:mod:`ui.method_page`) draws the Train button, the saved-run loader and the
live panel; this page draws its kernel and network settings and its results.
"""
import numpy as np
import streamlit as st

from clustering import i18n, plots
from clustering.i18n import N_, _, fmt
from ui import forms, live, method_page, runs, state, widgets

EMPTY = N_("Train the network to see its clusters.")
KEY = "nn"
SPECIAL = ("n_clusters", "kernel", "kernel_param")
CAPTION = N_("A Keras network maps each point to a probability per cluster and learns, without "
           "labels, to keep close points together: the loss is -Σ_k (p_k·M p_k)/Σ_i p_ik for a "
           "proximity kernel M of the squared distance.")


def kernel_default(kernel) -> float:
    """The kernel's own default parameter (``Kernel.default_param``, a whole number for k)."""
    if not kernel.has_param:
        return 0.0
    return int(kernel.default_param) if kernel.integer_param else float(kernel.default_param)


def apply_preset(which: str) -> None:
    from clustering.neural import NeuralSoftClustering

    k = int(st.session_state.get(f"{KEY}_n_clusters", method_page.default_k()[0]))
    maker = NeuralSoftClustering.seed_preset if which == "seed" else NeuralSoftClustering.recommended
    forms.set_values(maker(k).get_params(), KEY)


def settings(page) -> dict:
    """The kernel (with its curve on this data) and the network and training settings."""
    kcol, ncol = st.columns([2, 3], gap="large")
    with kcol:
        values = kernel_settings(page)
    with ncol:
        values.update(network_settings(page))
    return values


def kernel_settings(page) -> dict:
    """K, the kernel and its parameter (a new kernel starts from its own default)."""
    from clustering import kernels

    defaults, running = page.defaults, page.running
    st.markdown("**" + _("Kernel") + "**")
    values = {}
    values["n_clusters"] = forms.param_input("n_clusters", defaults["n_clusters"],
                                             f"{KEY}_n_clusters", disabled=running,
                                             field=page.field("n_clusters"))
    page.k_caption()
    names = list(kernels.KERNELS)

    def kernel_changed():
        # a new kernel starts from its own default parameter
        new = kernels.get_kernel(st.session_state[f"{KEY}_kernel"])
        if new.has_param:
            st.session_state[f"{KEY}_kernel_param"] = kernel_default(new)

    values["kernel"] = forms.param_input("kernel", defaults.get("kernel") or names[0],
                                         f"{KEY}_kernel", choices=names, disabled=running,
                                         on_change=kernel_changed)
    kernel = kernels.get_kernel(values["kernel"])
    description = forms.kernel_description(kernel)
    if description:
        st.caption(widgets.md_escape(description))
    if kernel.has_param:
        values["kernel_param"] = forms.param_input(
            "kernel_param", kernel_default(kernel), f"{KEY}_kernel_param", disabled=running,
            help=forms.kernel_param_help(kernel),
            label=_("kernel parameter {name}").format(name=kernel.param_name))
    else:
        values["kernel_param"] = None
        st.caption(widgets.md_escape(_("The {kernel} kernel has no parameter.").format(
            kernel=forms.kernel_label(kernel).lower())))
    with widgets.guard():
        kernel_curve(page.ds.X, kernel, values)
    return values


def kernel_curve(X, kernel, values: dict) -> None:
    """The kernel's proximity against the squared distance, on this data (bounded work on every
    rerun: ``kernel_curve`` samples at most ``CURVE_POINTS`` points)."""
    from clustering import kernels

    if kernel.curve is not None:
        top = max(1.0, 10 * float(values["kernel_param"] or 0.1))
    else:  # graph kernels: up to the median squared distance between points
        sample = X[kernels.curve_sample(X.shape[0], 400)]
        top = float(np.median(kernels.squared_distances(sample))) or 1.0
    d2 = np.linspace(0, top, 300)
    curve = kernels.kernel_curve(values["kernel"], values["kernel_param"], d2, X=X)
    if np.all(np.isnan(curve)):
        st.caption(widgets.md_escape(
            _("No curve to draw: the {kernel} kernel is not a function of the distance alone "
              "(whether two points are close depends on the points around them).").format(
                kernel=forms.kernel_label(kernel).lower())))
    else:
        if kernel.curve is None:
            shown = min(X.shape[0], kernels.CURVE_POINTS)
            st.caption(_("On this data: M = 1 up to the median squared distance of a point "
                         "to its k-th neighbour (the graph's typical reach).")
                       if shown == X.shape[0] else
                       _("On this data: M = 1 up to the median squared distance of a point "
                         "to its k-th neighbour (the graph's typical reach), estimated on "
                         "{shown} of {n} points.").format(shown=shown, n=X.shape[0]))
        st.plotly_chart(plots.kernel_plot(d2, curve, name=values["kernel"]),
                        key="kernel_plot")


def network_settings(page) -> dict:
    """The preset buttons and the network's and training's settings."""
    running = page.running
    st.markdown("**" + _("Network and training") + "**")
    b1, b2, _unused = st.columns([1, 1, 1])
    b1.button(_("Seed preset"), key="nn_seed", on_click=apply_preset, args=("seed",),
              disabled=running, help=_("The notes' settings: 3 x Dense(20, relu), A = 3, Adam, "
                                       "up to 5000 epochs, patience 50, min_delta 0.01."))
    b2.button(_("Recommended"), key="nn_recommended", on_click=apply_preset,
              args=("recommended",), disabled=running,
              help=_("Settings that train faster and more reliably on the generated data."))
    generic = {k: v for k, v in page.shown().items() if k not in SPECIAL}
    return page.inputs(generic, columns=3)


def draw_snapshot(job):
    ds = state.dataset()
    proba = np.asarray(job.snapshot)
    if proba.ndim != 2 or proba.shape[0] != ds.X.shape[0]:
        return
    P, axes = state.projection()
    title = job.snapshot_title(_("Soft clusters"))
    fig = live.cached_figure(job, "soft", title, lambda: plots.soft_scatter(
        P, proba, axis_names=axes, height=260, title=title))
    st.plotly_chart(fig, key="live_soft")


# ------------------------------------------------------------------------------------ results
def results(res):
    """The network's clusters, probabilities, decision regions, uncertainty and loss (the
    template draws the headline and every quality figure above them)."""
    ds = state.dataset()
    est = res.estimator
    # how training ended (runs.status_word's cases, as a part of this sentence)
    status = (_("stopped at the time cap") if res.stop_reason == "time" else
              _("stopped by you") if res.stopped else _("finished"))
    restarts = len(est.restart_losses_)
    kept = (_("; kept restart {best} of {restarts} (lowest loss)").format(
        best=est.best_restart_ + 1, restarts=restarts) if restarts > 1 else "")
    param = (" ({name} = {value}).".format(name=est.kernel_.param_name,
                                           value=fmt(est.kernel_param_, "g"))
             if est.kernel_.has_param else ".")
    st.text(_("Training {status} in {seconds} s: {epochs} epochs, final loss {loss}{kept}; "
              "K = {k}, kernel {kernel}").format(
        status=status, seconds=fmt(res.elapsed, ".1f"), epochs=est.n_epochs_,
        loss=fmt(est.loss_, ".4f"), kept=kept, k=res.n_clusters,
        kernel=forms.kernel_label(est.kernel_).lower()) + param)
    st.caption(widgets.md_escape(_("Solver: {solver}. {reason}").format(
        solver=est.solver_, reason=i18n.text(est.solver_reason_))))
    P, axes = state.projection()
    ids = runs.object_ids(ds)
    proba = res.proba if res.proba is not None else np.eye(res.n_clusters)[res.labels]
    names = plots.cluster_names(res.labels, ds.labels, ds.label_names)  # "(mostly 'x')"
    names.update({k: plots.cluster_name(k) for k in range(proba.shape[1]) if k not in names})
    hover = plots.object_hover(ids, ds.raw, res.proba, names)  # id, values, probabilities
    tabs = st.tabs([_("Soft clusters"), _("Hard labels"), _("Decision regions"),
                    _("Uncertainty"), _("Loss")])
    with tabs[0]:
        st.plotly_chart(plots.soft_scatter(P, proba, axis_names=axes, hover=hover,
                                           label_names=names,
                                           title=_("Colour = mix of the cluster colours by p")),
                        key="nn_soft")
    with tabs[1]:
        st.plotly_chart(plots.scatter(P, res.labels, axis_names=axes, hover=hover,
                                      label_names=names, title=_("argmax p")), key="nn_hard")
    with tabs[2]:
        if ds.X.shape[1] == 2:
            xs, ys, grid = runs.decision_grid(res, ds.X)
            st.plotly_chart(plots.decision_regions(xs, ys, grid, ds.X, proba, axis_names=axes,
                                                   title=_("The network's output over the plane")),
                            key="nn_regions")
        else:
            st.info(_("Decision regions are drawn for 2-D data; this data set has {d} "
                      "features.").format(d=ds.X.shape[1]), icon=":material/info:")
    with tabs[3]:
        st.plotly_chart(plots.entropy_scatter(P, proba, axis_names=axes, hover=hover,
                                              title=_("Normalised entropy of p (1 = undecided)")),
                        key="nn_entropy")
    with tabs[4]:
        st.plotly_chart(plots.loss_curve(est.loss_history_,
                                         title=_("Loss per epoch (the kept restart)")),
                        key="nn_loss")


page = method_page.render("neural", _(CAPTION), settings=settings, drawer=draw_snapshot)
page.results(results, _(EMPTY))
