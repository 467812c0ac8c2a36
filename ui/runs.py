"""The pages' backend, free of Streamlit, by the names the rest of the app imports.

The names live in modules by responsibility and are re-exported here:

- :mod:`ui.result`: :class:`MethodResult`, how a run ended, its objects' ids;
- :mod:`ui.datasource`: the bundled example, data sets and tables made on a worker when large;
- :mod:`ui.training`: the app's execution policy, preflight, training and comparison;
- :mod:`ui.result_files`: the files a result offers (labels, tables, configuration, model,
  codebook);
- :mod:`ui.map_views`: what the SOM and ensemble pages draw;
- :mod:`ui.methods`: the app's names of the registered methods (titles, pages, form keys,
  Compare labels).
"""
from __future__ import annotations

from ui.datasource import (EXAMPLE_FEATURES, EXAMPLE_LABELS, EXAMPLE_PATH,  # noqa: F401
                           EXAMPLE_RELPATH, ROOT, WORKER_DATA_VALUES, WORKER_TABLE_BYTES,
                           example_prepare_options, load_data, on_worker, prepare_table,
                           read_table)
from ui.map_views import (attach_kmeans_comparison, cell_hover, cells_frame,  # noqa: F401
                          cochran_verdict, decision_tables, default_score, filter_summary,
                          filter_table, flag_threshold, flags_frame, headline, kept_mask,
                          lattice_shape, map_choices, map_frame, posterior_frame,
                          profile_means, profile_names, ranking_note, recommendation_lines,
                          replicate_columns, score_columns, selection_note, som_curves,
                          som_status, suggested_units, unit_clusters, unit_coordinates,
                          with_ids)
from ui.methods import COMPARE_LABELS, FORM_KEYS, RESULT_PAGES, RESULT_TITLES  # noqa: F401
from ui.result import MethodResult, object_ids, quality, status_word  # noqa: F401
from ui.result_files import (codebook_csv, config_json, estimator_with_model,  # noqa: F401
                             labels_csv, labels_frame, model_bytes, partitions_csv, som_of,
                             table_csv)
from ui.training import (SERVER_PARAMS, agreement_table, app_params,  # noqa: F401
                         compare, compare_params, decision_grid, execution_text, job_config,
                         planned_execution, preflight, preflight_comparison, train,
                         worker_params)
