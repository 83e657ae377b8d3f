"""Topology of the management grids: do the children partition their parent?

Grids must partition: every place in the county belongs to exactly one grid at each
level. Level-1 grids tile the county, and the level-2 (level-3) grids of one parent tile
that parent. A gap is a place no grid answers for; an overlap is a place two sibling grids
both claim (its incidents count twice); a child outside its parent escapes its parent's
roll-up; an orphan names a parent that does not exist.

Every defect is reported with its true planar area in the county's CGCS2000 3-degree
Gauss-Kruger zone, however small: slivers from digitising or floating point are findings
too, and the caller chooses the threshold (`TopologyReport.exceeds`). Geometries come in
and go out in EPSG:4326, as stored.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, TypedDict, get_args

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS, Transformer

Kind = Literal["gap", "overlap", "outside", "orphan"]
KINDS: tuple[Kind, ...] = get_args(Kind)
STORAGE_CRS = CRS.from_epsg(4326)
COLUMNS = ["kind", "parent_key", "child_key", "other_child_key", "area_m2"]
_GK_FIRST_EPSG, _GK_MIN_CM, _GK_MAX_CM = 4534, 75, 135
_POLYGON = 3  # shapely type id


def gk_zone_crs(lon: float) -> CRS:
    """The CGCS2000 3-degree Gauss-Kruger CRS (no zone prefix) nearest longitude `lon`.

    Central meridian cm = 3 * round(lon / 3) (halfway longitudes go east), and
    EPSG = 4534 + (cm - 75) / 3, for cm in 75..135 (EPSG:4534..4554). 107.39 -> EPSG:4545.
    """
    if not math.isfinite(lon):
        raise ValueError(f"longitude must be a finite number of degrees, got {lon!r}")
    cm = 3 * math.floor(lon / 3 + 0.5)
    if not _GK_MIN_CM <= cm <= _GK_MAX_CM:
        raise ValueError(
            f"longitude {lon} has its nearest 3-degree central meridian at {cm}°E; CGCS2000"
            f" 3-degree Gauss-Kruger zones cover central meridians {_GK_MIN_CM}°E..{_GK_MAX_CM}°E"
        )
    return CRS.from_epsg(_GK_FIRST_EPSG + (cm - _GK_MIN_CM) // 3)


def metric_crs_for(gdf: gpd.GeoDataFrame | gpd.GeoSeries) -> CRS:
    """The Gauss-Kruger zone of the data's centroid (area-weighted; data in any CRS)."""
    if gdf.crs is None:
        raise ValueError("data has no CRS; set it first (stored geometries are EPSG:4326)")
    geoms = np.asarray(gdf.geometry.to_crs(STORAGE_CRS).array, dtype=object)
    geoms = geoms[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))]
    if geoms.size == 0:
        raise ValueError("cannot choose a metric CRS: the data has no non-empty geometry")
    weights = shapely.area(geoms)
    lon = np.average(
        shapely.get_x(shapely.centroid(geoms)), weights=weights if weights.sum() > 0 else None
    )
    return gk_zone_crs(float(lon))


class KindSummary(TypedDict):
    count: int
    area_m2: float


@dataclass(frozen=True)
class TopologyReport:
    """Partition defects, one row per connected polygon piece (orphans: one row per child).

    `findings` columns: kind ('gap' | 'overlap' | 'outside' | 'orphan'), parent_key,
    child_key (None for gaps), other_child_key (the second sibling of an overlap), area_m2
    (planar, in `metric_crs`) and geometry (EPSG:4326); `check_grid_hierarchy` adds level.
    Rows are ordered by kind, then largest area first.
    """

    findings: gpd.GeoDataFrame
    metric_crs: CRS

    def total_area_m2(self, kind: Kind | None = None) -> float:
        """Summed area of all findings, or of one kind."""
        if kind is None:
            return float(self.findings["area_m2"].sum())
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS} or None, got {kind!r}")
        return float(self.findings.loc[self.findings["kind"] == kind, "area_m2"].sum())

    def exceeds(self, threshold_m2: float = 1.0) -> bool:
        """True when any single finding is larger than `threshold_m2`."""
        return bool((self.findings["area_m2"] > threshold_m2).any())

    def summary(self) -> dict[Kind, KindSummary]:
        """Count and total area per kind (every kind present, zeros included)."""
        by_kind = self.findings.groupby("kind")["area_m2"]
        counts, areas = by_kind.count(), by_kind.sum()
        return {
            k: KindSummary(count=int(counts.get(k, 0)), area_m2=float(areas.get(k, 0.0)))
            for k in KINDS
        }


def check_partition(
    children: gpd.GeoDataFrame,
    parent: gpd.GeoDataFrame,
    *,
    child_key: str,
    parent_key: str,
    child_parent_key: str | None,
    metric_crs: CRS | None = None,
) -> TopologyReport:
    """Check that `children` partition their parents: no gap, no overlap, nothing outside.

    Each child belongs to the parent whose `parent_key` equals its `child_parent_key`; with
    `child_parent_key=None`, `parent` must be one row (the county) owning every child.
    Overlays run in the storage CRS (EPSG:4326), where edges are the straight lines every
    client draws: slivers that exist only there (edges straight in a projected CRS are
    curves in degrees) are found. Areas are measured in `metric_crs` (default: the zone
    of `parent`). For parent P with children C_i:

    - gap:     P - union(C_i)          (a parent without children is one whole gap)
    - overlap: C_i ∩ C_j, i < j, siblings only, positive area (pairs from an STRtree)
    - outside: C_i - P
    - orphan:  a child whose parent key is missing or not in `parent` (its whole area)

    Keys must be unique within `children` and within `parent`.
    """
    _require(children, "children", [child_key, *([child_parent_key] if child_parent_key else [])])
    _require(parent, "parent", [parent_key])
    if child_parent_key is None and len(parent) != 1:
        raise ValueError(
            f"child_parent_key=None needs exactly one parent row, got {len(parent)};"
            " name the children's parent-key column or dissolve the parent first"
        )
    crs = metric_crs if metric_crs is not None else metric_crs_for(parent)
    kids, parents = _in_storage_crs(children), _in_storage_crs(parent)
    pkeys = parent[parent_key].to_numpy(dtype=object)
    ckeys = children[child_key].to_numpy(dtype=object)
    owner = (
        np.full(len(children), pkeys[0], dtype=object)
        if child_parent_key is None
        else children[child_parent_key].to_numpy(dtype=object)
    )
    pos = pd.Index(pkeys).get_indexer(owner)
    orphan, ok = np.flatnonzero(pos < 0), np.flatnonzero(pos >= 0)

    own, mine = pos[ok], kids[ok]
    pieces = [
        _pieces("outside", shapely.difference(mine, parents[own]), crs, pkeys[own], ckeys[ok])
    ]
    covered = [shapely.Polygon()] * len(parents)
    for p, members in pd.Series(ok).groupby(own):
        covered[int(p)] = shapely.union_all(kids[members.to_numpy()])
    gaps = shapely.difference(parents, np.array(covered, dtype=object))
    pieces.append(_pieces("gap", gaps, crs, pkeys, np.full(len(pkeys), None, dtype=object)))

    left, right = shapely.STRtree(mine).query(mine, predicate="intersects")
    siblings = (left < right) & (own[left] == own[right])
    a, b = ok[left[siblings]], ok[right[siblings]]
    overlaps = shapely.intersection(kids[a], kids[b])
    pieces.append(_pieces("overlap", overlaps, crs, pkeys[pos[a]], ckeys[a], ckeys[b]))

    area = np.nan_to_num(_metric_area(kids[orphan], crs))
    pieces.append(_frame("orphan", kids[orphan], owner[orphan], ckeys[orphan], None, area))
    return TopologyReport(_finish(pieces, crs), crs)


def check_grid_hierarchy(
    county: gpd.GeoDataFrame,
    grids: gpd.GeoDataFrame,
    *,
    county_key: str = "code",
    metric_crs: CRS | None = None,
) -> TopologyReport:
    """Check all three grid levels: level 1 against the county, 2 and 3 against their parents.

    `grids` has columns code (unique), level (1..3), parent_code (None for level 1) and
    geometry; `county` is one row. Level 1 is always checked (no grids: the county is one
    gap); level 2 or 3 only when some grid has that level. A parent_code that is not a grid
    of the level above makes an orphan. Findings gain a `level` column: the children's level.
    """
    _require(grids, "grids", ["code", "level", "parent_code"])
    bad = ~grids["level"].isin([1, 2, 3])
    if bad.any():
        raise ValueError(
            f"grids.level must be 1, 2 or 3; got {sorted(set(grids.loc[bad, 'level']), key=str)}"
            f" (codes {list(grids.loc[bad, 'code'][:5])})"
        )
    crs = metric_crs if metric_crs is not None else metric_crs_for(county)
    frames = []
    for level in (1, 2, 3):
        kids = grids[grids["level"] == level]
        if level > 1 and kids.empty:
            continue
        parent, key, link = (
            (county, county_key, None)
            if level == 1
            else (grids[grids["level"] == level - 1], "code", "parent_code")
        )
        found = check_partition(
            kids, parent, child_key="code", parent_key=key, child_parent_key=link, metric_crs=crs
        ).findings
        frames.append(found.assign(level=level)[["level", *COLUMNS, "geometry"]])
    found = [f for f in frames if not f.empty]
    findings = pd.concat(found, ignore_index=True) if found else frames[0]
    return TopologyReport(gpd.GeoDataFrame(findings, geometry="geometry", crs=STORAGE_CRS), crs)


def _require(gdf: gpd.GeoDataFrame, name: str, columns: list[str]) -> None:
    missing = [c for c in columns if c not in gdf.columns]
    if missing:
        raise ValueError(f"{name} lacks column(s) {missing}; it has {list(gdf.columns)}")
    if gdf.crs is None:
        raise ValueError(f"{name} has no CRS; set it first (stored geometries are EPSG:4326)")
    dup = gdf[columns[0]][gdf[columns[0]].duplicated()]
    if not dup.empty:
        raise ValueError(f"{name}.{columns[0]} must be unique; repeated: {list(dup.unique()[:5])}")


DENSIFY_DEG = 1e-4  # ~10 m: short enough that a projected edge stays on its straight 4326 line


def _metric_area(geoms: np.ndarray, crs: CRS) -> np.ndarray:
    """Areas in m2 of storage-CRS geometries, measured in the metric `crs`.

    Edges are densified first: a kilometre-long sliver whose edges are straight in
    degrees would otherwise bend in projection and gain hundreds of m2 it does not have.
    """
    if len(geoms) == 0:
        return np.zeros(0)
    t = Transformer.from_crs(STORAGE_CRS, crs, always_xy=True)
    dense = shapely.segmentize(geoms, DENSIFY_DEG)
    projected = shapely.transform(dense, lambda c: np.column_stack(t.transform(c[:, 0], c[:, 1])))
    return shapely.area(projected)


def _in_storage_crs(gdf: gpd.GeoDataFrame) -> np.ndarray:
    """Geometries in EPSG:4326, in floating precision (a fixed grid would snap slivers away),
    invalid ones (e.g. after reprojection) repaired."""
    geoms = np.asarray(gdf.geometry.to_crs(STORAGE_CRS).array, dtype=object)
    fixed = shapely.get_precision(geoms) > 0
    geoms[fixed] = shapely.set_precision(geoms[fixed], 0.0)
    broken = ~shapely.is_missing(geoms) & ~shapely.is_valid(geoms)
    geoms[broken] = shapely.make_valid(geoms[broken])
    return geoms


def _pieces(
    kind: Kind,
    geoms: np.ndarray,
    crs: CRS,
    parent: np.ndarray,
    child: np.ndarray,
    other: np.ndarray | None = None,
) -> pd.DataFrame:
    """One row per polygon piece of positive area; lines and points from touching dropped."""
    parts, first = shapely.get_parts(geoms, return_index=True)
    parts, second = shapely.get_parts(parts, return_index=True)  # collections may nest
    polygon = shapely.get_type_id(parts) == _POLYGON
    area = np.zeros(len(parts))
    area[polygon] = _metric_area(parts[polygon], crs)
    keep = polygon & (area > 0)
    src = first[second][keep]
    other = None if other is None else other[src]
    return _frame(kind, parts[keep], parent[src], child[src], other, area[keep])


def _frame(
    kind: Kind,
    geoms: np.ndarray,
    parent: np.ndarray,
    child: np.ndarray,
    other: np.ndarray | None,
    area: np.ndarray,
) -> pd.DataFrame:
    none = np.full(len(geoms), None, dtype=object)
    keys = {"kind": np.full(len(geoms), kind, dtype=object), "parent_key": parent}
    keys |= {"child_key": child, "other_child_key": none if other is None else other}
    table = pd.DataFrame({k: pd.Series(v, dtype=object) for k, v in keys.items()})
    return table.assign(area_m2=np.asarray(area, dtype=float), geometry=geoms)


def _finish(pieces: list[pd.DataFrame], crs: CRS) -> gpd.GeoDataFrame:
    found = [p for p in pieces if not p.empty]
    table = pd.concat(found, ignore_index=True) if found else pieces[0]
    rank = table["kind"].map(KINDS.index).to_numpy()
    table = table.iloc[np.lexsort((-table["area_m2"].to_numpy(), rank))].reset_index(drop=True)
    return gpd.GeoDataFrame(table, geometry=gpd.GeoSeries(table["geometry"], crs=STORAGE_CRS))
