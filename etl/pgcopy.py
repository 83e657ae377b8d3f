"""Binary COPY: canonical rows in PostgreSQL's binary COPY format, encoded by pgpq.

Binary COPY halves the server's work against CSV (no text parsing of numbers, times
or hex WKB); pgpq encodes Arrow batches in Rust, so Python never touches a row.
The Arrow types below must match the target columns exactly (binary COPY has no
casts): text, integer, double precision, boolean, date, timestamptz, geometry (EWKB).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
from pgpq import ArrowToPostgresBinaryEncoder

from etl.fields import LayerSpec

ARROW_TYPES: dict[str, pa.DataType] = {
    "str": pa.string(),
    "vocab": pa.string(),
    "int": pa.int32(),
    "float": pa.float64(),
    "bool": pa.bool_(),
    "date": pa.date32(),
    "datetime": pa.timestamp("us", tz="UTC"),
}


def copy_schema(spec: LayerSpec, names: Sequence[str]) -> pa.Schema:
    """Arrow schema for COPYing ``names`` (fields of ``spec``, plus ``row`` and ``geom``)."""
    kinds = {f.name: ARROW_TYPES[f.kind] for f in spec.fields}
    kinds |= {"row": pa.int64(), "geom": pa.binary()}
    return pa.schema([pa.field(n, kinds[n]) for n in names])


def _column(s: pd.Series, typ: pa.DataType) -> pa.Array:
    if s.isna().all():
        return pa.nulls(len(s), typ)
    if pa.types.is_timestamp(typ):
        return pa.array(pd.to_datetime(s, utc=True), type=typ)
    if pa.types.is_date(typ) or (pa.types.is_string(typ) and s.dtype == object):
        return pa.array(s.where(s.notna(), None).tolist(), type=typ)
    if pa.types.is_binary(typ) and s.dtype == object:
        return pa.array(s.tolist(), type=typ)
    arr = pa.array(s, type=typ, from_pandas=True)
    return arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr


class BinaryCopy:
    """Encodes frames for one ``COPY ... FROM STDIN WITH (FORMAT binary)``."""

    def __init__(self, schema: pa.Schema) -> None:
        self.schema = schema
        self._encoder = ArrowToPostgresBinaryEncoder(schema)

    def header(self) -> bytes:
        return bytes(self._encoder.write_header())

    def batch(self, frame: pd.DataFrame) -> bytes:
        arrays = [_column(frame[f.name], f.type) for f in self.schema]
        batch = pa.RecordBatch.from_arrays(arrays, schema=self.schema)
        return bytes(self._encoder.write_batch(batch))

    def finish(self) -> bytes:
        return bytes(self._encoder.finish())


_POINT_4326 = np.frombuffer(bytes.fromhex("0101000020E6100000"), dtype=np.uint8)


def points_ewkb(xy: np.ndarray) -> pd.Series:
    """EWKB of 2-D points in EPSG:4326 built with numpy (5x faster than shapely.to_wkb)."""
    n = len(xy)
    raw = np.empty((n, 25), dtype=np.uint8)
    raw[:, :9] = _POINT_4326
    raw[:, 9:] = np.ascontiguousarray(xy, dtype="<f8").view(np.uint8).reshape(n, 16)
    offsets = pa.array(np.arange(0, (n + 1) * 25, 25, dtype=np.int32))
    wkb = pa.BinaryArray.from_buffers(
        pa.binary(), n, [None, offsets.buffers()[1], pa.py_buffer(raw.tobytes())]
    )
    return pd.Series(pd.arrays.ArrowExtensionArray(wkb))
