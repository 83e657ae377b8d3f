"""Where the sample county's incidents happen: a mixture of spatial components.

Incidents cluster where people and traffic are: around village centres (by
population), the county seat, the market towns, along main roads, at "street"
sites (village centres, crossroads, the seat's streets), and in a few hotspots
whose intensity changes with time (persistent, emerging, intensifying, fading).
Property crimes are deterred inside a camera's field of view once it is installed;
part of the deterred crime is displaced to just outside the view.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from scipy.spatial import cKDTree

from etl.sample.county import SampleCounty

YEAR0 = 2013.0  # time is measured in fractional years; hotspots are defined over 2013-2017


@dataclass(frozen=True)
class Hotspot:
    name: str
    x: float
    y: float
    sigma: float
    weight: float
    kind: str  # persistent | emerging | intensifying | fading

    def intensity(self, t: np.ndarray) -> np.ndarray:
        """Relative intensity at fractional year ``t`` (0 = absent, 1 = full)."""
        s = np.asarray(t, dtype=float) - YEAR0
        if self.kind == "emerging":  # absent until mid-2014, full from mid-2015
            return np.clip((s - 1.5) / 1.0, 0.0, 1.0)
        if self.kind == "intensifying":
            return np.clip(0.25 + 0.75 * s / 4.0, 0.0, 1.0)
        if self.kind == "fading":  # strong in 2013, gone after mid-2015
            return np.clip(1.0 - s / 2.5, 0.0, 1.0)
        return np.ones_like(s)


# component weights per stream (before hotspots); property crimes lean on street sites
COMPONENTS = ("village", "seat", "market", "road", "street")
STREAM_WEIGHTS = {
    "criminal": (0.34, 0.16, 0.12, 0.10, 0.10),
    "property": (0.26, 0.12, 0.10, 0.08, 0.30),
    "public_order": (0.34, 0.18, 0.14, 0.08, 0.14),
    "governance": (0.70, 0.10, 0.10, 0.0, 0.10),
}
DETERRENCE = 0.55  # share of property crimes in a working camera's view that do not happen there
DISPLACED = 0.45  # share of the deterred that happen just outside the view instead


class IncidentSpace:
    """Samples incident locations (METRIC_CRS metres) for the sample county."""

    def __init__(self, county: SampleCounty, rng: np.random.Generator) -> None:
        self.county_geom = county.county.geometry.iloc[0]
        shapely.prepare(self.county_geom)
        v = county.villages
        self.v_xy = v[["centre_x", "centre_y"]].to_numpy()
        self.v_sigma = np.sqrt(v.area.to_numpy()) / 4.0
        self.v_pop = v.population.to_numpy(dtype=float)
        self.v_geoms = v.geometry.to_numpy()
        self.v_tree = shapely.STRtree(self.v_geoms)
        self.seat = np.array([county.seat.x, county.seat.y])
        t = county.towns
        self.t_xy = t[["seat_x", "seat_y"]].to_numpy()
        self.t_pop = t.population.to_numpy(dtype=float)
        main = county.roads[county.roads["class"].isin(["national", "provincial"])]
        self.road_lines = [ls for g in main.geometry for ls in g.geoms]
        self.road_cum = np.cumsum([ls.length for ls in self.road_lines])
        cams = county.cameras
        street = np.vstack([self.v_xy, shapely.get_coordinates(cams.geometry.to_numpy())])
        self.street_xy = street
        self.street_w = np.concatenate([self.v_pop / self.v_pop.mean(), np.ones(len(cams))])
        self.cam_xy = shapely.get_coordinates(cams.geometry.to_numpy())
        self.cam_bearing = cams.bearing_deg.to_numpy(dtype=float)
        self.cam_fov = cams.fov_deg.to_numpy(dtype=float)
        self.cam_range = cams.range_m.to_numpy(dtype=float)
        installed = np.array(cams.installed_on.tolist(), dtype="datetime64[D]")
        self.cam_installed = _frac_year(installed.astype("datetime64[s]").astype(np.int64))
        self.cam_tree = cKDTree(self.cam_xy)
        self.hotspots = self._hotspots(rng)

    def _hotspots(self, rng: np.random.Generator) -> list[Hotspot]:
        by_pop = np.argsort(-self.t_pop)
        south = np.argsort(self.v_xy[:, 1])[:40]
        fade_v = self.v_xy[rng.choice(south)]
        emerge = self.t_xy[by_pop[1]] + np.array([1_500.0, 800.0])
        intens = self.t_xy[by_pop[3]]
        market = self.seat + np.array([250.0, -350.0])
        spots = [
            ("seat market", market, 260.0, 0.05, "persistent"),
            ("new industrial park", emerge, 420.0, 0.07, "emerging"),
            ("market town", intens, 380.0, 0.06, "intensifying"),
            ("old mining village", fade_v, 450.0, 0.06, "fading"),
        ]
        return [
            Hotspot(name, float(xy[0]), float(xy[1]), sigma, weight, kind)
            for name, xy, sigma, weight, kind in spots
        ]

    # -- sampling --------------------------------------------------------------------------
    def sample(
        self, t: np.ndarray, weights: tuple[float, ...], rng: np.random.Generator
    ) -> np.ndarray:
        """One location per event time ``t`` (fractional years), inside the county."""
        n = len(t)
        w = np.empty((n, len(COMPONENTS) + len(self.hotspots)))
        w[:, : len(COMPONENTS)] = weights
        for k, h in enumerate(self.hotspots):
            w[:, len(COMPONENTS) + k] = h.weight * h.intensity(t)
        cum = np.cumsum(w, axis=1)
        comp = (rng.random(n)[:, None] * cum[:, -1:] > cum).sum(axis=1)
        xy = np.empty((n, 2))
        todo = np.arange(n)
        for _ in range(50):
            xy[todo] = self._draw(comp[todo], rng)
            inside = shapely.contains_xy(self.county_geom, xy[todo, 0], xy[todo, 1])
            todo = todo[~inside]
            if len(todo) == 0:
                return xy
        xy[todo] = self.v_xy[rng.integers(len(self.v_xy), size=len(todo))]
        return xy

    def _draw(self, comp: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        n = len(comp)
        xy = np.empty((n, 2))
        noise = rng.standard_normal((n, 2))
        for c in np.unique(comp):
            m = comp == c
            k = int(m.sum())
            if c == 0:
                i = rng.choice(len(self.v_xy), size=k, p=self.v_pop / self.v_pop.sum())
                xy[m] = self.v_xy[i] + noise[m] * self.v_sigma[i, None]
            elif c == 1:
                xy[m] = self.seat + noise[m] * 900.0
            elif c == 2:
                i = rng.choice(len(self.t_xy), size=k, p=self.t_pop / self.t_pop.sum())
                xy[m] = self.t_xy[i] + noise[m] * 500.0
            elif c == 3:
                xy[m] = self._along_roads(k, rng) + noise[m] * 60.0
            elif c == 4:
                p = self.street_w / self.street_w.sum()
                i = rng.choice(len(self.street_xy), size=k, p=p)
                xy[m] = self.street_xy[i] + noise[m] * 70.0
            else:
                h = self.hotspots[c - len(COMPONENTS)]
                xy[m] = np.array([h.x, h.y]) + noise[m] * h.sigma
        return xy

    def _along_roads(self, k: int, rng: np.random.Generator) -> np.ndarray:
        d = rng.uniform(0, self.road_cum[-1], k)
        line = np.searchsorted(self.road_cum, d)
        start = np.concatenate([[0.0], self.road_cum[:-1]])
        out = np.empty((k, 2))
        for li in np.unique(line):
            m = line == li
            pts = shapely.line_interpolate_point(self.road_lines[li], d[m] - start[li])
            out[m] = shapely.get_coordinates(pts)
        return out

    # -- cameras -----------------------------------------------------------------------------
    def covering_camera(self, xy: np.ndarray, t: np.ndarray) -> np.ndarray:
        """Index of an installed camera whose field of view holds each point, else -1."""
        d, idx = self.cam_tree.query(xy, k=8, distance_upper_bound=float(self.cam_range.max()))
        valid = idx < len(self.cam_xy)
        j = np.where(valid, idx, 0)
        dx = xy[:, 0, None] - self.cam_xy[j, 0]
        dy = xy[:, 1, None] - self.cam_xy[j, 1]
        to_point = np.degrees(np.arctan2(dx, dy)) % 360.0
        off = np.abs((to_point - self.cam_bearing[j] + 180.0) % 360.0 - 180.0)
        seen = (
            valid
            & (d <= self.cam_range[j])
            & ((off <= self.cam_fov[j] / 2.0) | (self.cam_fov[j] >= 360.0))
            & (t[:, None] >= self.cam_installed[j])
        )
        first = np.argmax(seen, axis=1)
        return np.where(seen.any(axis=1), idx[np.arange(len(xy)), first], -1)

    def displace(self, cam: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Points just outside the range of cameras ``cam`` (the displacement ring)."""
        r = self.cam_range[cam] + rng.uniform(30.0, 250.0, len(cam))
        a = rng.uniform(0, 2 * np.pi, len(cam))
        return self.cam_xy[cam] + np.column_stack([np.sin(a), np.cos(a)]) * r[:, None]

    # -- villages ----------------------------------------------------------------------------
    def village_of(self, xy: np.ndarray) -> np.ndarray:
        """Index of the village holding each point (-1 when none)."""
        pts, vil = self.v_tree.query(shapely.points(xy), predicate="within")
        out = np.full(len(xy), -1)
        out[pts] = vil
        return out

    def sample_in_village(self, v: int, rng: np.random.Generator) -> np.ndarray:
        geom = self.v_geoms[v]
        for _ in range(200):
            p = self.v_xy[v] + rng.standard_normal(2) * self.v_sigma[v] * 0.5
            if geom.contains(shapely.Point(p)) and self.county_geom.contains(shapely.Point(p)):
                return p
        return self.v_xy[v].copy()


def _frac_year(epoch_seconds: np.ndarray) -> np.ndarray:
    """Fractional year (e.g. 2014.5) of local-time epoch seconds."""
    days = np.asarray(epoch_seconds, dtype=np.int64) // 86400
    dates = days.astype("datetime64[D]")
    years = dates.astype("datetime64[Y]")
    start = years.astype("datetime64[D]")
    length = (years + np.timedelta64(1, "Y")).astype("datetime64[D]") - start
    return 1970 + years.astype(np.int64) + (dates - start).astype(float) / length.astype(float)
