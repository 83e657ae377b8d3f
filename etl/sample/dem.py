"""Synthetic digital elevation model of the sample county.

The sample county imitates Fengxiang County (Baoji, Shaanxi): Qianshan foothills
in the north (about 900-1,500 m, ridges and valleys), loess tableland and plain
in the south (about 600-800 m, sloping gently south, cut by a few gullies), and a
river valley along the southern edge. Viewshed, camera-coverage and 3-D dashboard
work need terrain with that character, and the sample county must work offline,
without a real DEM.

The terrain zones are anchored to fixed coordinates of the real county (EPSG:4545),
so any window of the county gets the right kind of terrain; the fractal detail is
synthesised on the requested grid and is deterministic for a seed.
"""

from __future__ import annotations

import math
import os
import uuid
from pathlib import Path

import numpy as np
import rasterio
from affine import Affine
from pyproj import CRS, Transformer
from rasterio.enums import Resampling
from scipy import fft

DEM_CRS = "EPSG:4545"
NODATA = -9999.0

# Anchors in EPSG:4545 (CGCS2000 / 3-degree Gauss-Kruger CM 108E).
SEAT_X = 444_000.0  # county seat, 34.52 N 107.39 E
HILL_FOOT_Y = 3_831_000.0  # foot of the northern hills, about 34.60 N
SOUTH_RIVER_Y = 3_802_200.0  # river along the southern edge, about 34.35 N

# Elevation model (metres).
PLAIN_AT_RIVER = 630.0  # tableland level next to the southern river
PLAIN_SLOPE = 0.0062  # gentle rise northwards of the tableland (m per m)
HILL_FOOT_Z = 880.0  # hill base level at the hill foot
HILL_RISE = 0.028  # rise of the hill base level northwards (m per m)...
HILL_RISE_SPAN = 12_000.0  # ...over this distance, then flat
TRANSITION = 3_500.0  # half-width of the tableland-hill transition (m)
FOOT_WAVE = 1_800.0  # amplitude of the wavy hill foot (m)
HILL_RELIEF = 110.0  # std of the hill fractal relief (m)
PLAIN_RELIEF = 5.0  # std of the tableland fractal relief (m)


def make_dem(
    bounds: tuple[float, float, float, float],
    resolution: float = 30.0,
    seed: int = 7,
    crs: str = DEM_CRS,
) -> tuple[np.ndarray, Affine]:
    """Elevations (float32, metres, north-up) covering `bounds` and their transform.

    `bounds` is (xmin, ymin, xmax, ymax) in `crs`, a projected CRS in metres; the
    grid starts at (xmin, ymax) and extends east and south by whole pixels to cover
    the bounds. Same bounds, resolution and seed give the same array.
    """
    xmin, ymin, xmax, ymax = (float(v) for v in bounds)
    if not (xmax > xmin and ymax > ymin):
        raise ValueError(f"empty bounds {bounds!r}")
    if not resolution > 0:
        raise ValueError(f"resolution must be positive, got {resolution!r}")
    x0, y0 = xmin, ymax
    width = math.ceil((xmax - xmin) / resolution - 1e-9)
    height = math.ceil((ymax - ymin) / resolution - 1e-9)
    transform = Affine(resolution, 0.0, x0, 0.0, -resolution, y0)

    xs = x0 + (np.arange(width) + 0.5) * resolution
    ys = y0 - (np.arange(height) + 0.5) * resolution
    gx, gy = _county_coords(xs, ys, crs)

    rng = np.random.default_rng(seed)
    phases = rng.uniform(0.0, 2.0 * math.pi, size=2)

    # Terrain type: 0 on the tableland, 1 in the hills, along a wavy hill foot.
    foot = HILL_FOOT_Y + FOOT_WAVE * (
        0.6 * np.sin(gx / 9_000.0 + phases[0]) + 0.4 * np.sin(gx / 3_700.0 + phases[1])
    )
    hill = _smoothstep((gy - foot + TRANSITION) / (2.0 * TRANSITION))

    # Base trend: a tableland sloping gently south, hills rising to the north.
    plain = PLAIN_AT_RIVER + PLAIN_SLOPE * np.maximum(gy - SOUTH_RIVER_Y, 0.0)
    hills = HILL_FOOT_Z + HILL_RISE * np.clip(gy - foot, 0.0, HILL_RISE_SPAN)

    # Fractal relief: ridged noise gives crests and valleys in the hills; the same
    # smooth noise, scaled down, gives the tableland its slight undulation.
    shape = (height, width)
    smooth = _spectral_noise(shape, resolution, beta=4.0, rng=rng)
    ridged = 1.0 - np.abs(_spectral_noise(shape, resolution, beta=3.6, rng=rng))
    ridged = (ridged - ridged.mean()) / ridged.std()
    plain_z = plain + PLAIN_RELIEF * smooth
    hill_z = hills + HILL_RELIEF * (0.55 * smooth + 0.85 * ridged)
    # Hill valleys open onto the tableland rather than sinking below it.
    hill_z = _soft_max(hill_z, plain_z - 40.0, 60.0)
    z = plain_z + hill * (hill_z - plain_z)

    z -= _channels(gx, gy, hill, rng)
    # A safety net only (the model stays within ~540-1,600 m): no seed may yield
    # an implausible county.
    return np.clip(z, 450.0, 1_900.0).astype(np.float32), transform


def write_dem(
    path: str | os.PathLike[str],
    array: np.ndarray,
    transform: Affine,
    crs: str = DEM_CRS,
) -> Path:
    """Write `array` as a Cloud Optimized GeoTIFF, atomically; return the path.

    COG (512 px tiles, DEFLATE with the floating-point predictor, internal
    overviews) so that QGIS, GDAL and the OGC Coverages API can read windows and
    zoom levels over HTTP without fetching the file. The file is written next to
    its destination and renamed, so a reader never sees a half-written DEM.
    """
    path = Path(path)
    data = np.asarray(array, dtype=np.float32)
    if data.ndim != 2:
        raise ValueError(f"DEM must be a 2-D array, got shape {data.shape}")
    data = np.where(np.isfinite(data), data, np.float32(NODATA))
    profile = {
        "width": data.shape[1],
        "height": data.shape[0],
        "count": 1,
        "dtype": "float32",
        "crs": crs,
        "transform": transform,
        "nodata": NODATA,
        "compress": "DEFLATE",
    }
    if _has_driver("COG"):
        profile |= {
            "driver": "COG",
            "blocksize": 512,
            "predictor": "FLOATING_POINT",
            "overview_resampling": "AVERAGE",
            "bigtiff": "IF_SAFER",
        }
        overviews: list[int] = []
    else:
        profile |= {
            "driver": "GTiff",
            "tiled": True,
            "blockxsize": 512,
            "blockysize": 512,
            "predictor": 3,
        }
        overviews = _overview_factors(data.shape)

    path.parent.mkdir(parents=True, exist_ok=True)
    # Not mkstemp: GDAL must create the file itself so it gets the usual permissions.
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp.tif")
    try:
        with rasterio.open(tmp, "w", **profile) as dst:
            dst.write(data, 1)
            dst.set_band_description(1, "elevation_m")
            dst.set_band_unit(1, "metre")
            if overviews:
                dst.build_overviews(overviews, Resampling.average)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def _has_driver(name: str) -> bool:
    with rasterio.Env() as env:
        return name in env.drivers()


def _overview_factors(shape: tuple[int, ...]) -> list[int]:
    """Power-of-two decimations until the coarsest level fits one 512 px tile."""
    factors, factor = [], 2
    while max(shape) / (factor // 2) > 512:
        factors.append(factor)
        factor *= 2
    return factors


def _county_coords(xs: np.ndarray, ys: np.ndarray, crs: str) -> tuple[np.ndarray, np.ndarray]:
    """Pixel centres as 2-D EPSG:4545 coordinates, where the terrain anchors live."""
    src = CRS.from_user_input(crs)
    if not src.is_projected or src.axis_info[0].unit_name not in ("metre", "meter"):
        raise ValueError(f"make_dem needs a projected CRS in metres, got {crs!r}")
    gx, gy = np.meshgrid(xs, ys)
    if src != CRS.from_user_input(DEM_CRS):
        to_county = Transformer.from_crs(src, DEM_CRS, always_xy=True)
        gx, gy = to_county.transform(gx, gy)
    return gx, gy


def _smoothstep(t: np.ndarray) -> np.ndarray:
    t = np.clip(t, 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def _soft_max(a: np.ndarray, b: np.ndarray, k: float) -> np.ndarray:
    """max(a, b) with the corner rounded over about `k`, so no crease shows."""
    return 0.5 * (a + b + np.sqrt((a - b) ** 2 + k * k))


def _spectral_noise(
    shape: tuple[int, int], resolution: float, beta: float, rng: np.random.Generator
) -> np.ndarray:
    """Zero-mean, unit-std fractal noise with power spectrum ~ k**-beta.

    Synthesised on a padded grid of fast FFT size and cropped, so the noise does
    not wrap around at the edges. Wavelengths above ~25 km are damped: the broad
    shape comes from the trend, not the noise.
    """
    pad = (fft.next_fast_len(shape[0] + shape[0] // 4), fft.next_fast_len(shape[1] + shape[1] // 4))
    ky = fft.fftfreq(pad[0], d=resolution)[:, None]
    kx = fft.rfftfreq(pad[1], d=resolution)[None, :]
    k0 = 1.0 / 25_000.0
    amplitude = (kx * kx + ky * ky + k0 * k0) ** (-beta / 4.0)
    amplitude[0, 0] = 0.0
    spectrum = amplitude * (
        rng.standard_normal(amplitude.shape) + 1j * rng.standard_normal(amplitude.shape)
    )
    noise = fft.irfft2(spectrum, s=pad, workers=-1)[: shape[0], : shape[1]]
    return (noise - noise.mean()) / noise.std()


def _meander(
    coord: np.ndarray, start: float, amplitude: float, rng: np.random.Generator
) -> np.ndarray:
    """Smooth random offset (m) of a channel centre line at `coord` along its course.

    A 1-D power-law profile, without wiggles shorter than about a kilometre, on a
    fixed 100 m axis 100 km long from `start`, so a channel follows the same course
    in every window of the county for one seed.
    """
    n = 1_000
    k = np.fft.rfftfreq(n, d=100.0)
    spectrum = (k * k + (1.0 / 8_000.0) ** 2) ** -1.0 * np.exp(-((k * 1_200.0) ** 2))
    spectrum[0] = 0.0
    spectrum = spectrum * (rng.standard_normal(k.size) + 1j * rng.standard_normal(k.size))
    profile = np.fft.irfft(spectrum, n=n)
    profile *= amplitude / profile.std()
    return np.interp(coord, start + 100.0 * np.arange(n), profile)


def _channels(
    gx: np.ndarray, gy: np.ndarray, hill: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Depth (m) carved by the river valley along the south and the north-south gullies.

    Each channel is a meandering centre line with a flat-floored, steep-sided cross
    section (a super-Gaussian of the distance to the line), as loess gullies have.
    """
    # The river along the southern edge: a broad valley with a flat floor.
    river_y = SOUTH_RIVER_Y + _meander(gx, 400_000.0, 450.0, rng)
    depth = 55.0 * np.exp(-(((gy - river_y) / 1_300.0) ** 4))

    # Gullies from the hills down to the river, west and east of the county seat
    # and one further east: valleys in the hills, incised gullies on the tableland.
    # Deepest on the high tableland, fading out before the river floor.
    along = _smoothstep((gy - SOUTH_RIVER_Y - 800.0) / 4_000.0)
    for centre, floor, half_width in (
        (SEAT_X - 7_000.0, 70.0, 280.0),
        (SEAT_X + 11_000.0, 60.0, 240.0),
        (SEAT_X + 19_500.0, 45.0, 200.0),
    ):
        line_x = centre + _meander(gy, 3_780_000.0, 700.0, rng)
        width = half_width + 450.0 * hill
        depth += (floor * along + 60.0 * hill) * np.exp(-(((gx - line_x) / width) ** 4))
    return depth
