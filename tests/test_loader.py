"""Loading files: every format, encodings, CRSs, bad inputs, atomicity, idempotency."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import psycopg
import pytest
import shapely
from gwtest import engine_of, q
from sqlalchemy.engine import URL

from etl.coords import gcj02_to_wgs84, wgs84_to_bd09, wgs84_to_gcj02
from etl.db import libpq_url
from etl.loader import LoadOptions, load_file
from gridwatch.errors import DatabaseError, InputError, ValidationFailed

LON, LAT = 107.39, 34.52  # the county seat, inside the county
HEADER = "source_id,category,occurred_at,reported_at,lon,lat\n"


def load(url: URL, path: Path, layer: str = "incidents", **kw: object):
    return load_file(engine_of(url), path, LoadOptions(layer=layer, **kw))  # type: ignore[arg-type]


def count(url: URL, table: str = "incidents") -> int:
    return q(url, f"SELECT count(*) FROM {table}")[0][0]


def incidents_csv(path: Path, n: int, bad_row: int | None = None, bad: str = "") -> Path:
    lines = [HEADER]
    for i in range(1, n + 1):
        line = f"X{i},burglary,2015-03-0{1 + i % 9} 10:00,2015-03-0{1 + i % 9} 11:00,{LON + i * 1e-4},{LAT}\n"
        lines.append(bad if i == bad_row else line)
    path.write_text("".join(lines), encoding="utf-8")
    return path


def errors_of(exc: pytest.ExceptionInfo[ValidationFailed]) -> pd.DataFrame:
    return exc.value.report.errors  # type: ignore[attr-defined]


# -- the good paths -------------------------------------------------------------------


def test_csv_loads_and_reload_is_idempotent(places_url: URL, tmp_path: Path) -> None:
    path = incidents_csv(tmp_path / "inc.csv", 50)
    first = load(places_url, path)
    assert (first.rows_loaded, first.inserted, first.updated) == (50, 50, 0)
    assert first.naive_times == {"occurred_at": 50, "reported_at": 50}
    second = load(places_url, path)
    assert (second.inserted, second.updated) == (0, 50)
    assert count(places_url) == 50
    # times without a zone were read as China Standard Time
    (utc_hour,) = q(
        places_url,
        "SELECT extract(hour FROM occurred_at AT TIME ZONE 'UTC') FROM incidents LIMIT 1",
    )[0]
    assert utc_hour == 2
    runs = q(
        places_url, "SELECT layer, rows_loaded FROM load_runs WHERE layer = 'incidents' ORDER BY id"
    )
    assert runs == [("incidents", 50), ("incidents", 50)]


def test_gbk_csv_with_chinese_headers_loads(places_url: URL, tmp_path: Path) -> None:
    text = (
        "编号,类别,发生时间,经度,纬度,报案人姓名\n"
        f"A1,入室盗窃,2015年3月5日 14时22分,{LON},{LAT},张三\n"
        f"A2,诈骗,2015/3/6 9:05,{LON + 0.001},{LAT},李四\n"
    )
    path = tmp_path / "gbk.csv"
    path.write_bytes(text.encode("gbk"))
    result = load(places_url, path)
    assert result.rows_loaded == 2
    assert result.personal_columns == ["报案人姓名"]  # dropped: no personal identifiers
    rows = q(
        places_url,
        "SELECT source_id, category, is_criminal, to_char(occurred_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD HH24:MI') FROM incidents ORDER BY 1",
    )
    assert rows == [
        ("A1", "burglary", True, "2015-03-05 14:22"),
        ("A2", "fraud", True, "2015-03-06 09:05"),
    ]
    assert "张三" not in json.dumps(
        q(places_url, "SELECT row_to_json(i)::text FROM incidents i"), ensure_ascii=False
    )


def test_utf8_bom_csv_with_wkt_and_offsets(places_url: URL, tmp_path: Path) -> None:
    path = tmp_path / "bom.csv"
    path.write_text(
        "id,type,time,wkt\n"
        f"B1,fight,2015-05-01T20:00:00+08:00,POINT ({LON} {LAT})\n"
        f"B2,dispute,2015-05-01T12:00:00Z,POINT ({LON + 0.002} {LAT})\n",
        encoding="utf-8-sig",
    )
    result = load(places_url, path)
    assert result.rows_loaded == 2 and result.naive_times == {}
    rows = q(
        places_url,
        "SELECT source_id, is_criminal, extract(hour FROM occurred_at AT TIME ZONE 'UTC') FROM incidents ORDER BY 1",
    )
    assert rows == [("B1", False, 12), ("B2", False, 12)]


@pytest.mark.parametrize("fmt", ["geojson", "gpkg", "shp", "parquet"])
def test_vector_formats_load(places_url: URL, tmp_path: Path, fmt: str) -> None:
    gdf = gpd.GeoDataFrame(
        {
            "source_id": ["V1", "V2", "V3"],
            "category": ["theft", "dispute", "fight"],
            "occurred_at": ["2015-01-01 08:00", "2015-01-02 09:00", "2015-01-03 10:00"],
        },
        geometry=shapely.points([[LON, LAT], [LON + 0.01, LAT], [LON, LAT + 0.01]]),
        crs=4326,
    )
    path = tmp_path / f"inc.{fmt}"
    if fmt == "parquet":
        gdf.to_parquet(path)
    else:
        gdf.to_file(path, engine="pyogrio")
    assert load(places_url, path).rows_loaded == 3
    got = q(places_url, "SELECT source_id, ST_X(geom), ST_Y(geom) FROM incidents ORDER BY 1")
    assert [r[0] for r in got] == ["V1", "V2", "V3"]
    assert got[1][1] == pytest.approx(LON + 0.01, abs=1e-9)


def test_gauss_kruger_input_is_reprojected(places_url: URL, tmp_path: Path) -> None:
    from pyproj import Transformer

    x, y = Transformer.from_crs(4326, 4545, always_xy=True).transform(LON, LAT)
    path = tmp_path / "gk.csv"
    path.write_text(
        f"code,x,y,bearing,fov,range,height,installed,village\nC1,{x},{y},90,60,80,6,2014-05-01,\n"
    )
    load(places_url, path, layer="cameras", crs="EPSG:4545")
    lon, lat, village = q(
        places_url,
        "SELECT ST_X(c.geom), ST_Y(c.geom), v.name_pinyin FROM cameras c JOIN villages v ON v.id = c.village_id WHERE c.code = 'C1'",
    )[0]
    assert (lon, lat) == (pytest.approx(LON, abs=1e-8), pytest.approx(LAT, abs=1e-8))
    assert village  # assigned from the location when no village code is given


@pytest.mark.parametrize(
    ("source", "forward"), [("gcj02", wgs84_to_gcj02), ("bd09", wgs84_to_bd09)]
)
def test_web_map_coordinates_are_converted(
    places_url: URL, tmp_path: Path, source: str, forward
) -> None:
    glon, glat = forward(LON, LAT)
    path = tmp_path / f"{source}.csv"
    path.write_text(HEADER + f"W1,theft,2015-01-01 08:00,,{float(glon)},{float(glat)}\n")
    load(places_url, path, convert_from=source)
    lon, lat = q(places_url, "SELECT ST_X(geom), ST_Y(geom) FROM incidents")[0]
    assert abs(lon - LON) < 1e-8 and abs(lat - LAT) < 1e-8
    assert abs(float(gcj02_to_wgs84(*wgs84_to_gcj02(LON, LAT))[0]) - LON) < 1e-9


def test_column_map_for_unrecognised_headers(places_url: URL, tmp_path: Path) -> None:
    path = tmp_path / "odd.csv"
    path.write_text(
        f"案件流水号,案由,立案日期,E,N\nM1,抢劫,2015-07-01 01:00,{LON},{LAT}\n", encoding="utf-8"
    )
    with pytest.raises(InputError, match="missing required column"):
        load(places_url, path)
    load(
        places_url,
        path,
        column_map={"案件流水号": "source_id", "立案日期": "occurred_at", "E": "lon", "N": "lat"},
    )
    assert q(places_url, "SELECT category FROM incidents") == [("robbery",)]


# -- bad inputs: specific messages, nothing written -------------------------------------------


BAD_ROWS = [
    ("X3,burglary,2015-03-04 10:00,,,", "lon", "missing coordinate"),
    ("X3,burglary,2015-03-04 10:00,,abc,34.52", "lon", "not a number"),
    ("X3,burglary,2015-03-04 10:00,,120.5,30.2", "geometry", "outside the county boundary"),
    ("X3,burglary,last tuesday,,107.39,34.52", "occurred_at", "not a date-time"),
    ("X3,burglary,2099-01-01 10:00,,107.39,34.52", "occurred_at", "in the future"),
    (
        "X3,kidnapping,2015-03-04 10:00,,107.39,34.52",
        "category",
        "unknown category; allowed: assault, burglary",
    ),
    (
        "X3,burglary,2015-03-04 10:00,2015-03-03 10:00,107.39,34.52",
        "reported_at",
        "reported_at is before occurred_at",
    ),
    (
        "X2,burglary,2015-03-04 10:00,,107.39,34.52",
        "source_id",
        "duplicate source_id (first seen at row 2)",
    ),
    (",burglary,2015-03-04 10:00,,107.39,34.52", "source_id", "required value is missing"),
]


@pytest.mark.parametrize(("line", "field", "message"), BAD_ROWS, ids=[m for _, _, m in BAD_ROWS])
def test_bad_row_in_the_middle_rejects_the_whole_file(
    places_url: URL, tmp_path: Path, line: str, field: str, message: str
) -> None:
    path = incidents_csv(tmp_path / "bad.csv", 5, bad_row=3, bad=line + "\n")
    with pytest.raises(ValidationFailed, match="1 of 5 rows are bad; nothing was written") as exc:
        load(places_url, path)
    errs = errors_of(exc)
    assert list(errs["row"]) == [3]
    assert errs["field"].iloc[0] == field
    assert message in errs["reason"].iloc[0]
    assert count(places_url) == 0
    assert q(places_url, "SELECT count(*) FROM load_runs WHERE layer = 'incidents'")[0][0] == 0


def test_quarantine_writes_good_rows_and_reports_bad_ones(places_url: URL, tmp_path: Path) -> None:
    path = incidents_csv(
        tmp_path / "mixed.csv", 6, bad_row=4, bad="X4,burglary,2099-01-01,,107.39,34.52\n"
    )
    qfile = tmp_path / "bad.csv"
    result = load(places_url, path, quarantine=qfile)
    assert (result.rows_loaded, result.rows_rejected) == (5, 1)
    assert count(places_url) == 5
    bad = pd.read_csv(qfile, encoding="utf-8-sig", dtype=str)
    assert list(bad["row"]) == ["4"] and list(bad["source_id"]) == ["X4"]
    assert "in the future" in bad["reasons"].iloc[0]


def test_quarantine_of_duplicates_found_in_sql(places_url: URL, tmp_path: Path) -> None:
    path = incidents_csv(
        tmp_path / "dups.csv", 4, bad_row=4, bad="X1,theft,2015-03-04 10:00,,107.39,34.52\n"
    )
    qfile = tmp_path / "dups_bad.csv"
    result = load(places_url, path, quarantine=qfile)
    assert result.rows_loaded == 3
    bad = pd.read_csv(qfile, encoding="utf-8-sig", dtype=str)
    assert list(bad["row"]) == ["4"] and "duplicate source_id" in bad["reasons"].iloc[0]


def test_missing_columns_are_listed_with_what_was_found(places_url: URL, tmp_path: Path) -> None:
    path = tmp_path / "cols.csv"
    path.write_text("id,when,where\n1,2015-01-01,here\n")
    with pytest.raises(InputError) as exc:
        load(places_url, path)
    msg = str(exc.value)
    assert "category" in msg and "occurred_at" in msg and "lon and lat" in msg
    assert "Columns found: id, when, where" in msg


def test_camera_parameters_out_of_range(places_url: URL, tmp_path: Path) -> None:
    path = tmp_path / "cams.csv"
    path.write_text(
        "code,lon,lat,bearing,fov,range,height,installed\n"
        f"K1,{LON},{LAT},360,60,80,6,2014-01-01\n"
        f"K2,{LON},{LAT},10,0,80,6,2014-01-01\n"
        f"K3,{LON},{LAT},10,60,-5,6,2014-01-01\n"
        f"K4,{LON},{LAT},10,60,80,6,2099-01-01\n"
        f"K5,{LON},{LAT},10,60,80,6,2014-01-01\n"
    )
    with pytest.raises(ValidationFailed) as exc:
        load(places_url, path, layer="cameras")
    errs = errors_of(exc).set_index("row")
    assert "bearing must be in [0, 360)" in errs.loc[1, "reason"]
    assert "field of view must be in (0, 360]" in errs.loc[2, "reason"]
    assert "range must be in (0, 2000] m" in errs.loc[3, "reason"]
    assert "in the future" in errs.loc[4, "reason"]
    assert 5 not in errs.index
    assert count(places_url, "cameras") == 823


def test_geometry_problems_in_polygon_layers(places_url: URL, tmp_path: Path) -> None:
    bowtie = f"POLYGON (({LON} {LAT}, {LON + 0.01} {LAT + 0.01}, {LON + 0.01} {LAT}, {LON} {LAT + 0.01}, {LON} {LAT}))"
    square = f"POLYGON (({LON} {LAT}, {LON + 0.01} {LAT}, {LON + 0.01} {LAT + 0.01}, {LON} {LAT + 0.01}, {LON} {LAT}))"
    far = "POLYGON ((120 30, 120.01 30, 120.01 30.01, 120 30.01, 120 30))"
    path = tmp_path / "villages.csv"
    path.write_text(
        "code,name,pinyin,population,town_code,wkt\n"
        f'N1,甲村,Jiacun,100,610322100000,"{bowtie}"\n'
        f"N2,乙村,Yicun,100,610322100000,POINT ({LON} {LAT})\n"
        f"N3,丙村,Bingcun,100,610322100000,POLYGON EMPTY\n"
        f'N4,丁村,Dingcun,100,610322100000,"{far}"\n'
        f'N5,戊村,Wucun,100,NOSUCHTOWN,"{square}"\n'
        f"N6,己村,Jicun,100,610322100000,not wkt at all\n"
    )
    with pytest.raises(ValidationFailed) as exc:
        load(places_url, path, layer="villages")
    errs = errors_of(exc).set_index("row")
    assert errs.loc[1, "reason"].startswith("invalid geometry: Self-intersection")
    assert (
        "wrong geometry type for villages: expected Polygon or MultiPolygon"
        in errs.loc[2, "reason"]
    )
    assert errs.loc[3, "reason"] == "empty geometry"
    assert "lies outside the county boundary" in errs.loc[4, "reason"]
    assert errs.loc[6, "reason"] == "not valid WKT"
    assert count(places_url, "villages") == 233
    # the town reference is checked in SQL, over all rows, once the row-level checks pass
    ok = tmp_path / "one.csv"
    ok.write_text(
        f'code,name,pinyin,population,town_code,wkt\nN5,戊村,Wucun,100,NOSUCHTOWN,"{square}"\n'
    )
    with pytest.raises(ValidationFailed) as exc2:
        load(places_url, ok, layer="villages")
    assert "no town with code NOSUCHTOWN" in errors_of(exc2)["reason"].iloc[0]


def test_grid_parent_must_exist_at_the_level_above(places_url: URL, tmp_path: Path) -> None:
    sq = f"POLYGON (({LON} {LAT}, {LON + 0.001} {LAT}, {LON + 0.001} {LAT + 0.001}, {LON} {LAT}))"
    path = tmp_path / "grids.csv"
    path.write_text(f'code,level,parent_code,wkt\nZ1,3,GW01,"{sq}"\nZ2,2,,"{sq}"\n')
    with pytest.raises(ValidationFailed) as exc:
        load(places_url, path, layer="grids")
    errs = errors_of(exc).set_index("row")
    assert "level-2 and level-3 grids need a parent_code" in errs.loc[2, "reason"]
    path.write_text(f'code,level,parent_code,wkt\nZ1,3,GW01,"{sq}"\n')
    with pytest.raises(ValidationFailed) as exc:
        load(places_url, path, layer="grids")
    assert "no level-2 grid with code GW01" in errors_of(exc)["reason"].iloc[0]


def test_unknown_layer_and_unsupported_file(places_url: URL, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="unknown layer"):
        load(places_url, tmp_path / "x.csv", layer="people")
    doc = tmp_path / "x.docx"
    doc.write_bytes(b"PK")
    with pytest.raises(InputError, match=r"unsupported file type '\.docx'"):
        load(places_url, doc)
    with pytest.raises(InputError, match="no such file"):
        load(places_url, tmp_path / "missing.csv")


def test_nothing_loads_before_the_county(db_url: URL, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="No county boundary is loaded"):
        load(db_url, incidents_csv(tmp_path / "i.csv", 2))


# -- the database is the last line of defence ----------------------------------------------

CONSTRAINT_CASES = [
    (
        "cameras",
        "bearing_range",
        "INSERT INTO cameras (code, bearing_deg, fov_deg, range_m, height_m, installed_on, status, village_id, geom) SELECT 'k', 360, 60, 50, 5, '2014-01-01', 'in_service', min(id), 'SRID=4326;POINT(107.39 34.52)' FROM villages",
    ),
    (
        "cameras",
        "fov_range",
        "INSERT INTO cameras (code, bearing_deg, fov_deg, range_m, height_m, installed_on, status, village_id, geom) SELECT 'k', 0, 0, 50, 5, '2014-01-01', 'in_service', min(id), 'SRID=4326;POINT(107.39 34.52)' FROM villages",
    ),
    (
        "cameras",
        "range_positive",
        "INSERT INTO cameras (code, bearing_deg, fov_deg, range_m, height_m, installed_on, status, village_id, geom) SELECT 'k', 0, 60, 0, 5, '2014-01-01', 'in_service', min(id), 'SRID=4326;POINT(107.39 34.52)' FROM villages",
    ),
    (
        "incidents",
        "reported_after_occurred",
        "INSERT INTO incidents (source_id, category, is_criminal, occurred_at, reported_at, status, geom) VALUES ('i', 'theft', true, '2015-01-02', '2015-01-01', 'open', 'SRID=4326;POINT(107.39 34.52)')",
    ),
    (
        "incidents",
        "closed_after_reported",
        "INSERT INTO incidents (source_id, category, is_criminal, occurred_at, reported_at, closed_at, status, geom) VALUES ('i', 'theft', true, '2015-01-01', '2015-01-02', '2015-01-01', 'closed', 'SRID=4326;POINT(107.39 34.52)')",
    ),
    (
        "incidents",
        "solved_after_occurred",
        "INSERT INTO incidents (source_id, category, is_criminal, occurred_at, reported_at, solved_at, status, geom) VALUES ('i', 'theft', true, '2015-01-02', '2015-01-02', '2015-01-01', 'open', 'SRID=4326;POINT(107.39 34.52)')",
    ),
    (
        "incidents",
        "geom_valid",
        "INSERT INTO incidents (source_id, category, is_criminal, occurred_at, reported_at, status, geom) VALUES ('i', 'theft', true, '2015-01-01', '2015-01-01', 'open', 'SRID=4326;POINT(NaN 34.52)')",
    ),
    (
        "incidents",
        "fk_incidents_category",
        "INSERT INTO incidents (source_id, category, is_criminal, occurred_at, reported_at, status, geom) VALUES ('i', 'kidnap', true, '2015-01-01', '2015-01-01', 'open', 'SRID=4326;POINT(107.39 34.52)')",
    ),
    (
        "grids",
        "parent_iff_not_top",
        "INSERT INTO grids (code, level, parent_id, staff_role, geom) SELECT 'g', 1, min(id), 'x', 'SRID=4326;MULTIPOLYGON(((107 34,107.1 34,107.1 34.1,107 34)))' FROM grids",
    ),
    (
        "villages",
        "geom_valid",
        "INSERT INTO villages (code, name_zh, name_pinyin, population, town_id, geom) SELECT 'v', 'v', 'v', 1, min(id), 'SRID=4326;MULTIPOLYGON(((0 0,1 1,1 0,0 1,0 0)))' FROM towns",
    ),
]


@pytest.mark.parametrize(
    ("table", "constraint", "stmt"), CONSTRAINT_CASES, ids=[c for _, c, _ in CONSTRAINT_CASES]
)
def test_constraints_reject_bad_rows(
    places_url: URL, table: str, constraint: str, stmt: str
) -> None:
    with psycopg.connect(libpq_url(places_url)) as conn:
        with pytest.raises(psycopg.errors.IntegrityError) as exc:
            conn.execute(stmt)
        conn.rollback()
    assert constraint in (exc.value.diag.constraint_name or "")


# -- killed mid-way ---------------------------------------------------------------------------


def test_load_killed_with_sigkill_leaves_no_partial_rows(places_url: URL, tmp_path: Path) -> None:
    n = 400_000
    ids = np.arange(n)
    frame = pd.DataFrame(
        {
            "source_id": [f"K{i}" for i in ids],
            "category": "theft",
            "occurred_at": "2015-06-01 12:00",
            "lon": LON + (ids % 1000) * 1e-5,
            "lat": LAT + (ids // 1000) * 1e-5,
        }
    )
    path = tmp_path / "big.csv"
    frame.to_csv(path, index=False)
    env = {**os.environ, "GRIDWATCH_DATABASE_URL": places_url.render_as_string(hide_password=False)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "gridwatch", "load", str(path), "--layer", "incidents"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.time() + 120
    copying = False
    while time.time() < deadline and proc.poll() is None:
        active = q(
            places_url,
            "SELECT count(*) FROM pg_stat_activity WHERE query ILIKE 'COPY %' AND pid <> pg_backend_pid()",
        )[0][0]
        if active:
            copying = True
            time.sleep(0.3)  # let some chunks land in staging
            break
        time.sleep(0.05)
    assert copying, f"the load never started copying: {proc.stderr.read() if proc.stderr else ''}"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    time.sleep(0.5)
    assert count(places_url) == 0
    assert q(places_url, "SELECT count(*) FROM load_runs WHERE layer = 'incidents'")[0][0] == 0


def test_integrity_error_message_names_the_constraint(
    places_url: URL, tmp_path: Path, monkeypatch
) -> None:
    """If a rule slipped past validation, the database refuses and says which rule."""
    import etl.validate as validate

    monkeypatch.setitem(
        validate.RULES,
        "cameras",
        lambda out, raw, plan, rep: (
            out.__setitem__("status", "in_service") or out.__setitem__("kind", "fixed")
        ),
    )
    path = tmp_path / "c.csv"
    path.write_text(
        f"code,lon,lat,bearing,fov,range,height,installed\nK1,{LON},{LAT},400,60,80,6,2014-01-01\n"
    )
    with pytest.raises(DatabaseError, match=r"ck_cameras_bearing_range.*Nothing was written"):
        load(places_url, path, layer="cameras")
    assert count(places_url, "cameras") == 823
