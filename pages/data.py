"""Data page: generate, upload or load the example; preview, statistics, scatter, aggregates."""
import hashlib

import pandas as pd
import streamlit as st

from clustering import i18n, plots
from clustering.i18n import N_, _
from ui import roles, state, widgets
from ui.forms import param_inputs

st.title(_("Data"))
st.caption(_("Every method works on the current data set. Make one here: generate points, upload "
             "your own CSV table, or load the bundled taxpayer example."))
widgets.flash_messages()

#: The data sources (the radio's values, English), as each is shown.
SOURCES = {"Generate": N_("Generate"), "Upload a CSV": N_("Upload a CSV"), "Example": N_("Example")}
#: Option values of the reading, missing-value and scaling controls, as each is shown (the values
#: stay the English words the tables module and the configurations use).
OPTION_LABELS = {"detect": N_("detect"), "comma": N_("comma"), "semicolon": N_("semicolon"),
                 "tab": N_("tab"), "refuse": N_("refuse"), "drop": N_("drop"),
                 "median": N_("median"), "standard": N_("standard"), "minmax": N_("minmax"),
                 "none": N_("none")}


def _option(value) -> str:
    """An option value as shown: its translated word when it has one, else the value itself."""
    return _(OPTION_LABELS[value]) if value in OPTION_LABELS else str(value)


source = st.radio(_("Source"), list(SOURCES), horizontal=True, format_func=lambda v: _(SOURCES[v]),
                  key="data_source", persist_state="session", label_visibility="collapsed")


# ------------------------------------------------------------------------------------ generate
def generate_section():
    from clustering import datasets
    from ui import runs

    names = list(datasets.GENERATORS)
    name = st.selectbox(_("Generator"), names, key="gen_name", persist_state="session",
                        format_func=lambda n: _(datasets.GENERATOR_LABELS.get(n, n)),
                        help=_("scikit-learn's make_blobs / make_moons / make_circles with the "
                               "seed's defaults (500 points, noise 0.1, factor 0.2, 3 centres)."))
    defaults = datasets.generator_defaults(name)
    params = param_inputs(defaults, key_prefix=f"gen_{name}", columns=3)
    c1, c2, _unused = st.columns([1, 1, 3])
    pressed = c1.button(_("Generate"), type="primary", key="gen_button",
                        icon=":material/scatter_plot:")
    shown = _(datasets.GENERATOR_LABELS.get(name, name))
    if "n_samples" in params:
        loading = _("generated {name} ({n} points)").format(name=shown, n=params["n_samples"])
    else:
        loading = _("generated {name} (its points)").format(name=shown)
    go = pressed and state.ask("gen_button", loading)
    if state.confirm_box("gen_button") or go:
        with widgets.guard():
            spec = {"source": "generator", "name": name, "params": params}
            ds = runs.load_data(spec)  # limits checked before generating; large: on a worker
            state.set_dataset(ds, spec, _("{name} ({n} points)").format(name=shown,
                                                                        n=ds.X.shape[0]))
            st.rerun()
    if c2.button(_("Reset to defaults"), key="gen_reset"):
        for p in defaults:
            st.session_state.pop(f"gen_{name}_{p}", None)
        st.rerun()


# ------------------------------------------------------------------------------------ tables
def _store_table(frame: pd.DataFrame, origin: dict, label: str) -> None:
    """Make ``frame`` the working table (kept in the workspace); the form shows the roles last
    chosen for it (else the roles guessed)."""
    state.set_table({"frame": frame, "base": frame, "origin": origin, "aggregations": [],
                     "label": label})
    st.session_state.pop(ROLES_FOR, None)


def read_upload(up, read: dict) -> None:
    """Parse an uploaded file into the working table (unless it already is); a bad file drops
    the working table it replaces and says why."""
    from ui import runs

    data = up.getvalue()
    digest = hashlib.sha256(data).hexdigest()
    current = state.table()
    if current is not None and current["origin"].get("sha256") == digest \
            and current["origin"].get("read", {}) == read:
        return
    try:
        frame = runs.read_table(data, read)  # a large file is parsed on a worker
    except Exception as err:
        if current is not None:
            state.set_table(None)
        widgets.show_error(err)
        return
    origin = {"source": "csv", "file_name": up.name, "sha256": digest}
    if read:
        origin["read"] = read
    _store_table(frame, origin, up.name)


def _sheet_choice(up):
    """For an uploaded workbook: (True, the sheet chosen, None for the only sheet); for a CSV
    (False, None). A workbook that cannot be opened says why and gives (True, "")."""
    from clustering import workbook

    head = up.getvalue()[:8]
    if not workbook.is_workbook_bytes(head):
        return False, None
    try:
        names = workbook.sheet_names(up.getvalue())
    except Exception as err:
        widgets.show_error(err)
        return True, ""
    if len(names) < 2:
        return True, None
    return True, st.selectbox(_("Sheet"), names, key="csv_sheet",
                              help=_("The workbook's sheet that holds the table (column names in "
                                     "its first row)."))


def _read_caption(found: dict, read: dict) -> str:
    """How the working table was read, in words."""
    from clustering import tables

    if found.get("sheet") is not None:
        return _("Read from sheet {sheet} of the {format} workbook.").format(
            sheet=repr(found["sheet"]), format=found.get("format"))
    delimiter_name = tables.DELIMITER_NAMES.get(found.get("delimiter"), found.get("delimiter"))
    delimiter_name = _option(delimiter_name) if isinstance(delimiter_name, str) else delimiter_name
    if found.get("decimal") == ",":
        words = _("Read as {delimiter} separated, decimal comma, encoding {encoding}")
    else:
        words = _("Read as {delimiter} separated, decimal point, encoding {encoding}")
    return (words.format(delimiter=delimiter_name, encoding=found.get("encoding"))
            + (_(" (as chosen).") if read else _(" (detected).")))


def upload_section():
    from clustering import tables

    up = st.file_uploader(_("CSV table or workbook (one object per row)"),
                          type=["csv", "txt", "tsv", "xlsx", "xlsm", "xls", "ods"],
                          key="csv_upload",
                          help=_("Comma, semicolon or tab separated; a decimal comma and the "
                                 "usual encodings (UTF-8, cp1251, latin-1) are detected. Excel "
                                 "(.xlsx, .xls) and OpenDocument (.ods) workbooks: one sheet is "
                                 "read."))
    with st.expander(_("Reading options (when the table looks wrong)")):
        c1, c2 = st.columns(2)
        delimiter = c1.selectbox(_("Delimiter"), ["detect", *tables.DELIMITER_NAMES.values()],
                                 key="csv_delimiter", format_func=_option,
                                 help=_("A decimal comma (1,5) is read in semicolon and tab "
                                        "separated files."))
        encoding = c2.selectbox(_("Encoding"), ["detect", *tables.ENCODINGS], key="csv_encoding",
                                format_func=_option)
    if up is None:
        return
    is_book, sheet = _sheet_choice(up)
    if sheet == "":
        return
    read = tables.read_options(sheet=sheet) if is_book else \
        tables.read_options(*(None if v == "detect" else v for v in (delimiter, encoding)))
    # Only a new upload (or new reading options) in this tab replaces the working table: a tab
    # still holding an older file must not overwrite what another tab of the workspace made.
    event = (up.file_id, sorted(read.items()))
    if st.session_state.get("csv_upload_event") != event:
        read_upload(up, read)  # (refused when another tab changed the data: tried again)
        st.session_state["csv_upload_event"] = event
    table = state.table()
    found = (table["base"].attrs.get("csv") if table is not None else None) or {}
    if found:
        st.caption(widgets.md_escape(_read_caption(found, read)))


def example_section():
    from clustering import tables

    st.write(_("A synthetic table of enterprises shaped like the article's taxpayer study: the "
               "indicators Phi11, Phi13, Phi21, Phi24 and the generalised criterion Phi."))
    pressed = st.button(_("Load the taxpayer example"), type="primary", key="example_button",
                        icon=":material/domain:")
    go = pressed and state.ask("example_button", _("the taxpayer example"))
    if state.confirm_box("example_button") or go:
        with widgets.guard():
            from ui import runs

            frame = tables.read_csv(runs.EXAMPLE_PATH.read_bytes())
            _store_table(frame, {"source": "example", "path": runs.EXAMPLE_RELPATH},
                         _("taxpayer example"))
            prep = runs.example_prepare_options(frame)
            ds = tables.prepare(frame, **prep)
            spec = {**state.table()["origin"], "aggregations": [], "prepare": prep}
            state.set_dataset(ds, spec, _("taxpayer example"))
            state.remember_roles(roles.table_key(state.table()), prep)  # the form shows them
            st.rerun()


#: The Data page's role widgets, by the role they set.
ROLE_WIDGETS = {"id_column": "tbl_id", "label_column": "tbl_label",
                "feature_columns": "tbl_features"}
ROLES_FOR = "tbl_roles_for"  # the table whose roles the role widgets hold


def _set_roles(chosen: dict) -> None:
    """Put ``chosen`` roles into the role widgets (before they are drawn, or in a callback)."""
    for role, key in ROLE_WIDGETS.items():
        st.session_state[key] = chosen[role]


def _seed_roles(table: dict, columns: list) -> str:
    """The role widgets hold the roles of ``table``: those last chosen for it in this session,
    else those of the data set made from it, else the guess. Returns the table's key
    (:func:`ui.roles.table_key`)."""
    key = roles.table_key(table)
    ss = st.session_state
    if ss.get(ROLES_FOR) != key or any(k not in ss for k in ROLE_WIDGETS.values()):
        chosen = (state.table_roles(key) or roles.in_use(table, state.data_spec())
                  or roles.guessed(table["frame"]))
        _set_roles(roles.fit(chosen, columns))
        ss[ROLES_FOR] = key
    return key


def role_inputs(table: dict) -> dict:
    """The ID, label and feature widgets for the working table, the article's preset when it
    applies; the roles chosen (remembered for the table)."""
    frame: pd.DataFrame = table["frame"]
    columns = [str(c) for c in frame.columns]
    key = _seed_roles(table, columns)
    c1, c2 = st.columns(2)
    id_col = c1.selectbox(_("ID column"), [None] + columns, key="tbl_id",
                          format_func=lambda c: _("(row number)") if c is None else c,
                          help=_("Names the objects in tables, hovers and downloads."))
    label_col = c2.selectbox(_("Label column (optional)"), [None] + columns, key="tbl_label",
                             format_func=lambda c: _("(none)") if c is None else c,
                             help=_("Known classes, used only to score the clustering (ARI, "
                                    "NMI)."))
    options = [c for c in columns if c not in (id_col, label_col)]
    st.session_state["tbl_features"] = [c for c in st.session_state.get("tbl_features") or []
                                        if c in options]
    features = st.multiselect(_("Feature columns"), options, key="tbl_features",
                              help=_("The numeric columns the methods cluster on."))
    preset = roles.article_preset(frame)
    if preset is not None:
        st.button(_("The article's five features"), key="tbl_preset", on_click=_set_roles,
                  args=(roles.fit(preset, columns),), icon=":material/auto_awesome:",
                  help=widgets.md_escape(_("The taxpayer study's clustering variables: {roles}.")
                                         .format(roles=roles.describe(preset))))
    chosen = {"id_column": id_col, "label_column": label_col, "feature_columns": list(features)}
    state.remember_roles(key, chosen)
    used = roles.in_use(table, state.data_spec())
    if used is not None and roles.fit(used, columns) != chosen:
        st.caption(widgets.md_escape(
            _("The current data set was made with {roles}: press 'Use this table' to apply the "
              "roles above.").format(roles=roles.describe(used))))
    return chosen


def table_setup():
    """Column roles, missing values, scaling and the aggregation builder for the working table."""
    from ui import runs

    table = state.table()
    if table is None:
        return
    frame: pd.DataFrame = table["frame"]
    st.subheader(_("Table"))
    st.text(_("{label}: {rows} rows x {columns} columns").format(
        label=table["label"], rows=frame.shape[0], columns=frame.shape[1]))
    widgets.table(frame.head(200), height=230)
    numeric = [str(c) for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c])]
    chosen = role_inputs(table)
    c3, c4 = st.columns(2)
    missing = c3.radio(_("Missing values"), ["refuse", "drop", "median"], horizontal=True,
                       key="tbl_missing", persist_state="session", format_func=_option,
                       help=_("refuse: stop and name the cells; drop: leave those rows out; "
                              "median: fill with the column's median."))
    scaling = c4.radio(_("Scaling"), ["standard", "minmax", "none"], horizontal=True,
                       key="tbl_scaling", persist_state="session", format_func=_option,
                       help=_("standard: zero mean, unit variance per feature; minmax: to "
                              "[0, 1]."))
    pressed = st.button(_("Use this table"), type="primary", key="tbl_use",
                        icon=":material/check:")
    go = pressed and state.ask("tbl_use", _("{label} with {roles}").format(
        label=table["label"], roles=roles.describe(chosen)))
    if state.confirm_box("tbl_use") or go:
        with widgets.guard():
            prep = dict(**chosen, missing=missing, scaling=scaling)
            ds = runs.prepare_table(frame, prep)  # a large table is prepared on a worker
            spec = {**table["origin"], "aggregations": list(table["aggregations"]), "prepare": prep}
            state.set_dataset(ds, spec, table["label"])
            st.rerun()

    with st.expander(_("Aggregation builder: groups of columns → aggregates → product "
                       "criterion")):
        aggregation_builder(table, numeric)


def aggregation_builder(table: dict, numeric: list):
    from clustering import aggregation

    st.write(_("Each aggregate is the mean of its group of columns; the criterion is the product "
               "of the aggregates (the article's Phi1 = (Phi11 + Phi13) / 2, Phi2 = (Phi21 + "
               "Phi24) / 2, Phi = Phi1 x Phi2). The new columns are added to the table."))
    preset = getattr(aggregation, "TAXPAYER_GROUPS", None)
    if preset and all(c in numeric for cols in preset.values() for c in cols):
        if st.button(_("Fill in the article's taxpayer groups"), key="agg_preset"):
            st.session_state["agg_n"] = len(preset)
            for i, (name, cols) in enumerate(preset.items()):
                st.session_state[f"agg_name_{i}"] = name
                st.session_state[f"agg_cols_{i}"] = list(cols)
            st.session_state["agg_criterion"] = "Phi"
            st.rerun()
    n = int(st.number_input(_("Number of aggregates"), 1, 8, 2, key="agg_n"))
    groups = {}
    for i in range(n):
        c1, c2 = st.columns([1, 3])
        name = c1.text_input(_("Aggregate {i} name").format(i=i + 1), f"A{i + 1}",
                             key=f"agg_name_{i}")
        cols = c2.multiselect(_("Aggregate {i} columns").format(i=i + 1), numeric,
                              key=f"agg_cols_{i}")
        groups[name.strip()] = list(cols)
    criterion = st.text_input(_("Criterion column (product of the aggregates)"), "criterion",
                              key="agg_criterion")
    new_names = [n for n in list(groups) + [criterion.strip()] if n]
    clashes = [n for n in new_names if n in set(map(str, table["frame"].columns))]
    overwrite = st.checkbox(_("Replace existing columns of the same names"), key="agg_overwrite",
                            help=_("Without it, a name that is already a column of the table is "
                                   "refused (unless that column already holds the same values)."))
    if clashes and not overwrite:
        st.caption(_("Already columns of the table: {names}. Rename the aggregate or tick 'Replace "
                     "existing columns'.").format(
            names=", ".join(widgets.md_escape(c) for c in clashes)))
    if st.button(_("Add aggregate columns"), key="agg_add", icon=":material/add:"):
        with widgets.guard():
            new = aggregation.aggregate(table["frame"], groups, criterion=criterion.strip(),
                                        overwrite=overwrite)
            step = {"groups": groups, "criterion": criterion.strip()}
            if overwrite:
                step["overwrite"] = True
            state.set_table({**table, "frame": new,
                             "aggregations": [*table["aggregations"], step]})
            state.flash(_("Added the columns {names}. Add them to the features if you like, and "
                          "press 'Use this table'.").format(names=", ".join(new_names)))
            st.rerun()
    if table["aggregations"]:
        if st.button(_("Undo the aggregates"), key="agg_undo"):
            with widgets.guard():
                state.set_table({**table, "frame": table["base"], "aggregations": []})
                st.rerun()


with widgets.guard():
    if source == "Generate":
        generate_section()
    elif source == "Upload a CSV":
        upload_section()
        table_setup()
    else:
        example_section()
        table_setup()


# ------------------------------------------------------------------------------------ current data
def current_data():
    ds = state.dataset()
    if ds is None:
        st.info(_("No data set yet: pick a source above."), icon=":material/info:")
        return
    st.divider()
    st.subheader(_("Current data set"))
    st.text(_("{label}: {n} objects, {d} features").format(
        label=state.data_label(), n=ds.X.shape[0], d=ds.X.shape[1])
        + (_(", scaling: {scaling}").format(scaling=_option(ds.scaling))
           if getattr(ds, "scaling", None) else ""))
    for note in getattr(ds, "notes", None) or []:
        st.info(widgets.md_escape(i18n.text(note)), icon=":material/info:")
    raw = pd.DataFrame(ds.raw, columns=[str(f) for f in ds.feature_names])
    if ds.ids is not None:
        raw.insert(0, "id", [str(i) for i in ds.ids])
    if ds.labels is not None:
        raw["label"] = ds.labels if ds.label_names is None else [
            ds.label_names[int(v)] if 0 <= int(v) < len(ds.label_names) else v for v in ds.labels]
    left, right = st.columns([1, 1])
    with left:
        tab1, tab2 = st.tabs([_("Preview"), _("Summary statistics")])
        tab1.dataframe(raw, height=360, hide_index=True)
        tab2.dataframe(raw[[str(f) for f in ds.feature_names]].describe().T, height=360)
    with right:
        P, axes = state.projection()
        hover = [_("object {id}").format(id=i)
                 for i in (ds.ids if ds.ids is not None else range(len(P)))]
        title = _("Points") if ds.X.shape[1] <= 2 else _("PCA projection")
        fig = plots.scatter(P, ds.labels, axis_names=axes, hover=hover, title=title, height=400)
        st.plotly_chart(fig, key="data_scatter")
    st.page_link("pages/neural.py", label=_("Next: neural clustering"), icon=":material/arrow_forward:")


with widgets.guard():
    current_data()
