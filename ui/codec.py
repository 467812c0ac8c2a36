"""The app's objects as records that read back without pickle: a JSON-able meta dict and blobs.

A record is ``(meta, blobs)``: ``meta`` is plain JSON (no NaN or infinity tokens: such floats are
tagged), ``blobs`` maps a name to bytes. Arrays go as ``.npy`` (read with ``allow_pickle=False``),
tables as Parquet (:func:`encode_table`), a Keras network as its ``.keras`` file (loaded with
``safe_mode=True``), bytes as they are; everything else is JSON with a type tag (``{"t": ...}``)
wherever plain JSON would lose the type: tuples, dicts, numpy scalars, non-finite floats.
``meta["blobs"]`` holds the SHA-256 of every blob; ``meta["codec_version"]`` is
:data:`CODEC_VERSION`.

Estimators are stored generically: the class by its name in an allow-list (the methods of
:data:`clustering.config.ESTIMATORS` and :data:`clustering.classic.CLASSIC_METHODS`, and what they
hold: scalers, :class:`~clustering.neural.ScalePlan`, :class:`~clustering.classic.ClassicResult`;
a kernel by its registered name), ``get_params()`` and every other attribute (the learned state,
private scratch that ``predict`` needs included). Nothing named by a record is ever imported: a
class not in the allow-list is refused. An estimator met twice (the ensemble's ``best_map_`` is
one of its ``maps_``) is stored once and comes back as the same object.

A network's model stays bytes in a decoded result (``extra["keras_bytes"]``, checked to be an
intact ``.keras`` archive) until a view needs it: :func:`ui.runs.estimator_with_model` loads it
(``safe_mode=True``), as for a result that came back from a worker; ``load_model=True`` loads it
at once. Every malformed, truncated, tampered or unknown part raises :class:`CodecError`.

The codec is split by responsibility; this module is its public face:

* :mod:`ui.codec_formats`: :class:`CodecError`, :data:`CODEC_VERSION` and the blob formats
  (``.npy``, ``.keras``);
* :mod:`ui.codec_allowlist`: the classes a record may name;
* :mod:`ui.codec_values`: values as tagged JSON and blobs (the writer and the reader);
* :mod:`ui.codec_tables`: tables as Parquet (:func:`encode_table`, :func:`decode_table`);
* :mod:`ui.codec_records`: data sets and results (:func:`encode_dataset`, :func:`encode_result`
  and their decoders).
"""
from __future__ import annotations

from ui.codec_formats import (CODEC_VERSION, CodecError, Record, check_keras, keras_bytes,
                              load_keras, npy_bytes, read_npy)
from ui.codec_records import decode_dataset, decode_result, encode_dataset, encode_result
from ui.codec_tables import PARQUET_KEY, decode_table, encode_table
from ui.codec_values import LIST_BLOB_ITEMS

__all__ = ["CODEC_VERSION", "Record", "LIST_BLOB_ITEMS", "PARQUET_KEY", "CodecError", "npy_bytes",
           "read_npy", "check_keras", "load_keras", "keras_bytes", "encode_table", "decode_table",
           "encode_dataset", "decode_dataset", "encode_result", "decode_result"]
