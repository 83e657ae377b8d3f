"""The sample county, loaded through the real loader into PostGIS, matches DOMAIN.md."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely
from gwtest import engine_of, q
from sqlalchemy.engine import URL

from etl.export import read_layer
from etl.sample.county import build_county
from etl.sample.incidents import DEFAULT_TOTAL, generate_incidents
from etl.sample.names import COMMUNITIES, TOWNS
from spatial.topology import check_grid_hierarchy

LOCAL_YEAR = "extract(year FROM {} AT TIME ZONE 'Asia/Shanghai')"


def test_criminal_cases_per_year_match_published_figures(sample_url: URL) -> None:
    rows = dict(
        q(
            sample_url,
            f"SELECT {LOCAL_YEAR.format('occurred_at')}::int, count(*) FROM incidents"
            " WHERE is_criminal GROUP BY 1",
        )
    )
    assert rows[2014] == 754
    assert rows[2015] == 693
    assert round((693 - 754) / 754 * 100, 1) == -8.1


def test_solved_cases_counted_by_year_of_solving(sample_url: URL) -> None:
    rows = dict(
        q(
            sample_url,
            f"SELECT {LOCAL_YEAR.format('solved_at')}::int, count(*) FROM incidents"
            " WHERE is_criminal AND solved_at IS NOT NULL GROUP BY 1",
        )
    )
    assert rows[2014] == 562
    assert rows[2015] == 668
    # some cases solved in 2015 occurred in 2014: solving is counted by the year of solving
    backlog = q(
        sample_url,
        f"SELECT count(*) FROM incidents WHERE is_criminal AND {LOCAL_YEAR.format('solved_at')} = 2015"
        f" AND {LOCAL_YEAR.format('occurred_at')} < 2015",
    )[0][0]
    assert backlog > 0


@pytest.mark.parametrize(("year", "zero"), [(2014, 111), (2015, 129)])
def test_villages_without_criminal_case(sample_url: URL, year: int, zero: int) -> None:
    (n,) = q(
        sample_url,
        "SELECT count(*) FROM villages v WHERE NOT EXISTS (SELECT 1 FROM incidents i"
        f" WHERE i.is_criminal AND {LOCAL_YEAR.format('i.occurred_at')} = :y"
        " AND ST_Intersects(v.geom, i.geom))",
        y=year,
    )[0]
    assert n == zero


def test_places_match_the_reference_county(sample_url: URL) -> None:
    towns = q(sample_url, "SELECT name_pinyin, name_zh FROM towns ORDER BY code")
    assert [t[0] for t in towns] == [p for _, p in TOWNS]
    (n_vil, pop, area_km2) = q(
        sample_url,
        "SELECT count(*), sum(population), sum(ST_Area(geom::geography)) / 1e6 FROM villages",
    )[0]
    assert n_vil == 233
    assert pop == 530_000
    assert 1170 < area_km2 < 1190
    communities = {
        r[0] for r in q(sample_url, "SELECT name_pinyin FROM villages WHERE kind = 'community'")
    }
    assert communities == {p for _, p in COMMUNITIES}
    seat_town = q(
        sample_url,
        "SELECT t.name_pinyin FROM towns t WHERE ST_Intersects(t.geom, ST_SetSRID(ST_MakePoint(107.39, 34.52), 4326))",
    )
    assert seat_town == [("Chengguan",)]
    levels = dict(q(sample_url, "SELECT level, count(*) FROM grids GROUP BY level"))
    assert levels[1] == 41 and levels[2] >= 233 and levels[3] > levels[2]
    (n_cam, first, last) = q(
        sample_url, "SELECT count(*), min(installed_on), max(installed_on) FROM cameras"
    )[0]
    assert n_cam == 823
    assert first.year >= 2012 and last.year <= 2016
    classes = {r[0] for r in q(sample_url, 'SELECT DISTINCT "class" FROM roads')}
    assert classes == {"national", "provincial", "county", "village"}


def test_every_village_has_a_camera_inside_it(sample_url: URL) -> None:
    (without,) = q(
        sample_url,
        "SELECT count(*) FROM villages v WHERE NOT EXISTS (SELECT 1 FROM cameras c"
        " WHERE c.village_id = v.id AND ST_Intersects(v.geom, c.geom))",
    )[0]
    assert without == 0


def test_every_village_is_reachable_by_road(sample_url: URL) -> None:
    (unreached,) = q(
        sample_url,
        "SELECT count(*) FROM villages v WHERE NOT EXISTS"
        " (SELECT 1 FROM roads r WHERE ST_Intersects(r.geom, v.geom))",
    )[0]
    assert unreached == 0


# area in m2 of a stored (EPSG:4326) geometry whose edges are straight in degrees: densify,
# then measure in the county's Gauss-Kruger zone (a geography cast would read the edges
# as geodesics and give kilometre-long slivers area they do not have)
M2 = "ST_Area(ST_Transform(ST_Segmentize({}, 0.0001), 4545))"


def test_grids_partition_the_county_and_nest_postgis(sample_url: URL) -> None:
    """PostGIS: each level's union equals the county; each child lies in its parent."""
    for level in (1, 2, 3):
        (sym,) = q(
            sample_url,
            f"SELECT {M2.format('ST_SymDifference(c.geom, u.geom)')} FROM county c,"
            " (SELECT ST_Union(geom) AS geom FROM grids WHERE level = :l) u",
            l=level,
        )[0]
        (overlap,) = q(
            sample_url,
            f"SELECT coalesce(sum({M2.format('ST_Intersection(a.geom, b.geom)')}), 0)"
            " FROM grids a JOIN grids b ON a.level = :l AND b.level = :l AND a.id < b.id"
            " AND ST_Intersects(a.geom, b.geom)",
            l=level,
        )[0]
        assert sym < 1.0, f"level {level}: gaps+outside {sym} m2"
        assert overlap < 1.0, f"level {level}: overlaps {overlap} m2"
    (outside,) = q(
        sample_url,
        f"SELECT coalesce(sum({M2.format('ST_Difference(c.geom, p.geom)')}), 0)"
        " FROM grids c JOIN grids p ON p.id = c.parent_id",
    )[0]
    assert outside < 1.0
    (bad_parent,) = q(
        sample_url,
        "SELECT count(*) FROM grids c JOIN grids p ON p.id = c.parent_id WHERE p.level <> c.level - 1",
    )[0]
    assert bad_parent == 0


def test_grids_partition_the_county_and_nest_shapely(sample_url: URL) -> None:
    engine = engine_of(sample_url)
    report = check_grid_hierarchy(read_layer(engine, "county"), read_layer(engine, "grids"))
    assert report.total_area_m2() < 1.0
    assert not report.exceeds(1.0)


def test_governance_events_mostly_settled_in_the_grid(sample_url: URL) -> None:
    rows = q(
        sample_url,
        "SELECT handled_level, count(*) FROM incidents i JOIN incident_categories c ON c.code = i.category"
        " WHERE c.stream = 'governance' AND occurred_at >= '2014-12-01 00:00+08'"
        " AND occurred_at < '2016-06-01 00:00+08' GROUP BY 1",
    )
    levels = dict(rows)
    total = sum(levels.values())
    assert total > 700
    assert levels["grid"] / total > 0.5
    assert set(levels) == {"grid", "village", "town", "county"}
    (incomplete,) = q(
        sample_url,
        "SELECT count(*) FROM incidents i JOIN incident_categories c ON c.code = i.category"
        " WHERE c.stream = 'governance' AND status = 'closed' AND (closed_at IS NULL OR reported_at IS NULL)",
    )[0]
    assert incomplete == 0


def test_public_order_cases_outnumber_crimes_several_times(sample_url: URL) -> None:
    streams = dict(
        q(
            sample_url,
            "SELECT c.stream, count(*) FROM incidents i JOIN incident_categories c ON c.code = i.category GROUP BY 1",
        )
    )
    assert 2.5 < streams["public_order"] / streams["criminal"] < 5


def test_incidents_cluster_around_the_county_seat(sample_url: URL) -> None:
    """The seat's communities hold far more incidents per km2 than the county as a whole."""
    (urban, county) = q(
        sample_url,
        "SELECT (SELECT count(*) FROM incidents i JOIN villages v ON v.kind = 'community'"
        " AND ST_Intersects(v.geom, i.geom)) / (SELECT sum(ST_Area(geom::geography)) / 1e6 FROM villages"
        " WHERE kind = 'community'), (SELECT count(*) FROM incidents) / 1180.0",
    )[0]
    assert urban > 10 * county


def test_burglaries_repeat_nearby_within_days(sample_url: URL) -> None:
    """Knox-style check: close-in-space-and-time burglary pairs far exceed shuffled times."""
    df = pd.DataFrame(
        q(
            sample_url,
            "SELECT ST_X(ST_Transform(geom, 4545)), ST_Y(ST_Transform(geom, 4545)),"
            " extract(epoch FROM occurred_at) FROM incidents WHERE category = 'burglary'",
        ),
        columns=["x", "y", "t"],
    ).astype(float)
    from scipy.spatial import cKDTree

    pairs = cKDTree(df[["x", "y"]].to_numpy()).query_pairs(200.0, output_type="ndarray")
    t = df.t.to_numpy()

    def close_in_time(times: np.ndarray) -> int:
        return int((np.abs(times[pairs[:, 0]] - times[pairs[:, 1]]) <= 7 * 86400).sum())

    observed = close_in_time(t)
    rng = np.random.default_rng(0)
    expected = np.mean([close_in_time(rng.permutation(t)) for _ in range(20)])
    assert observed > 2 * expected


def test_property_crime_falls_in_camera_view_after_installation() -> None:
    """Property crimes per camera-year inside cameras' views drop after installation."""
    from etl.sample.space import IncidentSpace, _frac_year

    county = build_county()
    inc = generate_incidents(county)
    space = IncidentSpace(county, np.random.default_rng(0))
    prop = inc[inc.category.isin(["burglary", "theft", "petty_theft", "robbery", "vandalism"])]
    xy = np.column_stack([prop.geometry.x, prop.geometry.y])
    local = prop.occurred_at.dt.tz_localize(None).astype("datetime64[s]").astype(np.int64)
    t = _frac_year(local.to_numpy())
    in_view_ever = space.covering_camera(xy, np.full(len(t), 9999.0)) >= 0
    in_view_installed = space.covering_camera(xy, t) >= 0
    before = int((in_view_ever & ~in_view_installed).sum())
    after = int(in_view_installed.sum())
    # camera-years of exposure in 2013-2016 before and after each installation
    exposure_before = np.clip(space.cam_installed - 2013.0, 0, 4).sum()
    exposure_after = np.clip(2017.0 - space.cam_installed, 0, 4).sum()
    assert before > 20 and after > 20
    assert after / exposure_after < 0.75 * (before / exposure_before)


def test_same_seed_same_county_and_other_seed_differs() -> None:
    a, b, c = build_county(7), build_county(7), build_county(8)
    assert a.villages.geometry.geom_equals_exact(b.villages.geometry, 0).all()
    assert not a.towns.geometry.geom_equals_exact(c.towns.geometry, 1.0).all()
    ia, ib = generate_incidents(a, seed=7), generate_incidents(b, seed=7)
    pd.testing.assert_frame_equal(ia.drop(columns="geometry"), ib.drop(columns="geometry"))


def test_scaled_incidents_keep_the_mix() -> None:
    county = build_county()
    big = generate_incidents(county, total=60_000)
    assert len(big) == 60_000
    boundary = county.county.geometry.iloc[0]
    assert shapely.contains_xy(boundary, big.geometry.x.to_numpy(), big.geometry.y.to_numpy()).all()
    base = generate_incidents(county)
    assert len(base) == DEFAULT_TOTAL
    share_big = big.is_criminal.mean()
    share_base = base.is_criminal.mean()
    assert abs(share_big - share_base) < 0.01


def test_dem_is_registered_with_hills_in_the_north(sample_url: URL) -> None:
    (path, res) = q(sample_url, "SELECT path, resolution_m FROM rasters WHERE name = 'dem'")[0]
    with rasterio.open(path) as src:
        assert src.crs.to_epsg() == 4545
        assert res == pytest.approx(30.0)
        band = src.read(1, masked=True)
    third = band.shape[0] // 3
    assert band[:third].mean() - band[-third:].mean() > 300
