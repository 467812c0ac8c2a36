"""The page of the toy method of tests/test_registry.py: the template and a one-line results view
(what a new method's page needs)."""
import streamlit as st

from ui import method_page

page = method_page.render("toy", "Two clusters split at a threshold of the first feature.")
page.results(lambda res: st.text(f"{res.n_clusters} clusters"), "Train to see the split.")
