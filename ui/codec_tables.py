"""Tables as Parquet files that read back exactly: values, dtypes, index, column names, attrs.

:func:`encode_table` writes a DataFrame's columns under neutral names and keeps what Parquet would
lose (the column labels and their dtype, which object columns hold None rather than NaN, the index
name, ``attrs`` such as the CSV reading notes) as the codec's JSON in the file's metadata, under
:data:`PARQUET_KEY`; :func:`decode_table` restores them and refuses a file whose dtypes differ.
"""
from __future__ import annotations

import io
import json
from typing import Any

import numpy as np
import pandas as pd

from clustering.i18n import N_, Text
from ui.codec_formats import CODEC_VERSION, CodecError, sha256
from ui.codec_values import Reader, Writer, guarded, no_constant

__all__ = ["PARQUET_KEY", "encode_table", "decode_table"]

#: Key of the codec's JSON in a Parquet file's metadata; blobs of its attrs follow it.
PARQUET_KEY = b"clustermap"


def _columns_info(columns: pd.Index, writer: Writer) -> dict:
    if isinstance(columns, pd.MultiIndex):
        raise CodecError("Cannot store a table with several levels of column names.")
    if not columns.is_unique:
        raise CodecError("Cannot store a table whose column names repeat.")
    info = {"name": writer.value(columns.name, "columns.name")}
    if type(columns) is pd.RangeIndex:
        info["range"] = [columns.start, columns.stop, columns.step]
    else:
        info["labels"] = writer.value(columns.tolist(), "columns")
        info["dtype"] = str(columns.dtype)
    return info


def _none_columns(frame: pd.DataFrame) -> list[int]:
    """Positions of the object columns whose missing cells are None (NaN is Parquet's default);
    :class:`CodecError` for a column whose missing cells are of several kinds (or pd.NA)."""
    out = []
    for i in range(frame.shape[1]):
        col = frame.iloc[:, i]
        if col.dtype != object:
            continue
        kinds = {"none" if v is None else "nan" if isinstance(v, (float, np.floating)) else
                 type(v).__name__ for v in col[col.isna()]}
        if len(kinds) > 1 or not kinds <= {"none", "nan"}:
            raise CodecError(N_("Cannot store the column {column!r}: its missing cells are of "
                                "several kinds ({kinds})."), column=frame.columns[i],
                             kinds=", ".join(sorted(kinds)))
        if kinds == {"none"}:
            out.append(i)
    return out


def _text_cells(frame: pd.DataFrame, writer: Writer) -> dict:
    """The cells of object columns that hold an :class:`~clustering.i18n.Text` (a sentence kept
    with its message), by column and row position: Parquet keeps only their English text."""
    out = {}
    for i in range(frame.shape[1]):
        col = frame.iloc[:, i]
        if col.dtype != object:
            continue
        cells = {str(j): writer.value(v, f"table[{i}][{j}]") for j, v in enumerate(col)
                 if type(v) is Text}
        if cells:
            out[str(i)] = cells
    return out


def _restore_texts(frame: pd.DataFrame, texts, r: Reader, where: str) -> None:
    """Put :func:`_text_cells` back (each must read as the Text of the English cell there)."""
    if not isinstance(texts, dict):
        raise CodecError(N_("{where}: the table's messages are malformed."), where=where)
    for i, cells in texts.items():
        if not (isinstance(i, str) and i.isdigit() and int(i) < frame.shape[1]
                and isinstance(cells, dict)):
            raise CodecError(N_("{where}: the table's messages are malformed."), where=where)
        values = frame.iloc[:, int(i)].to_numpy(dtype=object, copy=True)
        for j, value in cells.items():
            text = r.value(value, f"{where}[{i}][{j}]")
            if not (isinstance(j, str) and j.isdigit() and int(j) < len(values)
                    and type(text) is Text and str(text) == values[int(j)]):
                raise CodecError(N_("{where}: the table's messages are malformed."),
                                 where=where)
            values[int(j)] = text
        frame.isetitem(int(i), pd.Series(values, index=frame.index, dtype=object))


def encode_table(frame: pd.DataFrame) -> bytes:
    """``frame`` as Parquet bytes: values, dtypes, index, column names and ``attrs`` (e.g. the
    CSV reading notes in ``attrs["csv"]``), all read back exactly by :func:`decode_table`.

    Raises
    ------
    CodecError
        For several column levels, repeated column names, an index of several levels, or cells
        Parquet cannot hold (an object column mixing text and numbers).
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    if type(frame) is not pd.DataFrame:
        raise CodecError(N_("Expected a DataFrame, got {type}."), type=type(frame).__name__)
    if isinstance(frame.index, pd.MultiIndex):
        raise CodecError("Cannot store a table with an index of several levels.")
    writer = Writer()
    info = {"codec_version": CODEC_VERSION, "columns": _columns_info(frame.columns, writer),
            "index_name": writer.value(frame.index.name, "index.name"),
            "index_dtype": str(frame.index.dtype), "dtypes": [str(d) for d in frame.dtypes],
            "none": _none_columns(frame), "attrs": writer.value(dict(frame.attrs), "attrs"),
            "texts": _text_cells(frame, writer)}
    stored = frame.copy(deep=False)
    stored.attrs = {}
    stored.columns = [f"c{i}" for i in range(frame.shape[1])]
    stored.index = stored.index.rename(None)
    try:
        table = pa.Table.from_pandas(stored, preserve_index=None)
    except (pa.ArrowException, ValueError, TypeError) as err:
        raise CodecError(N_("Cannot store the table as Parquet ({error})."),
                         error=str(err)) from None
    info["blobs"] = {name: sha256(data) for name, data in writer.blobs.items()}
    extra = {PARQUET_KEY: json.dumps(info, allow_nan=False).encode("utf-8")}
    extra.update({PARQUET_KEY + b"." + n.encode(): d for n, d in writer.blobs.items()})
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), **extra})
    buf = io.BytesIO()
    pq.write_table(table, buf)
    return buf.getvalue()


def _read_parquet(data: bytes, where: str):
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(pa.BufferReader(data))
    except Exception as err:  # noqa: BLE001 - ArrowInvalid, OSError ...
        raise CodecError(N_("{where}: not an intact Parquet table ({error})."), where=where,
                         error=str(err)) from None
    if any(isinstance(f.type, pa.ExtensionType) for f in table.schema):
        raise CodecError(N_("{where}: the table holds a column of an extension type."),
                         where=where)
    meta = table.schema.metadata or {}
    try:
        info = json.loads(meta[PARQUET_KEY], parse_constant=no_constant)
    except (KeyError, ValueError, RecursionError):
        raise CodecError(N_("{where}: not a table written by this app (no readable "
                            "clustermap metadata)."), where=where) from None
    prefix = PARQUET_KEY + b"."
    blobs = {k[len(prefix):].decode("utf-8", "replace"): v for k, v in meta.items()
             if k.startswith(prefix)}
    return table, info, blobs


def _restore_columns(info: dict, r: Reader) -> pd.Index:
    name = r.value(info.get("name"), "columns.name")
    if "range" in info:
        start, stop, step = info["range"]
        return pd.RangeIndex(start, stop, step, name=name)
    labels = r.value(info.get("labels"), "columns")
    return pd.Index(labels, dtype=_dtype(info.get("dtype")), name=name, tupleize_cols=False)


def _dtype(text: Any):
    """A dtype named in a table record: pandas' own names only (object, str, int64 ...)."""
    if not isinstance(text, str):
        raise CodecError(N_("Bad dtype {dtype!r} in a table record."), dtype=text)
    try:
        return pd.api.types.pandas_dtype(text)
    except TypeError:
        raise CodecError(N_("Unknown dtype {dtype!r} in a table record."), dtype=text) from None


def decode_table(data: bytes, *, where: str = "table") -> pd.DataFrame:
    """The DataFrame of :func:`encode_table`'s bytes, exactly (dtypes, index, names, attrs).

    Raises
    ------
    CodecError
        For bytes that are not such a table, are truncated or were changed.
    """
    return guarded(where, lambda: _decode_table(data, where))


def _decode_table(data: bytes, where: str) -> pd.DataFrame:
    table, info, blobs = _read_parquet(data, where)
    r = Reader({**info, "kind": "table"}, blobs, "table")
    frame = table.to_pandas()
    dtypes = info.get("dtypes")
    if type(dtypes) is not list or len(dtypes) != frame.shape[1]:
        raise CodecError(N_("{where}: the table's columns do not match its record."),
                         where=where)
    for i, text in enumerate(dtypes):
        if text == "object" and frame.iloc[:, i].dtype != object:
            frame.isetitem(i, frame.iloc[:, i].astype(object))
    for i in info.get("none") or []:
        values = frame.iloc[:, i].to_numpy(dtype=object, copy=True)
        values[pd.isna(values)] = None
        frame.isetitem(i, pd.Series(values, index=frame.index, dtype=object))
    _restore_texts(frame, info.get("texts") or {}, r, where)
    frame.columns = _restore_columns(info.get("columns") or {}, r)
    if info.get("index_dtype") == "object" and frame.index.dtype != object:
        frame.index = frame.index.astype(object)
    frame.index = frame.index.rename(r.value(info.get("index_name"), "index.name"))
    found = [str(d) for d in frame.dtypes]
    if found != dtypes or str(frame.index.dtype) != info.get("index_dtype"):
        raise CodecError(N_("{where}: the table's dtypes {found} differ from its record's "
                            "{expected}."), where=where, found=str(found), expected=str(dtypes))
    attrs = r.value(info.get("attrs"), "attrs")
    if type(attrs) is not dict:
        raise CodecError(N_("{where}: the table's attrs are not a dict."), where=where)
    frame.attrs = attrs
    return frame
