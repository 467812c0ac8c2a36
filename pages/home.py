"""Home: what the workbench does, the workflow, and a two-click quick start."""
import streamlit as st

from clustering.i18n import _
from ui import quick, state, widgets

st.title("clustermap")
st.write(_("A workbench for clustering with neural networks: watch a network learn soft "
           "clusters, read a self-organizing map, and weigh each object's membership with an "
           "ensemble of maps."))
widgets.flash_messages()

st.markdown("**" + _("Workflow") + "**\n" + "\n".join([
    _("1. **Data**: generate blobs, moons or circles, upload a CSV table, or load the taxpayer "
      "example."),
    _("2. **Neural clustering**: a network gives every point a probability per cluster, trained "
      "on a proximity kernel; watch the loss and the colours settle live."),
    _("3. **Self-organizing map**: a lattice of units that follows the data; U-matrix, hit map, "
      "component planes and clusters of units."),
    _("4. **Quasi-Bayesian ensemble**: 27 maps vote; posterior probability per object, "
      "Cochran's test, flagged objects, and the comparison with k-means."),
    _("5. **Compare** every method side by side on the same data."),
]) + "\n\n" + _("Each result can be downloaded (labels and probabilities, the run's "
                "configuration, the model)."))

st.subheader(_("Quick start"))
st.write(_("Two clicks to a trained, drawn result on the default data (three blobs, "
           "500 points)."))
c1, c2 = st.columns(2)
with c1:
    pressed = st.button(_("1 · Generate the default data"), type="primary", key="home_generate",
                        icon=":material/scatter_plot:", width="stretch")
    go = pressed and state.ask("home_generate", _(quick.DEFAULT_DATA))  # results: asks first
    if state.confirm_box("home_generate") or go:
        with widgets.guard():
            quick.generate_default()
            state.flash(_("Generated the default data: three blobs, 500 points."))
            st.rerun()
with c2:
    busy = state.job_running()
    if st.button(_("2 · Train the recommended network"), type="primary", key="home_train",
                 icon=":material/play_arrow:", width="stretch", disabled=busy,
                 help=_("Starts training and opens the Neural clustering page, where the loss "
                        "and the soft clusters update live.")):
        with widgets.guard():
            if state.dataset() is None:
                quick.generate_default()
            quick.train_recommended()
            st.switch_page("pages/neural.py")

ds = state.dataset()
if ds is not None:
    st.caption(_("Current data"))
    st.text(_("{label}: {n} objects, {d} features").format(
        label=state.data_label(), n=ds.X.shape[0], d=ds.X.shape[1]))
