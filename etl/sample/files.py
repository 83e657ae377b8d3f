"""Write the sample county as open files, the way an office would hand them over.

``county.gpkg`` holds the place layers (EPSG:4326), ``incidents.parquet`` the
incidents (GeoParquet, EPSG:4326), ``dem.tif`` a 30 m Cloud Optimized GeoTIFF DEM
(EPSG:4545). They are then loaded through the same loader users use.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pyogrio

from etl.sample.county import build_county
from etl.sample.dem import make_dem, write_dem
from etl.sample.incidents import generate_incidents
from gridwatch.errors import InputError

PLACE_LAYERS = ("county", "towns", "villages", "grids", "roads", "cameras")
DEM_MARGIN_M = 2_000.0
DEM_CRS = "EPSG:4545"  # CGCS2000 / 3-degree Gauss-Kruger CM 108E, the county's zone


@dataclass
class SampleFiles:
    folder: Path
    places: Path
    incidents: Path
    dem: Path
    n_incidents: int

    def load_order(self) -> list[tuple[Path, str, str | None]]:
        """(file, gridwatch layer, layer inside the file) in dependency order."""
        return [(self.places, layer, layer) for layer in PLACE_LAYERS] + [
            (self.incidents, "incidents", None)
        ]


def write_sample(
    out: Path,
    *,
    seed: int = 20140101,
    incidents: int | None = None,
    overwrite: bool = False,
    step: Callable[[str], None] | None = None,
) -> SampleFiles:
    """Generate the sample county for ``seed`` and write its files into ``out``."""
    out = Path(out)
    files = SampleFiles(out, out / "county.gpkg", out / "incidents.parquet", out / "dem.tif", 0)
    existing = [p for p in (files.places, files.incidents, files.dem) if p.exists()]
    if existing and not overwrite:
        raise InputError(
            f"{out} already holds sample files ({', '.join(p.name for p in existing)});"
            " pass --overwrite to replace them."
        )
    out.mkdir(parents=True, exist_ok=True)
    say = step or (lambda _msg: None)
    say("building places (towns, villages, grids, roads, cameras)")
    county = build_county(seed)
    tmp = files.places.with_suffix(".partial.gpkg")
    tmp.unlink(missing_ok=True)
    for layer, gdf in county.storage_layers().items():
        keep = [c for c in gdf.columns if c not in ("seat_x", "seat_y", "centre_x", "centre_y", "site", "town_code")
                or (layer == "villages" and c == "town_code")]  # fmt: skip
        pyogrio.write_dataframe(
            gdf[keep].to_crs(4326), tmp, layer=layer, driver="GPKG", append=tmp.exists()
        )
    tmp.replace(files.places)
    say("generating incidents")
    inc = generate_incidents(county, seed=seed, total=incidents)
    files.n_incidents = len(inc)
    tmp = files.incidents.with_name(files.incidents.name + ".partial")
    inc.to_crs(4326).to_parquet(tmp, index=False, compression="zstd", write_covering_bbox=False)
    tmp.replace(files.incidents)
    say("building the 30 m DEM")
    xmin, ymin, xmax, ymax = county.county.to_crs(DEM_CRS).total_bounds
    m = DEM_MARGIN_M
    array, transform = make_dem(
        (xmin - m, ymin - m, xmax + m, ymax + m), seed=seed % 2**31, crs=DEM_CRS
    )
    write_dem(files.dem, array, transform, crs=DEM_CRS)
    return files
