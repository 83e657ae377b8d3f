"""The sample county's road network and its 823 cameras.

Roads: a national road through the seat, provincial roads north and south-east, a
minimum spanning tree of county roads over the town seats, and a village road from
every village centre to the network. Cameras: one at every village centre, then
crossroads nearest the seat, the seat's streets, and along the main roads.
"""

from __future__ import annotations

import datetime as dt

import geopandas as gpd
import numpy as np
import shapely
from scipy.spatial import cKDTree
from shapely.geometry import LineString, MultiLineString, Point, Polygon

from etl.sample.geom import METRIC_CRS, N_CAMERAS, random_points_in


def _wiggle(a: np.ndarray, b: np.ndarray, rng: np.random.Generator, amp: float) -> LineString:
    """A gently curving road from a to b (ends fixed)."""
    length = float(np.linalg.norm(b - a))
    n = max(2, int(length / 250))
    t = np.linspace(0, 1, n + 1)
    normal = np.array([-(b - a)[1], (b - a)[0]]) / max(length, 1e-9)
    bend = np.sin(np.pi * t) * rng.uniform(-1, 1) * amp * min(1.0, length / 5_000)
    bend += np.sin(2 * np.pi * t * rng.uniform(1, 3)) * np.sin(np.pi * t) * amp * 0.15
    pts = a + np.outer(t, b - a) + np.outer(bend, normal)
    return LineString(pts)


def make_roads(
    rng: np.random.Generator,
    county: Polygon,
    towns: gpd.GeoDataFrame,
    villages: gpd.GeoDataFrame,
    seat: Point,
) -> gpd.GeoDataFrame:
    seat_xy = np.array([seat.x, seat.y])
    t_xy = towns[["seat_x", "seat_y"]].to_numpy()
    xmin, ymin, xmax, ymax = county.bounds
    rows: list[dict[str, object]] = []

    def add(line: shapely.Geometry, cls: str, name: str | None) -> None:
        clipped = line.intersection(county)
        if clipped.is_empty:
            return
        parts = [g for g in getattr(clipped, "geoms", [clipped]) if isinstance(g, LineString)]
        rows.append({"class": cls, "name_zh": name, "geometry": MultiLineString(parts)})

    # national road: west-east through the seat; two provincial roads: north and south-east
    add(
        _wiggle(np.array([xmin - 2_000, seat.y - 3_000]), seat_xy, rng, 1_500),
        "national",
        "国道344",
    )
    add(
        _wiggle(seat_xy, np.array([xmax + 2_000, seat.y + 1_500]), rng, 1_500),
        "national",
        "国道344",
    )
    north = t_xy[np.argmax(t_xy[:, 1])]
    add(_wiggle(seat_xy, north, rng, 2_000), "provincial", "省道104")
    add(_wiggle(north, np.array([north[0], ymax + 2_000]), rng, 1_000), "provincial", "省道104")
    add(
        _wiggle(seat_xy, np.array([seat.x + 8_000, ymin - 2_000]), rng, 1_000),
        "provincial",
        "省道212",
    )
    # county roads: a minimum spanning tree over the town seats
    for i, j in _mst(t_xy):
        add(_wiggle(t_xy[i], t_xy[j], rng, 600), "county", f"县道{100 + len(rows):03d}")
    # village roads: every village centre to the nearest point of the network so far
    network = shapely.union_all([r["geometry"] for r in rows])
    for v in villages.itertuples():
        c = Point(v.centre_x, v.centre_y)
        target = shapely.ops.nearest_points(c, network)[1]
        if c.distance(target) > 30:
            add(
                _wiggle(np.array(c.coords[0]), np.array(target.coords[0]), rng, 200),
                "village",
                None,
            )
    roads = gpd.GeoDataFrame(rows, crs=METRIC_CRS)
    roads.insert(0, "source_id", [f"R{i + 1:04d}" for i in range(len(roads))])
    return roads


def _mst(xy: np.ndarray) -> list[tuple[int, int]]:
    from scipy.sparse.csgraph import minimum_spanning_tree
    from scipy.spatial.distance import cdist

    tree = minimum_spanning_tree(cdist(xy, xy)).tocoo()
    return list(zip(tree.row.tolist(), tree.col.tolist(), strict=True))


def _crossroads(roads: gpd.GeoDataFrame) -> np.ndarray:
    """Points where a road ends on another road or two roads cross."""
    lines = [ls for g in roads.geometry for ls in g.geoms]
    ends = np.array([c for ls in lines for c in (ls.coords[0], ls.coords[-1])])
    tree = shapely.STRtree(lines)
    pts = shapely.points(ends)
    hits = tree.query(pts, predicate="dwithin", distance=1.0)
    counts = np.bincount(hits[0], minlength=len(pts))
    cross = ends[counts >= 2]
    if len(cross) == 0:
        return cross
    # merge duplicates within 20 m
    keep = np.ones(len(cross), bool)
    kd = cKDTree(cross)
    for i, j in sorted(kd.query_pairs(20.0)):
        if keep[i]:
            keep[j] = False
    return cross[keep]


def _road_bearing(roads: gpd.GeoDataFrame, xy: np.ndarray) -> np.ndarray:
    """Compass bearing of the nearest road at each point."""
    lines = [ls for g in roads.geometry for ls in g.geoms]
    tree = shapely.STRtree(lines)
    idx = tree.nearest(shapely.points(xy))
    out = np.empty(len(xy))
    for k, (p, i) in enumerate(zip(xy, idx, strict=True)):
        ls = lines[i]
        d = ls.project(Point(p))
        a = np.array(ls.interpolate(max(d - 10, 0)).coords[0])
        b = np.array(ls.interpolate(min(d + 10, ls.length)).coords[0])
        out[k] = np.degrees(np.arctan2(b[0] - a[0], b[1] - a[1])) % 360
    return out


def make_cameras(
    rng: np.random.Generator,
    villages: gpd.GeoDataFrame,
    roads: gpd.GeoDataFrame,
    seat: Point,
) -> gpd.GeoDataFrame:
    """823 cameras: one at every village centre, then crossroads, main roads and the seat."""
    sites: list[tuple[float, float, str]] = [
        (v.centre_x, v.centre_y, "village_centre") for v in villages.itertuples()
    ]
    cross = _crossroads(roads)
    n_cross = min(len(cross), 230)
    order = np.argsort(np.hypot(cross[:, 0] - seat.x, cross[:, 1] - seat.y))
    sites += [(x, y, "crossroads") for x, y in cross[order[:n_cross]]]
    urban = villages[villages.kind == "community"]
    n_urban = 140
    pts = random_points_in(shapely.union_all(urban.geometry.to_numpy()), n_urban, rng)
    sites += [(x, y, "urban") for x, y in pts]
    main = roads[roads["class"].isin(["national", "provincial", "county"])]
    main_lines = [ls for g in main.geometry for ls in g.geoms]
    total = sum(ls.length for ls in main_lines)
    n_road = N_CAMERAS - len(sites)
    spacing = total / n_road
    along = []
    for ls in main_lines:
        for d in np.arange(spacing / 2, ls.length, spacing):
            along.append(ls.interpolate(d + rng.uniform(-0.2, 0.2) * spacing).coords[0])
    along_arr = np.array(along)[:n_road]
    sites += [(x, y, "main_road") for x, y in along_arr]
    while len(sites) < N_CAMERAS:  # rounding shortfall: extra cameras at big village centres
        v = villages.sort_values("population", ascending=False).iloc[len(sites) % 20]
        sites.append(
            (v.centre_x + rng.normal(0, 40), v.centre_y + rng.normal(0, 40), "village_centre")
        )

    xy = np.array([(x, y) for x, y, _ in sites])
    where = np.array([s for _, _, s in sites])
    n = len(xy)
    road_dir = _road_bearing(roads, xy)
    kind = np.where(rng.random(n) < 0.2, "dome", np.where(rng.random(n) < 0.1, "panning", "fixed"))
    fov = np.where(
        kind == "dome", 360.0, np.where(kind == "panning", 120.0, rng.choice([60.0, 75.0, 90.0], n))
    )
    rng_m = np.where(kind == "dome", rng.uniform(40, 70, n), rng.uniform(60, 150, n)).round(0)
    bearing = np.where(
        np.isin(where, ["main_road", "crossroads"]),
        road_dir + rng.choice([0.0, 180.0], n) + rng.normal(0, 5, n),
        rng.uniform(0, 360, n),
    )
    bearing = np.where(kind == "dome", 0.0, np.round(bearing % 360, 1) % 360)
    # rollout: the seat first (2012-13), main roads 2013-14, villages 2013-16 (snow-bright rollout)
    start = np.select(
        [where == "urban", where == "main_road", where == "crossroads"],
        [2012.0, 2013.0, 2013.0],
        2013.5,
    )
    end = np.select([where == "urban", where == "main_road"], [2014.0, 2015.0], 2017.0)
    frac_year = rng.uniform(start, end)
    installed = [
        dt.date(int(y), 1, 1) + dt.timedelta(days=int((y - int(y)) * 365)) for y in frac_year
    ]
    status = rng.choice(["in_service", "faulty", "retired"], n, p=[0.92, 0.05, 0.03])
    cams = gpd.GeoDataFrame(
        {
            "code": [f"CAM{i + 1:04d}" for i in range(n)],
            "kind": kind,
            "bearing_deg": bearing,
            "fov_deg": fov,
            "range_m": rng_m,
            "height_m": rng.uniform(3.5, 8.0, n).round(1),
            "installed_on": installed,
            "status": status,
            "site": where,
        },
        geometry=shapely.points(xy),
        crs=METRIC_CRS,
    )
    joined = gpd.sjoin(
        cams,
        villages[["code", "geometry"]].rename(columns={"code": "village_code"}),
        how="left",
        predicate="within",
    )
    cams["village_code"] = joined["village_code"].groupby(level=0).first()
    missing = cams.village_code.isna()
    if missing.any():  # a point exactly on a boundary: take the nearest village
        near = gpd.sjoin_nearest(cams[missing][["geometry"]], villages[["code", "geometry"]])
        cams.loc[missing, "village_code"] = near["code"].groupby(level=0).first()
    return cams
