"""The sample county's synthetic DEM: deterministic, shaped like Fengxiang, a valid COG.

Viewshed, coverage and 3-D work downstream rely on this terrain: hills in the
north that block sightlines, a gentle tableland in the south, and a file every
GIS client can read.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine

from etl.sample import dem
from etl.sample.dem import make_dem, write_dem

COUNTY = (425_000.0, 3_800_000.0, 470_000.0, 3_850_000.0)
SMALL = (440_000.0, 3_830_000.0, 446_000.0, 3_836_000.0)


@pytest.fixture(scope="module")
def county() -> tuple[np.ndarray, Affine]:
    return make_dem(COUNTY)


def _thirds(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    third = z.shape[0] // 3
    return z[:third], z[-third:]


def _slope_deg(z: np.ndarray, resolution: float = 30.0) -> np.ndarray:
    dy, dx = np.gradient(z.astype(np.float64), resolution)
    return np.degrees(np.arctan(np.hypot(dx, dy)))


def test_grid_is_30m_north_up_over_the_bounds(county):
    z, transform = county
    assert z.dtype == np.float32
    assert z.shape == (1667, 1500)  # 50 km x 45 km, last row covers the remainder
    assert transform == Affine(30.0, 0.0, 425_000.0, 0.0, -30.0, 3_850_000.0)
    assert transform.a == 30.0 and transform.e == -30.0


def test_same_seed_same_dem_other_seed_other_dem(county):
    z, transform = county
    again, transform_again = make_dem(COUNTY, seed=7)
    assert transform_again == transform
    np.testing.assert_array_equal(again, z)
    other, _ = make_dem(COUNTY, seed=8)
    assert not np.array_equal(other, z)
    assert np.abs(other - z).mean() > 10.0


def test_elevations_are_plausible(county):
    z, _ = county
    assert np.isfinite(z).all()
    assert z.min() >= 400.0 and z.max() <= 2000.0
    # Nothing rests on make_dem's safety clamp: clamped flats would fake viewsheds.
    assert z.min() > 450.0 and z.max() < 1900.0


def test_hills_north_tableland_south(county):
    z, _ = county
    north, south = _thirds(z)
    assert north.mean() - south.mean() >= 300.0
    assert 900.0 <= north.mean() <= 1500.0
    assert 600.0 <= south.mean() <= 800.0
    assert north.max() > 1300.0


def test_south_has_less_relief_than_north(county):
    z, _ = county
    north, south = _thirds(z)
    slope_north, slope_south = _thirds(_slope_deg(z))
    assert south.std() < north.std()
    assert slope_south.std() < slope_north.std()
    assert slope_south.mean() < slope_north.mean() / 3.0


def test_southern_tableland_slopes_gently_south(county):
    z, transform = county
    # Between the southern river valley's rim and the hill foot: the tableland.
    top, bottom = (int((transform.f - y) / 30.0) for y in (3_825_000.0, 3_806_000.0))
    northing = transform.f - (np.arange(top, bottom) + 0.5) * 30.0
    level = np.median(z[top:bottom], axis=1)  # the median ignores the gullies
    rise, _ = np.polyfit(northing, level, 1)
    assert 0.003 < rise < 0.012  # metres per metre northwards: gentle, towards the south
    assert np.corrcoef(northing, level)[0, 1] > 0.95


def test_a_northern_ridge_blocks_a_straight_sightline(county):
    """Viewshed tests need two points on the ground with a hill between them."""
    z, _ = county
    north, _ = _thirds(z)
    span = 100  # 3 km profiles along rows
    starts = np.arange(0, north.shape[1] - span, 25)
    found = []
    for j in starts:  # a few dozen windows, each vectorised over all rows
        profile = north[:, j : j + span + 1].astype(np.float64)
        ends = np.maximum(profile[:, 0], profile[:, -1])
        crest = profile[:, 1:-1].max(axis=1)
        rows = np.nonzero(crest > ends + 50.0)[0]
        found.extend((int(r), int(j)) for r in rows)
    assert found, "no ridge rises 50 m above both ends of a 3 km profile in the north"
    row, col = found[len(found) // 2]
    profile = north[row, col : col + span + 1].astype(np.float64)
    sightline = np.linspace(profile[0], profile[-1], profile.size)
    assert (profile - sightline).max() > 50.0


def test_other_projected_crs_gives_the_same_terrain():
    """EPSG:4524 is the same zone with the zone number in front of the easting."""
    z, transform = make_dem(SMALL)
    shifted = (SMALL[0] + 36e6, SMALL[1], SMALL[2] + 36e6, SMALL[3])
    z_zone, transform_zone = make_dem(shifted, crs="EPSG:4524")
    assert transform_zone.c == transform.c + 36e6
    np.testing.assert_allclose(z_zone, z, atol=1e-3)


def test_geographic_crs_is_refused():
    with pytest.raises(ValueError, match="projected CRS in metres"):
        make_dem((107.2, 34.3, 107.7, 34.8), crs="EPSG:4490")


def _assert_round_trip(path: Path, z: np.ndarray, transform: Affine) -> None:
    with rasterio.open(path) as src:
        assert src.crs.to_epsg() == 4545
        assert src.transform == transform
        assert src.count == 1 and src.dtypes == ("float32",)
        np.testing.assert_array_equal(src.read(1), z)
        assert src.profile["tiled"] is True
        assert src.block_shapes == [(512, 512)]
        assert src.overviews(1), "no overviews"
        assert src.nodata == -9999.0
        assert src.descriptions == ("elevation_m",)
        assert src.units == ("metre",)
        structure = src.tags(ns="IMAGE_STRUCTURE")
        assert structure["COMPRESSION"] == "DEFLATE"
        assert structure["PREDICTOR"] == "3"
    assert [p.name for p in path.parent.iterdir()] == [path.name], "temporary file left"


def test_written_cog_round_trips(county, tmp_path):
    z, transform = county
    path = write_dem(tmp_path / "dem.tif", z, transform)
    assert path == tmp_path / "dem.tif"
    _assert_round_trip(path, z, transform)
    with rasterio.open(path) as src:
        assert src.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG"


def test_gtiff_fallback_without_cog_driver_round_trips(county, tmp_path, monkeypatch):
    monkeypatch.setattr(dem, "_has_driver", lambda name: False)
    z, transform = county
    path = write_dem(tmp_path / "dem.tif", z, transform)
    _assert_round_trip(path, z, transform)


def test_failed_write_leaves_old_file_and_no_temporary(tmp_path):
    z, transform = make_dem(SMALL)
    path = write_dem(tmp_path / "dem.tif", z, transform)
    before = path.read_bytes()
    with pytest.raises(rasterio.errors.CRSError):
        write_dem(path, z + 1.0, transform, crs="EPSG:999999")
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["dem.tif"]
