"""Constants and small geometry helpers shared by the sample generator's modules."""

from __future__ import annotations

import numpy as np
import shapely

SEAT_LONLAT = (107.39, 34.52)
METRIC_CRS = (
    f"+proj=eqc +lat_ts={SEAT_LONLAT[1]} +lat_0={SEAT_LONLAT[1]} +lon_0={SEAT_LONLAT[0]}"
    " +x_0=0 +y_0=0 +a=6378137 +b=6378137 +units=m +no_defs"
)
AREA_KM2 = 1180.0
N_VILLAGES = 233
N_GRIDS_L1 = 41
N_CAMERAS = 823
POPULATION = 530_000
RESIDENTS_PER_L3_GRID = 450
URBAN_RADIUS_M = 1_800.0


def random_points_in(poly: shapely.Geometry, n: int, rng: np.random.Generator) -> np.ndarray:
    xmin, ymin, xmax, ymax = poly.bounds
    out = np.empty((0, 2))
    shapely.prepare(poly)
    while len(out) < n:
        cand = rng.uniform((xmin, ymin), (xmax, ymax), size=(max(4 * n, 64), 2))
        keep = shapely.contains_xy(poly, cand[:, 0], cand[:, 1])
        out = np.vstack([out, cand[keep]])
    return out[:n]
