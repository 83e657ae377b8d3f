"""Rasters (the DEM): checked, stored as a Cloud Optimized GeoTIFF, registered in PostGIS."""

from __future__ import annotations

import shutil
from pathlib import Path

import rasterio
import rasterio.shutil
import shapely
import sqlalchemy as sa
from rasterio.warp import transform_geom
from sqlalchemy.engine import Engine

from gridwatch.errors import InputError


def register_raster(engine: Engine, path: Path, store_dir: Path, name: str = "dem") -> Path:
    """Copy ``path`` into ``store_dir`` as a COG and record it under ``name``."""
    path = Path(path)
    try:
        src = rasterio.open(path)
    except rasterio.errors.RasterioIOError as exc:
        raise InputError(f"{path}: not a raster gridwatch can read ({exc}).") from None
    with src:
        if src.crs is None:
            raise InputError(f"{path}: the raster has no CRS; assign one (e.g. EPSG:4545) first.")
        if not src.crs.is_projected:
            raise InputError(
                f"{path}: the DEM is in {src.crs.to_string()}, degrees; gridwatch needs a metric"
                " CRS (e.g. the county's Gauss-Kruger zone, EPSG:4545) for viewsheds."
            )
        if src.count < 1:
            raise InputError(f"{path}: the raster has no band.")
        res = float(abs(src.res[0]))
        bounds = shapely.box(*src.bounds)
        footprint = shapely.geometry.shape(
            transform_geom(src.crs, "EPSG:4326", bounds.__geo_interface__)
        )
        width, height, crs = src.width, src.height, src.crs.to_string()
    store_dir.mkdir(parents=True, exist_ok=True)
    target = (store_dir / f"{name}.tif").absolute()
    tmp = target.with_suffix(".partial.tif")
    if src.driver == "GTiff" and _is_cog(path):
        shutil.copyfile(path, tmp)
    else:
        rasterio.shutil.copy(path, tmp, driver="COG", compress="DEFLATE")
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO rasters (name, path, crs, resolution_m, width, height, geom)"
                " VALUES (:name, :path, :crs, :res, :w, :h, ST_GeomFromText(:wkt, 4326))"
                " ON CONFLICT (name) DO UPDATE SET path = EXCLUDED.path, crs = EXCLUDED.crs,"
                " resolution_m = EXCLUDED.resolution_m, width = EXCLUDED.width,"
                " height = EXCLUDED.height, geom = EXCLUDED.geom, loaded_at = now()"
            ),
            dict(
                name=name, path=str(target), crs=crs, res=res, w=width, h=height, wkt=footprint.wkt
            ),
        )
        tmp.replace(target)
    return target


def _is_cog(path: Path) -> bool:
    with rasterio.open(path) as src:
        return bool(src.profile.get("tiled")) and bool(src.overviews(1))
