"""Turn a raw chunk into canonical, typed rows and a row-level error report.

Every problem is reported with the record number, the field, the value received
and what is allowed, so a user can fix the file. The database re-checks the same
rules with constraints; this module exists so the user gets a report instead of
the first constraint violation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import shapely
from pyproj import CRS, Transformer

from etl import parse
from etl.coords import to_wgs84
from etl.fields import ColumnPlan, LayerSpec
from etl.pgcopy import points_ewkb
from etl.readers import Chunk
from etl.vocabulary import ALIASES, CAMERA_KINDS, CATEGORY_BY_CODE, VILLAGE_KINDS

WGS84 = CRS.from_epsg(4326)
GEOM_TYPES = {
    "point": ("Point",),
    "line": ("LineString", "MultiLineString"),
    "polygon": ("Polygon", "MultiPolygon"),
}
FUTURE_SLACK = pd.Timedelta(minutes=10)
OUTSIDE_TOLERANCE_M2 = 1.0


@dataclass
class Context:
    """What validation needs besides the rows."""

    spec: LayerSpec
    plan: ColumnPlan
    source_crs: CRS
    convert_from: str = "wgs84"
    local_tz: str = "Asia/Shanghai"
    county: shapely.Geometry | None = None  # in EPSG:4326
    metric_crs: CRS | None = None
    now: pd.Timestamp = field(default_factory=lambda: pd.Timestamp.now(tz="UTC"))
    naive_times: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._to_wgs = (
            None
            if self.source_crs.equals(WGS84) or self.source_crs.to_epsg() == 4490
            else Transformer.from_crs(self.source_crs, WGS84, always_xy=True)
        )
        self._to_metric = (
            Transformer.from_crs(WGS84, self.metric_crs, always_xy=True)
            if self.metric_crs
            else None
        )
        if self.county is not None:
            shapely.prepare(self.county)
            if self._to_metric is not None:
                self._county_m = shapely.transform(
                    self.county,
                    lambda c: np.column_stack(self._to_metric.transform(c[:, 0], c[:, 1])),
                )


@dataclass
class Checked:
    rows: pd.DataFrame  # canonical columns + row + geom (EWKB hex)
    errors: pd.DataFrame  # row, field, value, reason


class _Report:
    def __init__(self, rows: np.ndarray) -> None:
        self.rows = rows
        self.parts: list[pd.DataFrame] = []
        self.bad = np.zeros(len(rows), dtype=bool)

    def add(self, mask: np.ndarray, fld: str, values: Any, reason: str | np.ndarray) -> None:
        mask = np.asarray(mask, dtype=bool)
        if not mask.any():
            return
        if callable(values):
            values = values()
        vals = pd.Series(np.asarray(values, dtype=object)[mask]).astype(str)
        reasons = reason[mask] if isinstance(reason, np.ndarray) else reason
        self.parts.append(
            pd.DataFrame(
                {"row": self.rows[mask], "field": fld, "value": vals.to_numpy(), "reason": reasons}
            )
        )
        self.bad |= mask

    def frame(self) -> pd.DataFrame:
        if not self.parts:
            return pd.DataFrame(
                {"row": pd.Series(dtype=np.int64), "field": [], "value": [], "reason": []}
            )
        return pd.concat(self.parts, ignore_index=True)


def _geometry(chunk: Chunk, ctx: Context, rep: _Report) -> np.ndarray:
    """Geometries in EPSG:4326, 2-D, checked for presence, type, validity and place."""
    plan, spec = ctx.plan, ctx.spec
    raw = chunk.frame
    if chunk.geometry is not None:
        geoms = np.asarray(chunk.geometry, dtype=object)
        rep.add(pd.isna(geoms), "geometry", geoms, "missing geometry")
    elif plan.wkt is not None:
        text = parse.as_str(raw[plan.wkt])
        geoms = shapely.from_wkt(text.fillna("").to_numpy(dtype=object), on_invalid="ignore")
        missing = text.isna().to_numpy()
        rep.add(missing, plan.wkt, text, "missing geometry (empty WKT)")
        rep.add(~missing & pd.isna(geoms), plan.wkt, text, "not valid WKT")
    else:
        assert plan.lon is not None and plan.lat is not None
        lon, bad_lon = parse.as_float(raw[plan.lon])
        lat, bad_lat = parse.as_float(raw[plan.lat])
        rep.add(bad_lon, plan.lon, raw[plan.lon], "not a number")
        rep.add(bad_lat, plan.lat, raw[plan.lat], "not a number")
        none = lon.isna().to_numpy() | lat.isna().to_numpy()
        rep.add(none & ~bad_lon & ~bad_lat, plan.lon, raw[plan.lon], "missing coordinate")
        geoms = shapely.points(lon.to_numpy(), lat.to_numpy())
        geoms[none] = None
    geoms = shapely.force_2d(geoms)
    present = ~pd.isna(geoms)
    empty = present & shapely.is_empty(geoms)
    rep.add(empty, "geometry", lambda: shapely.to_wkt(geoms), "empty geometry")
    ok = present & ~empty
    types = shapely.get_type_id(geoms)
    allowed = {shapely.GeometryType[t.upper()].value for t in GEOM_TYPES[spec.geometry]}
    wrong = ok & ~np.isin(types, list(allowed))
    rep.add(
        wrong, "geometry",
        lambda: np.array([shapely.GeometryType(t).name.title() if t >= 0 else "None" for t in types]),
        f"wrong geometry type for {spec.name}: expected {' or '.join(GEOM_TYPES[spec.geometry])}",
    )  # fmt: skip
    ok &= ~wrong
    if ctx._to_wgs is not None:
        t = ctx._to_wgs
        geoms[ok] = shapely.transform(
            geoms[ok], lambda c: np.column_stack(t.transform(c[:, 0], c[:, 1]))
        )
    if ctx.convert_from != "wgs84":
        src = ctx.convert_from
        geoms[ok] = shapely.transform(
            geoms[ok], lambda c: np.column_stack(to_wgs84(c[:, 0], c[:, 1], src))
        )
    xy_ok = ok.copy()
    if spec.geometry == "point":
        xy = shapely.get_coordinates(geoms[ok])
        lonlat_bad = np.zeros(len(geoms), bool)
        lonlat_bad[ok] = (
            (np.abs(xy[:, 0]) > 180) | (np.abs(xy[:, 1]) > 90) | ~np.isfinite(xy).all(axis=1)
        )
        rep.add(
            lonlat_bad,
            "geometry",
            lambda: shapely.to_wkt(geoms),
            "coordinates out of range for EPSG:4326 (check --crs)",
        )
        xy_ok &= ~lonlat_bad
    invalid = xy_ok & ~shapely.is_valid(geoms)
    if invalid.any():
        reasons = np.array(
            [shapely.is_valid_reason(g) if m else "" for g, m in zip(geoms, invalid, strict=True)]
        )
        rep.add(
            invalid,
            "geometry",
            shapely.to_wkt(geoms, rounding_precision=6),
            "invalid geometry: " + reasons,
        )
    xy_ok &= ~invalid
    if ctx.county is not None:
        _outside(geoms, xy_ok, ctx, rep)
    if spec.geometry == "polygon":
        poly = xy_ok & (shapely.get_type_id(geoms) == shapely.GeometryType.POLYGON)
        geoms[poly] = shapely.multipolygons(geoms[poly][:, None]) if poly.any() else geoms[poly]
    elif spec.geometry == "line":
        line = xy_ok & (shapely.get_type_id(geoms) == shapely.GeometryType.LINESTRING)
        geoms[line] = shapely.multilinestrings(geoms[line][:, None]) if line.any() else geoms[line]
    return geoms


def _outside(geoms: np.ndarray, ok: np.ndarray, ctx: Context, rep: _Report) -> None:
    county = ctx.county
    if ctx.spec.geometry == "point":
        xy = shapely.get_coordinates(geoms[ok])
        inside = np.ones(len(geoms), bool)
        inside[ok] = shapely.contains_xy(county, xy[:, 0], xy[:, 1])
        rep.add(
            ok & ~inside,
            "geometry",
            lambda: shapely.to_wkt(geoms, rounding_precision=6),
            "outside the county boundary",
        )
        return
    if ctx.spec.geometry == "line":
        touches = np.ones(len(geoms), bool)
        touches[ok] = shapely.intersects(county, geoms[ok])
        rep.add(
            ok & ~touches,
            "geometry",
            shapely.to_wkt(geoms, rounding_precision=5),
            "entirely outside the county boundary",
        )
        return
    idx = np.flatnonzero(ok & ~shapely.covers(county, geoms))
    if len(idx) == 0 or ctx._to_metric is None:
        return
    t = ctx._to_metric
    metric = shapely.transform(geoms[idx], lambda c: np.column_stack(t.transform(c[:, 0], c[:, 1])))
    out_area = shapely.area(shapely.difference(metric, ctx._county_m))
    far = out_area > OUTSIDE_TOLERANCE_M2
    mask = np.zeros(len(geoms), bool)
    mask[idx[far]] = True
    reason = np.full(len(geoms), "", dtype=object)
    reason[idx[far]] = [f"{a:,.0f} m² lies outside the county boundary" for a in out_area[far]]
    rep.add(mask, "geometry", np.full(len(geoms), "(polygon)", dtype=object), reason.astype(str))


def check_chunk(chunk: Chunk, ctx: Context) -> Checked:
    """Validate one chunk; the good rows come back canonical, the bad ones as errors."""
    spec, plan = ctx.spec, ctx.plan
    rows = np.arange(chunk.start, chunk.start + len(chunk.frame), dtype=np.int64)
    rep = _Report(rows)
    raw = chunk.frame.reset_index(drop=True)
    out = pd.DataFrame({"row": rows})
    for f in spec.fields:
        col = plan.fields.get(f.name)
        if col is None:
            out[f.name] = None
            continue
        s = raw[col]
        if f.kind == "str":
            v, bad = parse.as_str(s), np.zeros(len(s), bool)
        elif f.kind == "int":
            v, bad = parse.as_int(s)
            rep.add(bad, col, s, "not a whole number")
        elif f.kind == "float":
            v, bad = parse.as_float(s)
            rep.add(bad, col, s, "not a number")
        elif f.kind == "bool":
            v, bad = parse.as_bool(s)
            rep.add(bad, col, s, "not a yes/no value (true/false, 1/0, 是/否)")
        elif f.kind == "date":
            v, bad = parse.as_date(s)
            rep.add(bad, col, s, "not a date (e.g. 2014-03-05 or 2014年3月5日)")
        elif f.kind == "datetime":
            v, bad, naive = parse.as_datetime(s, ctx.local_tz)
            ctx.naive_times[f.name] = ctx.naive_times.get(f.name, 0) + naive
            rep.add(
                bad, col, s, "not a date-time (e.g. 2014-03-05 14:22 or 2014-03-05T14:22+08:00)"
            )
            future = v.notna().to_numpy() & (v > ctx.now + FUTURE_SLACK).to_numpy()
            rep.add(future, col, s, "in the future")
        else:
            aliases = ALIASES[f.vocab or f.name]
            v, bad = parse.as_vocab(s, aliases)
            allowed = ", ".join(sorted(set(aliases.values())))
            rep.add(bad, col, s, f"unknown {f.name}; allowed: {allowed}")
        if f.required:
            rep.add(parse.blank(s), col, s, "required value is missing")
        # tz-aware datetimes: keep the array (to_numpy() would box every value as a Timestamp)
        if isinstance(getattr(v, "dtype", None), pd.DatetimeTZDtype):
            out[f.name] = v.array
        else:
            out[f.name] = v.to_numpy() if hasattr(v, "to_numpy") else v
    geoms = _geometry(chunk, ctx, rep)
    RULES[spec.name](out, raw, plan, rep)
    good = ~rep.bad
    out = out[good].reset_index(drop=True)
    kept = geoms[good]
    if spec.geometry == "point":
        out["geom"] = points_ewkb(shapely.get_coordinates(kept))
    else:
        out["geom"] = shapely.to_wkb(shapely.set_srid(kept, 4326), include_srid=True)
    return Checked(out, rep.frame())


def _col(plan: ColumnPlan, name: str) -> str:
    return plan.fields.get(name, name)


def _range(out: pd.DataFrame, raw: pd.DataFrame, plan: ColumnPlan, rep: _Report, name: str,
           ok: np.ndarray, allowed: str) -> None:  # fmt: skip
    v = out[name]
    bad = v.notna().to_numpy() & ~ok
    rep.add(bad, _col(plan, name), raw.get(_col(plan, name), v), f"out of range: {allowed}")


def _cameras(out: pd.DataFrame, raw: pd.DataFrame, plan: ColumnPlan, rep: _Report) -> None:
    b, f, r, h = (
        out[c].astype(float).to_numpy() for c in ("bearing_deg", "fov_deg", "range_m", "height_m")
    )
    with np.errstate(invalid="ignore"):
        _range(
            out, raw, plan, rep, "bearing_deg", (b >= 0) & (b < 360), "bearing must be in [0, 360)"
        )
        _range(
            out,
            raw,
            plan,
            rep,
            "fov_deg",
            (f > 0) & (f <= 360),
            "field of view must be in (0, 360]",
        )
        _range(
            out, raw, plan, rep, "range_m", (r > 0) & (r <= 2000), "range must be in (0, 2000] m"
        )
        _range(
            out,
            raw,
            plan,
            rep,
            "height_m",
            (h > 0) & (h <= 100),
            "mounting height must be in (0, 100] m",
        )
    out["status"] = out["status"].fillna("in_service")
    kind = out["kind"].astype("string").str.lower().fillna("fixed")
    bad = ~kind.isin(CAMERA_KINDS).to_numpy()
    rep.add(bad, _col(plan, "kind"), kind, f"unknown kind; allowed: {', '.join(CAMERA_KINDS)}")
    out["kind"] = kind.to_numpy()
    today = pd.Timestamp.now().date()
    inst = out["installed_on"]
    future = np.array([d is not None and not pd.isna(d) and d > today for d in inst], dtype=bool)
    rep.add(future, _col(plan, "installed_on"), inst, "installation date is in the future")


def _incidents(out: pd.DataFrame, raw: pd.DataFrame, plan: ColumnPlan, rep: _Report) -> None:
    times = ("occurred_at", "reported_at", "closed_at", "solved_at")
    for c in times:  # columns absent from the file arrive as None
        out[c] = pd.to_datetime(out[c], utc=True)
    occ, repd, closed, solved = (out[c] for c in times)
    repd = repd.where(repd.notna(), occ)
    out["reported_at"] = repd
    for later, earlier, name in (
        (repd, occ, "reported_at"),
        (closed, repd, "closed_at"),
        (solved, occ, "solved_at"),
    ):
        bad = (later.notna() & earlier.notna() & (later < earlier)).to_numpy()
        rep.add(
            bad,
            _col(plan, name),
            lambda later=later: later.astype(str),
            f"{name} is before {'occurred_at' if earlier is occ else 'reported_at'}",
        )
    cat = out["category"]
    stream = cat.map({k: v.stream for k, v in CATEGORY_BY_CODE.items()}, na_action="ignore")
    criminal = (stream == "criminal").to_numpy()
    given = out["is_criminal"]
    has = given.notna().to_numpy()
    clash = has & (given.fillna(False).to_numpy().astype(bool) != criminal) & cat.notna().to_numpy()
    rep.add(
        clash,
        _col(plan, "is_criminal"),
        given,
        "contradicts the category (criminal categories: "
        + ", ".join(c for c, v in CATEGORY_BY_CODE.items() if v.stream == "criminal")
        + ")",
    )
    out["is_criminal"] = criminal
    status = out["status"]
    derived = np.where(closed.notna().to_numpy(), "closed", "open")
    status = status.where(status.notna(), pd.Series(derived, index=status.index))
    mismatch = (status == "closed").to_numpy() != closed.notna().to_numpy()
    rep.add(
        mismatch,
        _col(plan, "status"),
        status,
        "status 'closed' needs closed_at, and closed_at needs status 'closed'",
    )
    out["status"] = status.to_numpy()


def _villages(out: pd.DataFrame, raw: pd.DataFrame, plan: ColumnPlan, rep: _Report) -> None:
    kind = out["kind"].astype("string").str.lower()
    kind = kind.replace({"社区": "community", "村": "village", "行政村": "village"}).fillna(
        "village"
    )
    bad = ~kind.isin(VILLAGE_KINDS).to_numpy()
    rep.add(bad, _col(plan, "kind"), kind, f"unknown kind; allowed: {', '.join(VILLAGE_KINDS)}")
    out["kind"] = kind.to_numpy()
    _population(out, raw, plan, rep)


def _population(out: pd.DataFrame, raw: pd.DataFrame, plan: ColumnPlan, rep: _Report) -> None:
    pop = out["population"]
    bad = (pop.notna() & (pop.astype(float) < 0)).to_numpy()
    rep.add(bad, _col(plan, "population"), pop, "population cannot be negative")


def _grids(out: pd.DataFrame, raw: pd.DataFrame, plan: ColumnPlan, rep: _Report) -> None:
    from etl.vocabulary import GRID_STAFF_ROLES

    level = out["level"]
    bad = (level.notna() & ~level.isin([1, 2, 3])).to_numpy()
    rep.add(bad, _col(plan, "level"), level, "grid level must be 1, 2 or 3")
    parent = out["parent_code"]
    top = (level == 1).to_numpy()
    rep.add(
        top & parent.notna().to_numpy(),
        _col(plan, "parent_code"),
        parent,
        "a level-1 grid has no parent",
    )
    rep.add(
        ~top & ~bad & parent.isna().to_numpy(),
        _col(plan, "parent_code"),
        parent,
        "level-2 and level-3 grids need a parent_code",
    )
    role = out["staff_role"]
    out["staff_role"] = role.where(role.notna(), level.map(GRID_STAFF_ROLES))


def _none(out: pd.DataFrame, raw: pd.DataFrame, plan: ColumnPlan, rep: _Report) -> None:
    return None


RULES = {
    "county": _population,
    "towns": _population,
    "villages": _villages,
    "grids": _grids,
    "roads": _none,
    "cameras": _cameras,
    "incidents": _incidents,
}
