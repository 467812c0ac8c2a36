"""clustermap: the Streamlit workbench (entry point: ``streamlit run app.py``).

Sets up the navigation over the page scripts in ``pages/`` (a method's page comes from its
registry entry, :mod:`clustering.registry`) and a sidebar showing the session's data set and
training job. The pages stay thin: they call ``clustering/`` (the backend), draw with
``clustering.plots`` and keep their state through ``ui.state``.
"""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import streamlit as st  # noqa: E402

from clustering.errors import ClusteringError  # noqa: E402
from clustering import i18n  # noqa: E402
from clustering.i18n import _  # noqa: E402
from ui import language, methods, runtime, state, widgets  # noqa: E402

runtime.keep_keras_state()  # no keras clear_session() and full GC after every script run
runtime.preload()  # TensorFlow & co. load in the background, once per server process

st.set_page_config(page_title="clustermap", page_icon=":material/bubble_chart:", layout="wide")
language.begin()
try:
    workspace, store_error = state.attach(), None  # the visitor's work, named by ?ws=...
except ClusteringError as err:  # the store cannot be read (its schema is newer, say)
    workspace, store_error = None, err
language.choose(workspace)  # the sidebar's switch; every message below is in its language
if store_error is not None:
    st.error(widgets.md_escape(i18n.text(store_error)), icon=":material/error:")
    st.stop()

PAGES = {
    "": [st.Page("pages/home.py", title=_("Home"), icon=":material/home:", default=True)],
    _("Workflow"): [
        st.Page("pages/data.py", title=_("Data"), icon=":material/table:"),
        *(st.Page(spec.page, title=_(spec.label), icon=spec.icon)
          for spec in methods.page_specs()),
        st.Page("pages/compare.py", title=_("Compare"), icon=":material/compare:"),
        st.Page("pages/history.py", title=_("Run history"), icon=":material/history:"),
    ],
}

page = st.navigation(PAGES)

with st.sidebar:
    ds = state.dataset()
    if ds is None:
        st.caption(_("No data set yet."))
    else:
        st.caption(_("Current data"))
        st.text(_("{label}\n{n} objects x {d} features").format(
            label=state.data_label(), n=ds.X.shape[0], d=ds.X.shape[1]))
    job = state.job()
    if job is not None and job.running:
        st.caption(_("Training in the background"))
        st.text(job.label)
    done = [m for m in methods.result_kinds() if state.result(m) is not None]
    if done:
        st.caption(_("Results: {kinds}").format(
            kinds=", ".join(_(methods.sidebar_name(m)) for m in done)))
    widgets.workspace_box(workspace)

page.run()
