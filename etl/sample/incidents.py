"""The sample county's incidents, calibrated to the published figures (DOMAIN.md).

Three streams: criminal cases (刑事), public-order cases (治安, several times as
many) and governance events (网格事件, from December 2014). Times follow daily,
weekly and seasonal rhythms per category; places follow ``space.IncidentSpace``.
Burglaries repeat nearby within days (near repeats).

At the default size the figures DOMAIN.md publishes hold exactly (local time,
China Standard Time): criminal cases in 2014/2015, cases solved in each year
(whatever year they occurred) and villages with no criminal case in each year.
``scale_to`` rescales every stream to another total with the same structure; the
exact calibration then no longer applies (the published figures are for one size).
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from etl.sample.county import METRIC_CRS, SampleCounty
from etl.sample.space import DETERRENCE, DISPLACED, STREAM_WEIGHTS, IncidentSpace, _frac_year
from etl.vocabulary import CATEGORY_BY_CODE

HOUR = 3600
DAY = 86400
CUTOFF = np.datetime64("2016-12-31T23:59:59").astype(np.int64)  # end of the sample's data

CRIMINAL_PER_YEAR = {2013: 812, 2014: 754, 2015: 693, 2016: 661}
PUBLIC_ORDER_PER_YEAR = {2013: 2730, 2014: 2640, 2015: 2480, 2016: 2410}
GOVERNANCE_WINDOW = ("2014-12-01", "2016-06-01")  # [start, end) of the published 700+ figure
GOVERNANCE_IN_WINDOW = 736
GOVERNANCE_AFTER = 290  # June-December 2016
SOLVED_PER_YEAR = {2014: 562, 2015: 668}
ZERO_VILLAGES = {2014: 111, 2015: 129}
NEAR_REPEAT_SHARE = 0.15  # burglaries that are near repeats of an earlier one

CATEGORY_MIX = {
    "criminal": {"burglary": 0.28, "theft": 0.30, "fraud": 0.14, "robbery": 0.05,
                 "assault": 0.13, "other_crime": 0.10},
    "public_order": {"fight": 0.30, "petty_theft": 0.30, "disturbance": 0.20,
                     "gambling": 0.10, "vandalism": 0.10},
    "governance": {"dispute": 0.35, "public_request": 0.35, "safety_hazard": 0.20,
                   "public_sentiment": 0.10},
}  # fmt: skip

# hour-of-day profiles (relative weights for hours 0..23)
_H = np.arange(24)


def _bump(center: float, width: float) -> np.ndarray:
    d = np.minimum(np.abs(_H - center), 24 - np.abs(_H - center))
    return np.exp(-0.5 * (d / width) ** 2)


HOURLY = {
    "burglary": 0.3 + _bump(13, 3) + 0.8 * _bump(2, 2),
    "theft": 0.2 + _bump(15, 4),
    "fraud": 0.1 + _bump(12, 3),
    "robbery": 0.2 + _bump(22, 2.5),
    "assault": 0.2 + _bump(21, 3),
    "other_crime": 0.5 + _bump(16, 5),
    "fight": 0.2 + _bump(22, 2.5),
    "petty_theft": 0.2 + _bump(15, 4),
    "disturbance": 0.2 + _bump(21, 3),
    "gambling": 0.2 + _bump(20, 4),
    "vandalism": 0.2 + _bump(1, 2.5),
    "dispute": 0.05 + _bump(14, 3.5),
    "public_request": 0.05 + _bump(11, 3),
    "safety_hazard": 0.05 + _bump(12, 4),
    "public_sentiment": 0.05 + _bump(15, 4),
}
# day-of-week weights, Monday first
WEEKLY = {
    "night_life": np.array([0.9, 0.9, 0.9, 1.0, 1.25, 1.4, 1.2]),
    "office": np.array([1.2, 1.15, 1.1, 1.1, 1.05, 0.55, 0.45]),
    "flat": np.ones(7),
}
WEEKLY_OF = {
    "fight": "night_life", "disturbance": "night_life", "assault": "night_life",
    "robbery": "night_life", "gambling": "night_life",
    "dispute": "office", "public_request": "office", "safety_hazard": "office",
    "public_sentiment": "office",
}  # fmt: skip


def _seasonal(category: str, doy: np.ndarray) -> np.ndarray:
    """Seasonal weight by day of year: summer violence, winter/Spring-Festival theft."""
    phase = 2 * np.pi * doy / 365.25
    if category in ("fight", "assault", "disturbance", "robbery"):
        return 1 + 0.35 * np.cos(phase - 2 * np.pi * 200 / 365.25)
    if category in ("theft", "petty_theft", "burglary", "fraud"):
        return 1 + 0.3 * np.cos(phase - 2 * np.pi * 30 / 365.25)
    if category == "safety_hazard":
        return 1 + 0.3 * np.cos(phase - 2 * np.pi * 190 / 365.25)  # rain season
    return np.ones_like(phase)


@dataclass(frozen=True)
class Plan:
    """How many incidents of each stream in each period."""

    criminal: dict[int, int]
    public_order: dict[int, int]
    governance_window: int
    governance_after: int

    @property
    def total(self) -> int:
        return (
            sum(self.criminal.values())
            + sum(self.public_order.values())
            + self.governance_window
            + self.governance_after
        )


DEFAULT_PLAN = Plan(
    CRIMINAL_PER_YEAR, PUBLIC_ORDER_PER_YEAR, GOVERNANCE_IN_WINDOW, GOVERNANCE_AFTER
)
DEFAULT_TOTAL = DEFAULT_PLAN.total


def scaled_plan(total: int) -> Plan:
    """The default plan's proportions, rescaled to ``total`` incidents (largest remainder)."""
    keys = [("c", y) for y in CRIMINAL_PER_YEAR] + [("p", y) for y in PUBLIC_ORDER_PER_YEAR]
    base = [*CRIMINAL_PER_YEAR.values(), *PUBLIC_ORDER_PER_YEAR.values(),
            GOVERNANCE_IN_WINDOW, GOVERNANCE_AFTER]  # fmt: skip
    exact = np.array(base, dtype=float) * total / DEFAULT_TOTAL
    counts = np.floor(exact).astype(int)
    counts[np.argsort(-(exact - counts), kind="stable")[: total - counts.sum()]] += 1
    crim = {y: int(c) for (s, y), c in zip(keys, counts, strict=False) if s == "c"}
    pub = {y: int(c) for (s, y), c in zip(keys, counts, strict=False) if s == "p"}
    return Plan(crim, pub, int(counts[-2]), int(counts[-1]))


def _times(category: np.ndarray, start: str, end: str, rng: np.random.Generator) -> np.ndarray:
    """Local epoch seconds in [start, end) following each category's rhythms."""
    days = np.arange(np.datetime64(start), np.datetime64(end))
    doy = (days - days.astype("datetime64[Y]")).astype(int)
    dow = (days.astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday
    out = np.empty(len(category), dtype=np.int64)
    for cat in np.unique(category):
        m = category == cat
        w = _seasonal(cat, doy) * WEEKLY[WEEKLY_OF.get(cat, "flat")][dow]
        day = rng.choice(days, size=int(m.sum()), p=w / w.sum())
        hp = HOURLY[cat] / HOURLY[cat].sum()
        hour = rng.choice(24, size=int(m.sum()), p=hp)
        sec = hour * HOUR + rng.integers(0, HOUR, int(m.sum()))
        out[m] = day.astype("datetime64[s]").astype(np.int64) + sec
    return out


def _categories(stream: str, n: int, rng: np.random.Generator) -> np.ndarray:
    mix = CATEGORY_MIX[stream]
    p = np.array(list(mix.values()))
    return rng.choice(np.array(list(mix.keys())), size=n, p=p / p.sum())


class _Generator:
    def __init__(self, county: SampleCounty, rng: np.random.Generator, calibrate: bool) -> None:
        self.space = IncidentSpace(county, rng)
        self.rng = rng
        self.calibrate = calibrate
        self.n_villages = len(county.villages)

    def locate(self, stream: str, cat: np.ndarray, t_local: np.ndarray) -> np.ndarray:
        """Locations for events, with camera deterrence and displacement for property crime."""
        rng, space = self.rng, self.space
        t = _frac_year(t_local)
        prop = np.array([CATEGORY_BY_CODE[c].property_crime for c in cat], dtype=bool)
        xy = np.empty((len(cat), 2))
        base = STREAM_WEIGHTS[stream]
        xy[~prop] = space.sample(t[~prop], base, rng)
        todo = np.flatnonzero(prop)
        xy[todo] = space.sample(t[todo], STREAM_WEIGHTS["property"], rng)
        for _ in range(4):
            if len(todo) == 0:
                break
            cam = space.covering_camera(xy[todo], t[todo])
            deterred = (cam >= 0) & (rng.random(len(todo)) < DETERRENCE)
            displaced = deterred & (rng.random(len(todo)) < DISPLACED)
            moved = space.displace(cam[displaced], rng)
            inside = shapely.contains_xy(space.county_geom, moved[:, 0], moved[:, 1])
            xy[todo[displaced][inside]] = moved[inside]
            displaced[np.flatnonzero(displaced)[~inside]] = False  # off the county: redraw
            redraw = todo[deterred & ~displaced]
            xy[redraw] = space.sample(t[redraw], STREAM_WEIGHTS["property"], rng)
            todo = redraw
        return xy

    def year_of_crimes(self, year: int, n: int) -> pd.DataFrame:
        """One year's criminal cases, with near-repeat burglaries and exact zero-case villages."""
        rng = self.rng
        n_rep = round(n * CATEGORY_MIX["criminal"]["burglary"] * NEAR_REPEAT_SHARE)
        cat_p = _categories("criminal", n - n_rep, rng)
        t = _times(cat_p, f"{year}-01-01", f"{year + 1}-01-01", rng)
        xy = self.locate("criminal", cat_p, t)
        if self.calibrate and year in ZERO_VILLAGES:
            xy = self._calibrate_villages(xy, t, cat_p, self.n_villages - ZERO_VILLAGES[year])
        # near repeats: same village, within 200 m and 7 days of a primary burglary
        src = np.flatnonzero(cat_p == "burglary")
        src = rng.choice(src, size=n_rep, replace=len(src) < n_rep) if n_rep else src[:0]
        rep_xy = self._near(xy[src])
        lag = rng.uniform(0.25, 7.0, n_rep) * DAY
        rep_t = t[src] + lag.astype(np.int64)
        end = np.datetime64(f"{year + 1}-01-01").astype("datetime64[s]").astype(np.int64)
        rep_t = np.where(rep_t >= end, t[src] - lag.astype(np.int64), rep_t)
        is_rep = np.concatenate([np.zeros(n - n_rep, bool), np.ones(n_rep, bool)])
        return pd.DataFrame(
            {
                "category": np.concatenate([cat_p, np.full(n_rep, "burglary")]),
                "t": np.concatenate([t, rep_t]),
                "x": np.concatenate([xy[:, 0], rep_xy[:, 0]]),
                "y": np.concatenate([xy[:, 1], rep_xy[:, 1]]),
                "near_repeat": is_rep,
            }
        )

    def _near(self, xy: np.ndarray) -> np.ndarray:
        """A point within 200 m of each given point, in the same village."""
        space, rng = self.space, self.rng
        home = space.village_of(xy)
        out = xy.copy()
        todo = np.arange(len(xy))
        for _ in range(20):
            if len(todo) == 0:
                break
            r = np.minimum(np.abs(rng.normal(0, 70, len(todo))), 200.0)
            a = rng.uniform(0, 2 * np.pi, len(todo))
            cand = xy[todo] + np.column_stack([np.sin(a), np.cos(a)]) * r[:, None]
            ok = space.village_of(cand) == home[todo]
            out[todo[ok]] = cand[ok]
            todo = todo[~ok]
        return out  # the rest stay on their primary's point (same village)

    def _calibrate_villages(
        self, xy: np.ndarray, t: np.ndarray, cat: np.ndarray, target: int
    ) -> np.ndarray:
        """Move cases so exactly ``target`` villages have at least one."""
        space, rng = self.space, self.rng
        v = space.village_of(xy)
        counts = np.bincount(v[v >= 0], minlength=self.n_villages)
        hit = np.flatnonzero(counts > 0)
        if len(hit) > target:  # empty the villages with the fewest cases
            tie = rng.random(len(hit))
            order = np.lexsort((tie, counts[hit]))
            drop = hit[order[: len(hit) - target]]
            allowed = np.setdiff1d(hit, drop)
            move = np.flatnonzero(np.isin(v, drop) | (v < 0))
            for _ in range(200):
                if len(move) == 0:
                    break
                cand = space.sample(_frac_year(t[move]), STREAM_WEIGHTS["criminal"], rng)
                ok = np.isin(space.village_of(cand), allowed)
                xy[move[ok]] = cand[ok]
                move = move[~ok]
            for i in move:  # fall back to the nearest allowed village's centre area
                xy[i] = space.sample_in_village(int(rng.choice(allowed)), rng)
        elif len(hit) < target:  # give a case to villages that had none
            empty = np.setdiff1d(np.arange(self.n_villages), hit)
            p = space.v_pop[empty] / space.v_pop[empty].sum()
            add = rng.choice(empty, size=target - len(hit), replace=False, p=p)
            for village in add:
                counts = np.bincount(v[v >= 0], minlength=self.n_villages)
                donor_v = int(np.argmax(counts))
                i = int(rng.choice(np.flatnonzero(v == donor_v)))
                xy[i] = space.sample_in_village(int(village), rng)
                v[i] = village
        return xy


def _lifecycle(df: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """reported/closed/solved times, handling level and status for every event."""
    n = len(df)
    cat = df.category.to_numpy()
    stream = np.array([CATEGORY_BY_CODE[c].stream for c in cat])
    t = df.t.to_numpy()
    delay = np.where(
        cat == "burglary", rng.exponential(6 * HOUR, n), rng.exponential(1.5 * HOUR, n)
    )
    delay = np.where(stream == "governance", rng.exponential(4 * HOUR, n), delay)
    reported = t + delay.astype(np.int64) + 60
    levels = np.array(["grid", "village", "town", "county"])
    gov_level = rng.choice(levels, size=n, p=[0.62, 0.23, 0.11, 0.04])
    median_days = {"grid": 1.0, "village": 3.0, "town": 8.0, "county": 20.0}
    gov_close = np.array([median_days[lv] for lv in gov_level]) * DAY * rng.lognormal(0, 0.6, n)
    po_close = 5 * DAY * rng.lognormal(0, 0.7, n)
    closed = np.where(stream == "governance", reported + gov_close, reported + po_close)
    handled = np.where(
        stream == "governance", gov_level, np.where(stream == "criminal", "county", "town")
    )
    solved = np.full(n, -1, dtype=np.int64)
    crim = stream == "criminal"
    p_solve = {"burglary": 0.62, "theft": 0.58, "fraud": 0.4, "robbery": 0.85,
               "assault": 0.93, "other_crime": 0.8}  # fmt: skip
    ps = np.array([p_solve.get(c, 0.0) for c in cat])
    will = crim & (rng.random(n) < ps)
    solve_delay = (DAY * rng.lognormal(np.log(25), 1.0, n)).astype(np.int64)
    solved[will] = reported[will] + solve_delay[will]
    solved[solved > CUTOFF] = -1
    out = df.copy()
    out["reported"] = reported
    out["closed"] = np.where(crim, -1, closed.astype(np.int64))
    out["solved"] = solved
    out["handled_level"] = handled
    return out


def _calibrate_solved(df: pd.DataFrame, rng: np.random.Generator) -> None:
    """Make exactly SOLVED_PER_YEAR[y] criminal cases have solved_at in year y (in place)."""
    crim = (df.category.map(lambda c: CATEGORY_BY_CODE[c].stream) == "criminal").to_numpy()
    for year, target in sorted(SOLVED_PER_YEAR.items()):
        start = np.datetime64(f"{year}-01-01T00:00:00").astype(np.int64)
        end = np.datetime64(f"{year + 1}-01-01T00:00:00").astype(np.int64)
        solved = df.solved.to_numpy()
        in_year = np.flatnonzero(crim & (solved >= start) & (solved < end))
        if len(in_year) > target:
            undo = rng.choice(in_year, size=len(in_year) - target, replace=False)
            df.loc[df.index[undo], "solved"] = -1
        elif len(in_year) < target:
            rep = df.reported.to_numpy()
            pool = np.flatnonzero(crim & (solved < 0) & (rep < end - DAY))
            pick = rng.choice(pool, size=target - len(in_year), replace=False)
            lo = np.maximum(rep[pick] + HOUR, start)
            df.loc[df.index[pick], "solved"] = (lo + rng.random(len(pick)) * (end - 1 - lo)).astype(
                np.int64
            )


def generate_incidents(
    county: SampleCounty, seed: int = 20140101, total: int | None = None
) -> gpd.GeoDataFrame:
    """All incidents of the sample county (METRIC_CRS), calibrated when ``total`` is default."""
    rng = np.random.default_rng(seed + 1)
    plan = DEFAULT_PLAN if total in (None, DEFAULT_TOTAL) else scaled_plan(int(total))
    gen = _Generator(county, rng, calibrate=plan == DEFAULT_PLAN)
    parts = [gen.year_of_crimes(y, n) for y, n in plan.criminal.items() if n > 0]
    for year, n in plan.public_order.items():
        cat = _categories("public_order", n, rng)
        t = _times(cat, f"{year}-01-01", f"{year + 1}-01-01", rng)
        xy = gen.locate("public_order", cat, t)
        parts.append(pd.DataFrame({"category": cat, "t": t, "x": xy[:, 0], "y": xy[:, 1]}))
    for (start, end), n in (
        (GOVERNANCE_WINDOW, plan.governance_window),
        ((GOVERNANCE_WINDOW[1], "2017-01-01"), plan.governance_after),
    ):
        cat = _categories("governance", n, rng)
        t = _times(cat, start, end, rng)
        xy = gen.locate("governance", cat, t)
        parts.append(pd.DataFrame({"category": cat, "t": t, "x": xy[:, 0], "y": xy[:, 1]}))
    df = pd.concat(parts, ignore_index=True)
    df["near_repeat"] = df["near_repeat"].fillna(False).astype(bool)
    df = _lifecycle(df, rng)
    if gen.calibrate:
        _calibrate_solved(df, rng)
    df = df.sort_values("t", kind="stable").reset_index(drop=True)
    return _to_frame(df)


def _local(sec: pd.Series | np.ndarray) -> pd.Series:
    s = pd.Series(np.asarray(sec, dtype=np.int64))
    ts = pd.to_datetime(s.where(s >= 0), unit="s")
    return ts.dt.tz_localize("Asia/Shanghai")


def _to_frame(df: pd.DataFrame) -> gpd.GeoDataFrame:
    stream = df.category.map(lambda c: CATEGORY_BY_CODE[c].stream)
    crim = (stream == "criminal").to_numpy()
    solved = df.solved.to_numpy()
    closed = np.where(crim, solved, df.closed.to_numpy())
    closed = np.where(closed > CUTOFF, -1, closed)
    status = np.where(closed >= 0, "closed", "in_progress")
    year = pd.to_datetime(df.t, unit="s").dt.year.to_numpy()
    prefix = np.select([crim, (stream == "public_order").to_numpy()], ["XS", "ZA"], "SJ")
    ids = [f"FX{p}{y}{i:07d}" for i, (p, y) in enumerate(zip(prefix, year, strict=True), start=1)]
    return gpd.GeoDataFrame(
        {
            "source_id": ids,
            "category": df.category.to_numpy(),
            "is_criminal": crim,
            "occurred_at": _local(df.t),
            "reported_at": _local(df.reported),
            "closed_at": _local(closed),
            "solved_at": _local(np.where(crim, solved, -1)),
            "handled_level": df.handled_level.to_numpy(),
            "status": status,
        },
        geometry=shapely.points(df[["x", "y"]].to_numpy()),
        crs=METRIC_CRS,
    )
