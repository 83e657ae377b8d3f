"""Stream rows out of the file formats county offices use, a chunk at a time.

CSV (UTF-8 with or without BOM, or GBK/GB18030 as Chinese office software
writes it), GeoJSON, GeoPackage, Shapefile (through GDAL/pyogrio) and GeoParquet
(through pyarrow). Nothing reads a whole large file into memory.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import shapely
from pyproj import CRS

from gridwatch.errors import InputError

FORMATS = {
    ".csv": "csv",
    ".txt": "csv",
    ".tsv": "csv",
    ".geojson": "geojson",
    ".json": "geojson",
    ".gpkg": "gpkg",
    ".shp": "shapefile",
    ".zip": "shapefile",
    ".parquet": "geoparquet",
    ".geoparquet": "geoparquet",
}
ENCODINGS = ("utf-8", "utf-8-sig", "gbk", "gb18030")


@dataclass
class Chunk:
    """Rows ``start .. start+len-1`` (1-based record numbers) of a file."""

    start: int
    frame: pd.DataFrame  # raw attribute columns
    geometry: np.ndarray | None  # shapely geometries for vector formats, None for CSV


def detect_encoding(path: Path, sample_bytes: int = 1 << 20) -> str:
    """UTF-8 (BOM or not) when the bytes decode as such, else GB18030 (a superset of GBK)."""
    with path.open("rb") as fh:
        head = fh.read(sample_bytes)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    try:
        head.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        if exc.start >= len(head) - 4 and len(head) == sample_bytes:
            return "utf-8"  # cut in the middle of a character at the end of the sample
    try:
        head.decode("gb18030")
        return "gb18030"
    except UnicodeDecodeError:
        raise InputError(
            f"{path}: cannot tell the text encoding (neither UTF-8 nor GBK/GB18030).",
            hint="Pass it with --encoding, e.g. --encoding gbk",
        ) from None


class Source:
    """An input file: its columns, CRS, record count (when cheap) and chunks."""

    def __init__(
        self,
        path: Path,
        *,
        encoding: str | None = None,
        layer: str | None = None,
        chunk_rows: int = 100_000,
    ) -> None:
        self.path = Path(path)
        if not self.path.exists():
            raise InputError(f"{self.path}: no such file.")
        suffix = self.path.suffix.lower()
        if suffix not in FORMATS:
            raise InputError(
                f"{self.path}: unsupported file type '{suffix}'; gridwatch reads "
                + ", ".join(sorted(set(FORMATS)))
            )
        self.format = FORMATS[suffix]
        self.layer = layer
        self.chunk_rows = chunk_rows
        self.encoding = encoding
        if self.format == "csv":
            if encoding is None:
                self.encoding = detect_encoding(self.path)
            elif encoding.lower().replace("_", "-") not in ENCODINGS:
                try:
                    codecs.lookup(encoding)
                except LookupError:
                    raise InputError(f"--encoding {encoding}: unknown text encoding.") from None
        self.columns, self.crs, self.rows = self._inspect()

    @property
    def has_geometry(self) -> bool:
        return self.format != "csv"

    # -- inspection ---------------------------------------------------------------------
    def _inspect(self) -> tuple[list[str], CRS | None, int | None]:
        if self.format == "csv":
            sep = "\t" if self.path.suffix.lower() == ".tsv" else ","
            self._sep = sep
            try:
                head = pd.read_csv(self.path, nrows=0, encoding=self.encoding, sep=sep, dtype=str)
            except UnicodeDecodeError as exc:
                raise self._decode_error(exc) from None
            except pd.errors.EmptyDataError:
                raise InputError(f"{self.path}: the file is empty (no header row).") from None
            return [str(c) for c in head.columns], None, None
        if self.format == "geoparquet":
            pf = pq.ParquetFile(self.path)
            meta = pf.schema_arrow.metadata or {}
            if b"geo" not in meta:
                raise InputError(f"{self.path}: a Parquet file without GeoParquet 'geo' metadata.")
            geo = json.loads(meta[b"geo"])
            self._geom_col = geo.get("primary_column", "geometry")
            col = geo["columns"][self._geom_col]
            if col.get("encoding", "WKB").upper() != "WKB":
                raise InputError(f"{self.path}: only WKB-encoded GeoParquet geometries are read.")
            crs: CRS | None = (
                CRS.from_user_input(col["crs"]) if col.get("crs") else CRS.from_epsg(4326)
            )
            cols = [n for n in pf.schema_arrow.names if n != self._geom_col]
            return cols, crs, pf.metadata.num_rows
        import pyogrio

        try:
            info = pyogrio.read_info(self.path, layer=self.layer, encoding=self.encoding)
        except Exception as exc:
            raise InputError(f"{self.path}: cannot read it as {self.format}: {exc}") from None
        crs = CRS.from_user_input(info["crs"]) if info.get("crs") else None
        rows = int(info["features"]) if info.get("features", -1) >= 0 else None
        return [str(c) for c in info["fields"]], crs, rows

    def _decode_error(self, exc: UnicodeDecodeError) -> InputError:
        return InputError(
            f"{self.path}: bytes at offset {exc.start} are not valid {self.encoding}.",
            hint="Pass the right encoding with --encoding (e.g. utf-8, gbk, gb18030).",
        )

    # -- chunks -----------------------------------------------------------------------------
    def chunks(self) -> Iterator[Chunk]:
        if self.format == "csv":
            yield from self._csv_chunks()
        elif self.format == "geoparquet":
            yield from self._parquet_chunks()
        else:
            yield from self._ogr_chunks()

    def _csv_chunks(self) -> Iterator[Chunk]:
        start = 1
        try:
            reader = pd.read_csv(
                self.path,
                encoding=self.encoding,
                sep=self._sep,
                dtype=str,
                keep_default_na=False,
                chunksize=self.chunk_rows,
                skipinitialspace=True,
            )
            for frame in reader:
                frame.columns = [str(c) for c in frame.columns]
                yield Chunk(start, frame, None)
                start += len(frame)
        except UnicodeDecodeError as exc:
            raise self._decode_error(exc) from None
        except pd.errors.ParserError as exc:
            raise InputError(f"{self.path}: malformed CSV near record {start}: {exc}") from None

    def _parquet_chunks(self) -> Iterator[Chunk]:
        pf = pq.ParquetFile(self.path)
        start = 1
        for batch in pf.iter_batches(batch_size=self.chunk_rows):
            frame = batch.to_pandas()
            wkb = frame.pop(self._geom_col).to_numpy()
            yield Chunk(start, frame, shapely.from_wkb(wkb, on_invalid="ignore"))
            start += len(frame)

    def _ogr_chunks(self) -> Iterator[Chunk]:
        from pyogrio.raw import open_arrow

        start = 1
        with open_arrow(
            self.path,
            layer=self.layer,
            batch_size=self.chunk_rows,
            encoding=self.encoding,
            use_pyarrow=True,
        ) as (meta, reader):
            geom_col = meta["geometry_name"] or "wkb_geometry"
            for batch in reader:
                frame = batch.to_pandas()
                wkb = frame.pop(geom_col).to_numpy() if geom_col in frame else None
                geoms = (
                    shapely.from_wkb(wkb, on_invalid="ignore")
                    if wkb is not None
                    else np.full(len(frame), None)
                )
                yield Chunk(start, frame, geoms)
                start += len(frame)
