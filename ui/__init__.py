"""Streamlit-side helpers of the clustermap workbench (session state, jobs, widgets, runs).

``ui.jobs`` and ``ui.runs`` are free of Streamlit (plain Python, unit-testable); ``ui.state`` and
``ui.widgets`` use it.
"""
