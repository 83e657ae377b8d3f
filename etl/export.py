"""Write any layer back out in open formats, with the same column names the loader reads."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import geopandas as gpd
import pandas as pd
from sqlalchemy.engine import Engine

from gridwatch.errors import InputError

Format = Literal["geojson", "gpkg", "parquet", "csv"]
FORMATS: tuple[Format, ...] = ("geojson", "gpkg", "parquet", "csv")
SUFFIX = {"geojson": ".geojson", "gpkg": ".gpkg", "parquet": ".parquet", "csv": ".csv"}

QUERIES = {
    "county": "SELECT code, name_zh, name_pinyin, population, geom FROM county ORDER BY code",
    "towns": "SELECT code, name_zh, name_pinyin, population, geom FROM towns ORDER BY code",
    "villages": (
        "SELECT v.code, v.name_zh, v.name_pinyin, v.kind, v.population, t.code AS town_code, v.geom"
        " FROM villages v JOIN towns t ON t.id = v.town_id ORDER BY v.code"
    ),
    "grids": (
        "SELECT g.code, g.level, p.code AS parent_code, g.name_zh, g.staff_role, g.geom"
        " FROM grids g LEFT JOIN grids p ON p.id = g.parent_id ORDER BY g.level, g.code"
    ),
    "roads": 'SELECT source_id, "class", name_zh, geom FROM roads ORDER BY source_id',
    "cameras": (
        "SELECT c.code, c.kind, c.bearing_deg, c.fov_deg, c.range_m, c.height_m, c.installed_on,"
        " c.status, v.code AS village_code, c.geom FROM cameras c JOIN villages v ON v.id = c.village_id"
        " ORDER BY c.code"
    ),
    "incidents": (
        "SELECT source_id, category, is_criminal, occurred_at, reported_at, closed_at, solved_at,"
        " handled_level, status, geom FROM incidents ORDER BY occurred_at, source_id"
    ),
}


def read_layer(engine: Engine, layer: str) -> gpd.GeoDataFrame:
    if layer not in QUERIES:
        raise InputError(f"unknown layer '{layer}'; one of {', '.join(QUERIES)}")
    with engine.connect() as conn:
        return gpd.read_postgis(QUERIES[layer], conn, geom_col="geom")


def export_layer(
    engine: Engine,
    layer: str,
    fmt: Format,
    out: Path,
    *,
    overwrite: bool = False,
    local_tz: str = "Asia/Shanghai",
) -> tuple[Path, int]:
    """Write ``layer`` to ``out``; times are written in ``local_tz`` with their offset."""
    if fmt not in FORMATS:
        raise InputError(f"--format {fmt}: one of {', '.join(FORMATS)}")
    out = Path(out)
    if out.exists() and not overwrite:
        raise InputError(f"{out} exists; pass --overwrite to replace it.")
    gdf = read_layer(engine, layer).rename_geometry("geometry")
    for col in gdf.columns:
        if isinstance(gdf[col].dtype, pd.DatetimeTZDtype):
            gdf[col] = gdf[col].dt.tz_convert(local_tz)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.stem}.partial{out.suffix}")
    tmp.unlink(missing_ok=True)
    if fmt == "parquet":
        gdf.to_parquet(tmp, index=False, compression="zstd")
    elif fmt == "csv":
        frame = pd.DataFrame(gdf.drop(columns="geometry"))
        if layer in ("cameras", "incidents"):
            frame["lon"] = gdf.geometry.x.round(7)
            frame["lat"] = gdf.geometry.y.round(7)
        else:
            frame["wkt"] = gdf.geometry.to_wkt(rounding_precision=8)
        for col in frame.columns:
            if isinstance(frame[col].dtype, pd.DatetimeTZDtype):
                frame[col] = frame[col].map(lambda t: "" if pd.isna(t) else t.isoformat())
        frame.to_csv(tmp, index=False, encoding="utf-8-sig")
    else:
        driver = "GPKG" if fmt == "gpkg" else "GeoJSON"
        gdf.to_file(tmp, layer=layer if fmt == "gpkg" else None, driver=driver, engine="pyogrio")
    tmp.replace(out)
    return out, len(gdf)
