"""The codec's base: its error, its record version, and the byte formats of its blobs.

Arrays are ``.npy`` files (written and read with ``allow_pickle=False``), Keras networks are
``.keras`` archives (checked without Keras, loaded with ``safe_mode=True``); every blob is listed in
its record by its SHA-256 (:func:`sha256`). Nothing here unpickles.
"""
from __future__ import annotations

import hashlib
import io
import json
import zipfile

import numpy as np

from clustering.errors import ClusteringError
from clustering.i18n import N_

__all__ = ["CODEC_VERSION", "Record", "CodecError", "npy_bytes", "read_npy", "check_keras",
           "load_keras", "keras_bytes", "sha256"]

#: Version of the record layout; a record of another version is refused.
CODEC_VERSION = 1
#: ``(meta, blobs)``: JSON-able meta and the named byte strings it refers to.
Record = tuple[dict, dict[str, bytes]]
_NPY_MAGIC = b"\x93NUMPY"


class CodecError(ClusteringError):
    """A record cannot be written or read; ``str(err)`` says why in one sentence."""


def npy_bytes(arr: np.ndarray) -> bytes:
    """``arr`` as a ``.npy`` file (never pickled)."""
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=False)
    return buf.getvalue()


def read_npy(data: bytes, where: str = "array") -> np.ndarray:
    """The array of a ``.npy`` file, read with ``allow_pickle=False``; :class:`CodecError` when
    it is not one, is truncated or has bytes after its array."""
    if not isinstance(data, (bytes, bytearray)) or not bytes(data).startswith(_NPY_MAGIC):
        raise CodecError(N_("{where}: not a .npy array file."), where=where)
    buf = io.BytesIO(data)
    try:
        arr = np.lib.format.read_array(buf, allow_pickle=False)
    except Exception as err:  # noqa: BLE001 - any damage becomes one sentence
        raise CodecError(N_("{where}: the .npy data is damaged or truncated ({error})."),
                         where=where, error=str(err)) from None
    if buf.tell() != len(data):
        raise CodecError(N_("{where}: the .npy data has {count} stray bytes after its array."),
                         where=where, count=len(data) - buf.tell())
    return arr


def check_keras(data: bytes, where: str = "model") -> None:
    """Refuse bytes that are not an intact ``.keras`` archive (zip with checksums and a
    ``config.json``), without loading Keras."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            bad = archive.testzip()
            config = json.loads(archive.read("config.json")) if bad is None else None
    except Exception as err:  # noqa: BLE001 - BadZipFile, KeyError, zlib errors, bad JSON ...
        raise CodecError(N_("{where}: not an intact .keras model file ({error})."), where=where,
                         error=str(err)) from None
    if bad is not None:
        raise CodecError(N_("{where}: the .keras model file is damaged ({name} fails its "
                            "checksum)."), where=where, name=bad)
    if not isinstance(config, dict):
        raise CodecError(N_("{where}: the .keras model file has no model configuration."),
                         where=where)


def load_keras(data: bytes, where: str = "model"):
    """The Keras model of ``.keras`` bytes, loaded with ``safe_mode=True``."""
    import tempfile
    from pathlib import Path

    check_keras(data, where)
    try:
        import keras

        import clustering.neural  # noqa: F401 - registers the network's own layers

        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "model.keras"
            path.write_bytes(data)
            return keras.saving.load_model(path, safe_mode=True)
    except Exception as err:  # noqa: BLE001
        raise CodecError(N_("{where}: the Keras model cannot be loaded ({type}: {error})."),
                         where=where, type=type(err).__name__, error=str(err)) from None


def keras_bytes(model) -> bytes:
    """A live Keras model as ``.keras`` bytes."""
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.keras"
        model.save(path)
        return path.read_bytes()


def sha256(data: bytes) -> str:
    """The hex SHA-256 of ``data``, as records list their blobs."""
    return hashlib.sha256(data).hexdigest()
