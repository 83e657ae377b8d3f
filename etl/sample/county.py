"""The sample county's places: boundary, towns, villages, grids, roads, cameras.

Everything is built from seeded random numbers (the same seed gives the same
county) in a local equirectangular CRS: metres, but an affine map of longitude and
latitude, so a straight edge here is a straight edge in the stored EPSG:4326.
(Built in Gauss-Kruger, edges would bend once stored in degrees and neighbours
that split a shared edge at different vertices would leave slivers of hundreds of
m2 between them.) Partitions are made by clipping Voronoi cells to their parent,
so children cover their parent exactly (up to floating point) and every level
nests in the one above:

    county -> 12 towns -> 233 villages and communities   (administrative)
    county -> 41 level-1 grids (groups of villages in one town)
           -> level-2 grids (one per village) -> level-3 grids (~450 residents each)
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import shapely
from pyproj import Transformer
from shapely.geometry import MultiPolygon, Point, Polygon

from etl.sample import names
from etl.sample.geom import (
    AREA_KM2,
    METRIC_CRS,
    N_GRIDS_L1,
    N_VILLAGES,
    POPULATION,
    RESIDENTS_PER_L3_GRID,
    SEAT_LONLAT,
    URBAN_RADIUS_M,
    random_points_in,
)
from etl.sample.network import make_cameras, make_roads
from etl.vocabulary import GRID_STAFF_ROLES


@dataclass
class SampleCounty:
    """All layers of the sample county as GeoDataFrames in the local METRIC_CRS."""

    seat: Point
    county: gpd.GeoDataFrame
    towns: gpd.GeoDataFrame
    villages: gpd.GeoDataFrame
    grids: gpd.GeoDataFrame
    roads: gpd.GeoDataFrame
    cameras: gpd.GeoDataFrame

    def layers(self) -> dict[str, gpd.GeoDataFrame]:
        return {
            "county": self.county,
            "towns": self.towns,
            "villages": self.villages,
            "grids": self.grids,
            "roads": self.roads,
            "cameras": self.cameras,
        }

    def storage_layers(self) -> dict[str, gpd.GeoDataFrame]:
        """The layers in EPSG:4326, as stored; unions are redone there so they stay valid.

        A union computed in metres can hold near-coincident vertices that turn into
        self-intersections once rounded to degrees; the level-1 grids are therefore
        re-unioned from their (transformed) level-2 children.
        """
        out = {name: gdf.to_crs(4326) for name, gdf in self.layers().items()}
        grids = out["grids"]
        level1 = grids.index[grids.level == 1]
        children = grids[grids.level == 2].groupby("parent_code").geometry
        for i in level1:
            parts = children.get_group(grids.at[i, "code"]).to_numpy()
            grids.at[i, "geometry"] = _multi(shapely.union_all(parts))
        for name, gdf in out.items():
            invalid = ~gdf.is_valid
            if invalid.any():
                raise AssertionError(
                    f"sample {name}: invalid geometry at rows {list(gdf.index[invalid][:5])}"
                )
        return out


def _multi(geom: shapely.Geometry) -> MultiPolygon:
    if isinstance(geom, MultiPolygon):
        return geom
    if isinstance(geom, Polygon):
        return MultiPolygon([geom])
    polys = [g for g in getattr(geom, "geoms", []) if isinstance(g, Polygon) and g.area > 0]
    return MultiPolygon(polys)


def _boundary(rng: np.random.Generator, seat: Point) -> Polygon:
    """A lobed, north-south elongated outline of AREA_KM2 with the seat in the south-centre."""
    theta = np.linspace(0, 2 * np.pi, 400, endpoint=False)
    r = np.ones_like(theta)
    for k in range(2, 9):
        r += rng.uniform(0.02, 0.07) / (k / 2) * np.cos(k * theta + rng.uniform(0, 2 * np.pi))
    x = 0.82 * r * np.cos(theta)
    y = 1.22 * r * np.sin(theta)
    poly = Polygon(np.column_stack([x, y]))
    scale = np.sqrt(AREA_KM2 * 1e6 / poly.area)
    cx, cy = seat.x + 1_500.0, seat.y + 6_500.0
    return shapely.affinity.translate(
        shapely.affinity.scale(poly, scale, scale, origin=(0, 0)), cx, cy
    )


def _voronoi_partition(
    parent: shapely.Geometry, seeds: np.ndarray, lloyd: int = 2, fixed: int = 0
) -> tuple[list[MultiPolygon], np.ndarray]:
    """Clip the Voronoi cells of ``seeds`` to ``parent``; Lloyd-relax all but the first ``fixed``."""
    seeds = seeds.copy()
    envelope = parent.envelope.buffer(10_000)
    for it in range(lloyd + 1):
        cells = shapely.voronoi_polygons(
            shapely.MultiPoint(seeds), extend_to=envelope, ordered=True
        ).geoms
        parts = [_multi(shapely.intersection(c, parent)) for c in cells]
        if it == lloyd:
            return parts, seeds
        for i, part in enumerate(parts):
            if i < fixed:
                continue
            c = part.centroid
            seeds[i] = (
                (c.x, c.y)
                if parent.contains(c)
                else shapely.get_coordinates(part.point_on_surface())[0]
            )
    raise AssertionError("unreachable")


def _allocate(total: int, weights: np.ndarray, minimum: int = 1) -> np.ndarray:
    """Integer shares of ``total`` proportional to ``weights`` (largest remainder), each >= minimum."""
    weights = np.asarray(weights, dtype=float)
    base = np.full(len(weights), minimum)
    rest = total - base.sum()
    exact = weights / weights.sum() * rest
    alloc = np.floor(exact).astype(int)
    order = np.argsort(-(exact - alloc), kind="stable")
    alloc[order[: rest - alloc.sum()]] += 1
    return base + alloc


def _towns(rng: np.random.Generator, county: Polygon, seat: Point) -> gpd.GeoDataFrame:
    cand = random_points_in(county, 4000, rng)
    seeds = [np.array([seat.x, seat.y])]
    for _ in range(len(names.TOWNS) - 1):  # farthest-point sampling spreads the town seats
        d = np.min(np.linalg.norm(cand[:, None, :] - np.array(seeds)[None], axis=2), axis=1)
        seeds.append(cand[np.argmax(d + rng.uniform(0, 2_000, len(d)))])
    parts, centres = _voronoi_partition(county, np.array(seeds), lloyd=3, fixed=1)
    rows = []
    for i, ((zh, py), geom) in enumerate(zip(names.TOWNS, parts, strict=True)):
        rows.append(
            {
                "code": f"{names.COUNTY[0]}{100 + i:03d}000",
                "name_zh": zh,
                "name_pinyin": py,
                "seat_x": centres[i][0],
                "seat_y": centres[i][1],
                "geometry": geom,
            }
        )
    return gpd.GeoDataFrame(rows, crs=METRIC_CRS)


def _villages(rng: np.random.Generator, towns: gpd.GeoDataFrame, seat: Point) -> gpd.GeoDataFrame:
    n_comm = len(names.COMMUNITIES)
    per_town = _allocate(N_VILLAGES - n_comm, towns.area.to_numpy() ** 0.9, minimum=8)
    vnames = iter(names.village_names(N_VILLAGES - n_comm, rng))
    rows = []
    for t, town in enumerate(towns.itertuples()):
        geom = town.geometry
        pieces: list[tuple[MultiPolygon, np.ndarray, str, str, str]] = []
        if t == 0:  # the county seat: four urban communities around the seat, villages outside
            core = Point(seat.x, seat.y).buffer(URBAN_RADIUS_M, quad_segs=16).intersection(geom)
            offsets = np.array([[0, -900], [0, 50], [-900, 100], [900, 100]])  # S, centre, W, E
            comm_parts, comm_seeds = _voronoi_partition(
                core, np.array([seat.x, seat.y]) + offsets, lloyd=0
            )
            for (zh, py), part, s in zip(names.COMMUNITIES, comm_parts, comm_seeds, strict=True):
                pieces.append((part, s, zh, py, "community"))
            geom = geom.difference(core)
        seeds = random_points_in(geom, per_town[t], rng)
        parts, seeds = _voronoi_partition(geom, seeds, lloyd=2)
        for part, s in zip(parts, seeds, strict=True):
            zh, py = next(vnames)
            pieces.append((part, s, zh, py, "village"))
        for j, (part, s, zh, py, kind) in enumerate(pieces, start=1):
            centre = Point(s) if part.contains(Point(s)) else part.point_on_surface()
            rows.append(
                {
                    "code": f"{town.code[:9]}{j:03d}",
                    "name_zh": zh,
                    "name_pinyin": py,
                    "kind": kind,
                    "town_code": town.code,
                    "centre_x": centre.x,
                    "centre_y": centre.y,
                    "geometry": part,
                }
            )
    villages = gpd.GeoDataFrame(rows, crs=METRIC_CRS)
    villages["population"] = _populations(rng, villages, seat)
    return villages


def _populations(rng: np.random.Generator, villages: gpd.GeoDataFrame, seat: Point) -> np.ndarray:
    """Lognormal village sizes, larger near the seat; communities ~14-22k; sums to POPULATION."""
    dist = np.hypot(villages.centre_x - seat.x, villages.centre_y - seat.y).to_numpy()
    w = rng.lognormal(0.0, 0.35, len(villages)) * (1 + 1.5 * np.exp(-dist / 6_000))
    comm = (villages.kind == "community").to_numpy()
    w[comm] = rng.uniform(7.0, 11.0, comm.sum())
    return _allocate(POPULATION, w, minimum=300)


def _grids(rng: np.random.Generator, villages: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    towns = villages.groupby("town_code", sort=True)
    n_l1 = _allocate(N_GRIDS_L1, towns.size().to_numpy() ** 1.0, minimum=2)
    rows = []
    l1_index = 0
    for (town_code, group), k in zip(towns, n_l1, strict=True):
        xy = group[["centre_x", "centre_y"]].to_numpy()
        labels = _kmeans(xy, k, rng)
        for cluster in range(k):
            l1_index += 1
            members = group[labels == cluster]
            l1_code = f"GW{l1_index:02d}"
            rows.append(
                {
                    "code": l1_code,
                    "level": 1,
                    "parent_code": None,
                    "name_zh": f"第{l1_index}一级网格",
                    "town_code": town_code,
                    "geometry": _multi(shapely.union_all(members.geometry.to_numpy())),
                }
            )
            for v, village in enumerate(members.itertuples(), start=1):
                l2_code = f"{l1_code}-{v:02d}"
                rows.append(
                    {
                        "code": l2_code,
                        "level": 2,
                        "parent_code": l1_code,
                        "name_zh": f"{village.name_zh}网格",
                        "town_code": town_code,
                        "geometry": village.geometry,
                    }
                )
                n3 = max(1, round(village.population / RESIDENTS_PER_L3_GRID))
                seeds = random_points_in(village.geometry, n3, rng)
                parts = (
                    [village.geometry]
                    if n3 == 1
                    else _voronoi_partition(village.geometry, seeds, lloyd=2)[0]
                )
                for g, part in enumerate(parts, start=1):
                    rows.append(
                        {
                            "code": f"{l2_code}-{g:02d}",
                            "level": 3,
                            "parent_code": l2_code,
                            "name_zh": f"{village.name_zh}第{g}网格",
                            "town_code": town_code,
                            "geometry": part,
                        }
                    )
    grids = gpd.GeoDataFrame(rows, crs=METRIC_CRS)
    grids["staff_role"] = grids.level.map(GRID_STAFF_ROLES)
    return grids


def _kmeans(xy: np.ndarray, k: int, rng: np.random.Generator, iters: int = 25) -> np.ndarray:
    """Plain Lloyd k-means on village centres, seeded by farthest points, no empty clusters."""
    centres = [xy[rng.integers(len(xy))]]
    for _ in range(k - 1):
        d = np.min(np.linalg.norm(xy[:, None] - np.array(centres)[None], axis=2), axis=1)
        centres.append(xy[np.argmax(d)])
    c = np.array(centres, dtype=float)
    labels = np.zeros(len(xy), dtype=int)
    for _ in range(iters):
        labels = np.argmin(np.linalg.norm(xy[:, None] - c[None], axis=2), axis=1)
        for j in range(k):
            if not np.any(labels == j):  # re-seed an empty cluster with the farthest point
                far = np.argmax(np.min(np.linalg.norm(xy[:, None] - c[None], axis=2), axis=1))
                labels[far] = j
            c[j] = xy[labels == j].mean(axis=0)
    return labels


def build_county(seed: int = 20140101) -> SampleCounty:
    """Generate every place layer of the sample county for ``seed``."""
    rng = np.random.default_rng(seed)
    to_metric = Transformer.from_crs("EPSG:4326", METRIC_CRS, always_xy=True)
    seat = Point(*to_metric.transform(*SEAT_LONLAT))
    outline = _boundary(rng, seat)
    towns = _towns(rng, outline, seat)
    villages = _villages(rng, towns, seat)
    towns["population"] = (
        villages.groupby("town_code")["population"].sum().reindex(towns.code).to_numpy()
    )
    grids = _grids(rng, villages)
    roads = make_roads(rng, outline, towns, villages, seat)
    cameras = make_cameras(rng, villages, roads, seat)
    county = gpd.GeoDataFrame(
        {
            "code": [names.COUNTY[0]],
            "name_zh": [names.COUNTY[1]],
            "name_pinyin": [names.COUNTY[2]],
            "population": [POPULATION],
        },
        geometry=[MultiPolygon([outline])],
        crs=METRIC_CRS,
    )
    return SampleCounty(
        seat=seat,
        county=county,
        towns=towns,
        villages=villages,
        grids=grids,
        roads=roads,
        cameras=cameras,
    )


__all__ = ["SampleCounty", "build_county"]
