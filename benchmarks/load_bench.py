#!/usr/bin/env python
"""Load benchmark: N incidents from GeoParquet and from CSV into PostGIS, against to_postgis.

Generates the sample county's incidents once (timed separately), writes them as
GeoParquet (EPSG:4326, as ``etl.sample.files.write_sample`` does) and as the CSV
``gridwatch export incidents --format csv`` writes (lon/lat columns, times with
their +08:00 offset), then loads them with

* ``loader-parquet``  gridwatch's loader (``etl.loader.load_file``) from the GeoParquet file,
* ``loader-csv``      gridwatch's loader from the CSV file,
* ``to_postgis``      ``gpd.read_parquet`` of the same GeoParquet file, then
                      ``GeoDataFrame.to_postgis(..., chunksize=...)`` (geoalchemy2),

each in its own spawned child process against its own fresh database (created
on the configured server from a migrated template that already holds the
county boundary, and dropped afterwards). The child measures its wall time from
"start reading the file" to "committed" (interpreter start and imports are not
counted, for any method) and its peak resident memory (VmHWM). The parent then
checks the target table (``count(*)``, first/last ``occurred_at`` in UTC and the
extent must equal the file's) and prints rows/s, peak MiB, the
speed-up against to_postgis and PASS/FAIL against the goals of the issue
(>= 10x to_postgis, >= 150,000 rows/s, peak < 1 GiB).

Run from the repository root (the embedded cluster is found through the same
settings as the ``gridwatch`` command; ``GRIDWATCH_DATABASE_URL`` wins when set):

    .venv/bin/python benchmarks/load_bench.py --rows 1000000 --repeat 3
    .venv/bin/python benchmarks/load_bench.py --baseline-rows 200000   # to_postgis on a subset

The gridwatch database itself is never touched. Nothing is written to RESULTS.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import multiprocessing as mp
import os
import platform
import resource
import shutil
import statistics
import sys
import tempfile
import time
import traceback
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.engine import URL

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

GOAL_SPEEDUP = 10.0
GOAL_ROWS_PER_S = 150_000
GOAL_PEAK_MIB = 1024.0
METHODS = ("loader-parquet", "loader-csv", "to_postgis")
CSV_COLUMNS = (
    "source_id", "category", "is_criminal", "occurred_at", "reported_at", "closed_at",
    "solved_at", "handled_level", "status", "lon", "lat",
)  # fmt: skip
LOCAL_TZ = "Asia/Shanghai"


# --------------------------------------------------------------------------------------------
# child side: one load, in a fresh interpreter
# --------------------------------------------------------------------------------------------
def _peak_mib() -> float:
    """Peak resident set size of this process (VmHWM), in MiB."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def _child(job: dict, conn) -> None:  # runs in a spawned process
    out: dict = {"method": job["method"]}
    import warnings

    caught = warnings.catch_warnings(record=True)  # reported once each by the parent
    seen = caught.__enter__()
    warnings.simplefilter("always")
    try:
        import sqlalchemy as sa
        from sqlalchemy.pool import NullPool

        if job["method"] == "to_postgis":
            import geoalchemy2  # noqa: F401  (what to_postgis uses)
            import geopandas as gpd
        else:
            from etl.loader import LoadOptions, load_file
        engine = sa.create_engine(job["url"], poolclass=NullPool)
        out["mib_before"] = _peak_mib()
        prof = None
        if job.get("profile"):
            import cProfile

            prof = cProfile.Profile()
            prof.enable()
        t0 = time.perf_counter()
        if job["method"] == "to_postgis":
            gdf = gpd.read_parquet(job["path"])
            out["read_s"] = time.perf_counter() - t0
            if job["table"] == "incidents":
                gdf = gdf.rename_geometry("geom")  # the incidents table's geometry column
            gdf.to_postgis(
                job["table"],
                engine,
                if_exists="append" if job["table"] == "incidents" else "fail",
                index=False,
                chunksize=job["chunksize"],
            )
            out["rows_reported"] = len(gdf)
        else:
            res = load_file(engine, Path(job["path"]), LoadOptions(layer="incidents"))
            out["rows_reported"] = res.rows_loaded
            out["rejected"] = res.rows_rejected
            out["inserted"] = res.inserted
        out["seconds"] = time.perf_counter() - t0
        if prof is not None:
            prof.disable()
            prof.dump_stats(job["profile"])
        engine.dispose()
        out["peak_mib"] = _peak_mib()
        out["ok"] = True
    except BaseException as exc:
        out["ok"] = False
        out["error"] = f"{type(exc).__name__}: {exc}"
        errors = getattr(getattr(exc, "report", None), "errors", None)
        if errors is not None and len(errors):
            out["error"] += "\nfirst rejected rows:\n" + errors.head(10).to_string()
        out["traceback"] = traceback.format_exc()
        out["peak_mib"] = _peak_mib()
    caught.__exit__(None, None, None)
    out["warnings"] = sorted(
        {f"{w.category.__name__} at {Path(w.filename).name}:{w.lineno}: {w.message}" for w in seen}
    )
    conn.send(json.dumps(out))
    conn.close()


def _run_child(job: dict) -> dict:
    ctx = mp.get_context("spawn")
    parent_end, child_end = ctx.Pipe(duplex=False)
    t0 = time.perf_counter()
    proc = ctx.Process(target=_child, args=(job, child_end), name=f"bench-{job['method']}")
    proc.start()
    child_end.close()
    try:
        raw = parent_end.recv()
    except EOFError:
        raw = json.dumps({"ok": False, "error": "child died without a report"})
    proc.join()
    res = json.loads(raw)
    res["process_s"] = time.perf_counter() - t0
    if proc.exitcode not in (0, None) and res.get("ok"):
        res.update(ok=False, error=f"child exit code {proc.exitcode}")
    return res


# --------------------------------------------------------------------------------------------
# parent side: data, databases, report
# --------------------------------------------------------------------------------------------
@dataclass
class Server:
    url: URL  # of the configured database (psycopg driver)

    def libpq(self, database: str) -> str:
        from etl.db import libpq_url

        return libpq_url(self.url.set(database=database))

    def sa_url(self, database: str) -> str:
        return self.url.set(database=database).render_as_string(hide_password=False)

    def admin(self):
        import psycopg

        return psycopg.connect(self.libpq("postgres"), autocommit=True)

    def shown(self) -> str:
        u = self.url
        return f"{u.host or 'socket'}:{u.port or ''}"


def _server() -> Server:
    from etl.db import database_url
    from gridwatch.settings import load_settings

    settings = load_settings()
    try:
        url = database_url(settings)
    except Exception as exc:
        sys.exit(f"load_bench: cannot find the database ({exc}); start it with: gridwatch db up")
    server = Server(url)
    try:
        with server.admin() as conn:
            conn.execute("SELECT 1")
    except Exception as exc:
        hint = "gridwatch db up" if settings.uses_embedded_db else "check GRIDWATCH_DATABASE_URL"
        sys.exit(f"load_bench: cannot connect to {server.shown()}: {exc}\nhint: {hint}")
    return server


@dataclass
class Data:
    folder: Path
    county_gpkg: Path
    parquet: Path
    csv: Path
    baseline_parquet: Path
    rows: int
    baseline_rows: int
    outside: int = 0
    stats: tuple = ()
    baseline_stats: tuple = ()
    timings: dict[str, float] = field(default_factory=dict)


def _iso_local(s, tz: str):
    """tz-aware Series -> 'YYYY-MM-DDTHH:MM:SS+08:00' strings ('' for NaT), vectorised."""
    import numpy as np
    import pandas as pd

    local = s.dt.tz_convert(tz)
    naive_local = local.dt.tz_localize(None).to_numpy().astype("datetime64[s]")
    naive_utc = s.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy().astype("datetime64[s]")
    text = np.datetime_as_string(naive_local, unit="s").astype(object)
    offset = (naive_local - naive_utc).astype("timedelta64[m]").astype(np.int64)
    nat = pd.isna(s).to_numpy()
    offset[nat] = 0
    suffix = {}
    for m in np.unique(offset):
        sign = "+" if m >= 0 else "-"
        suffix[m] = f"{sign}{abs(int(m)) // 60:02d}:{abs(int(m)) % 60:02d}"
    out = text + pd.Series(offset).map(suffix).to_numpy(dtype=object)
    out[nat] = ""
    return out


def make_data(folder: Path, rows: int, baseline_rows: int, seed: int) -> Data:
    import numpy as np
    import pandas as pd
    import pyogrio
    import shapely

    from etl.sample.county import build_county
    from etl.sample.incidents import generate_incidents

    d = Data(folder, folder / "county.gpkg", folder / "incidents.parquet",
             folder / "incidents.csv", folder / "incidents_baseline.parquet", rows, baseline_rows)  # fmt: skip
    t0 = time.perf_counter()
    county = build_county(seed)
    t1 = time.perf_counter()
    # A few generated points fall (centimetres) outside the county boundary as stored in
    # EPSG:4326, and the loader rightly rejects them; generate a little more and keep the
    # first `rows` that are inside, also after the CSV's 7-decimal rounding.
    extra = max(100, rows // 1000)
    inc = generate_incidents(county, seed=seed, total=rows + extra).to_crs(4326)
    layer = county.storage_layers()["county"]
    boundary = shapely.union_all(layer.geometry.to_numpy())
    shapely.prepare(boundary)
    x, y = inc.geometry.x.to_numpy(), inc.geometry.y.to_numpy()
    inside = shapely.contains_xy(boundary, x, y) & shapely.contains_xy(
        boundary, np.round(x, 7), np.round(y, 7)
    )
    d.outside = int((~inside[: rows + extra]).sum())
    inc = inc[inside].iloc[:rows].reset_index(drop=True)
    t2 = time.perf_counter()
    d.timings["county (build_county)"] = t1 - t0
    d.timings[f"{rows:,} incidents (generate_incidents + to_crs)"] = t2 - t1
    if len(inc) != rows:
        sys.exit(f"load_bench: generate_incidents gave {len(inc):,} usable rows, not {rows:,}")

    # the county boundary (the loader checks incident points against it); as write_sample does
    keep = [c for c in layer.columns if c not in ("seat_x", "seat_y", "centre_x", "centre_y", "site", "town_code")]  # fmt: skip
    pyogrio.write_dataframe(layer[keep], d.county_gpkg, layer="county", driver="GPKG")

    d.stats = frame_stats(inc)
    d.baseline_stats = frame_stats(inc.iloc[:baseline_rows])
    t3 = time.perf_counter()
    # GeoParquet, as etl.sample.files.write_sample writes incidents.parquet
    inc.to_parquet(d.parquet, index=False, compression="zstd", write_covering_bbox=False)
    if baseline_rows < rows:
        inc.iloc[:baseline_rows].to_parquet(
            d.baseline_parquet, index=False, compression="zstd", write_covering_bbox=False
        )
    else:
        d.baseline_parquet = d.parquet
    t4 = time.perf_counter()
    # CSV, as `gridwatch export incidents --format csv` writes it
    frame = pd.DataFrame(inc.drop(columns=inc.geometry.name))
    for col in frame.columns:
        if isinstance(frame[col].dtype, pd.DatetimeTZDtype):
            frame[col] = _iso_local(frame[col], LOCAL_TZ)
    frame["lon"] = inc.geometry.x.round(7).to_numpy()
    frame["lat"] = inc.geometry.y.round(7).to_numpy()
    frame[list(CSV_COLUMNS)].to_csv(d.csv, index=False, encoding="utf-8-sig")
    t5 = time.perf_counter()
    d.timings["write GeoParquet"] = t4 - t3
    d.timings["write CSV"] = t5 - t4
    del inc, frame, county
    gc.collect()
    return d


def make_template(server: Server, name: str, county_gpkg: Path) -> None:
    """A migrated database holding only the county boundary, cloned for every run."""
    import sqlalchemy as sa
    from sqlalchemy.pool import NullPool

    from etl.cluster import enable_postgis
    from etl.db import migrate
    from etl.loader import LoadOptions, load_file

    with server.admin() as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    enable_postgis(server.libpq(name))
    engine = sa.create_engine(server.sa_url(name), poolclass=NullPool)
    try:
        migrate(engine)
        load_file(engine, county_gpkg, LoadOptions(layer="county", source_layer="county"))
    finally:
        engine.dispose()


def table_stats(server: Server, db: str, table: str, geom: str) -> tuple:
    """count(*), first and last occurred_at (UTC) and the extent of the loaded rows."""
    import psycopg
    from psycopg import sql

    q = sql.SQL(
        "SELECT count(*), min(occurred_at), max(occurred_at), ST_XMin(ST_Extent({g})),"
        " ST_YMin(ST_Extent({g})), ST_XMax(ST_Extent({g})), ST_YMax(ST_Extent({g})) FROM {t}"
    ).format(t=sql.Identifier(table), g=sql.Identifier(geom))
    with psycopg.connect(server.libpq(db)) as conn:
        conn.execute("SET TimeZone = 'UTC'")
        row = conn.execute(q).fetchone()
    return tuple(row) if row else (0, None, None, None, None, None, None)


def frame_stats(gdf) -> tuple:
    occ = gdf["occurred_at"].dt.tz_convert("UTC")
    x0, y0, x1, y1 = gdf.total_bounds
    return (len(gdf), occ.min().to_pydatetime(), occ.max().to_pydatetime(), x0, y0, x1, y1)


def same_stats(got: tuple, want: tuple) -> bool:
    return (
        got[0] == want[0]
        and got[1] == want[1]
        and got[2] == want[2]
        and all(abs(float(a) - float(b)) < 1e-6 for a, b in zip(got[3:], want[3:], strict=True))
    )


def drop_db(server: Server, name: str) -> None:
    with server.admin() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass
class Run:
    method: str
    source: str
    rows: int
    seconds: float
    peak_mib: float
    process_s: float
    counted: int
    note: str = ""
    warnings: list[str] = field(default_factory=list)
    read_s: float | None = None  # to_postgis: the read_parquet part of `seconds`

    @property
    def rate(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else float("nan")


def bench_method(
    server: Server, template: str, prefix: str, method: str, data: Data, args, attempt: int
) -> Run:
    db = f"{prefix}_{method.replace('-', '_')}_{attempt}"
    if method == "to_postgis":
        table = "incidents" if args.baseline_table == "incidents" else "incidents_to_postgis"
        path, rows, source = data.baseline_parquet, data.baseline_rows, "GeoParquet"
    else:
        table = "incidents"
        path = data.parquet if method == "loader-parquet" else data.csv
        rows, source = data.rows, "GeoParquet" if method == "loader-parquet" else "CSV"
    with server.admin() as conn:
        conn.execute(f'CREATE DATABASE "{db}" TEMPLATE "{template}"')
    try:
        job = {"method": method, "url": server.sa_url(db), "path": str(path), "table": table,
               "chunksize": args.baseline_chunksize}  # fmt: skip
        if args.profile:
            args.profile.mkdir(parents=True, exist_ok=True)
            job["profile"] = str(args.profile / f"{method}.{attempt}.prof")
        res = _run_child(job)
        if not res.get("ok"):
            print(res.get("traceback", ""), file=sys.stderr)
            raise SystemExit(f"load_bench: {method} failed: {res.get('error')}")
        geom = "geometry" if table == "incidents_to_postgis" else "geom"
        got = table_stats(server, db, table, geom)
    finally:
        drop_db(server, db)
    counted = int(got[0])
    if counted != rows:
        raise SystemExit(
            f"load_bench: {method}: count(*) of {table} is {counted:,}, expected {rows:,}"
        )
    want = data.baseline_stats if method == "to_postgis" else data.stats
    if not same_stats(got, want):
        raise SystemExit(
            f"load_bench: {method}: loaded values differ from the file (count, first/last"
            f" occurred_at UTC, extent):\n  loaded {got}\n  file   {want}"
        )
    if res.get("rejected"):
        raise SystemExit(f"load_bench: {method}: the loader rejected {res['rejected']:,} rows")
    note = f"-> {table}"
    if method == "to_postgis":
        note += f", chunksize={args.baseline_chunksize:,}"
    return Run(
        method, source, rows, res["seconds"], res["peak_mib"], res["process_s"], counted, note,
        res.get("warnings", []), res.get("read_s"),
    )  # fmt: skip


def summarise(runs: list[Run]) -> Run:
    """Median time over repeats, the highest peak."""
    if len(runs) == 1:
        return runs[0]
    r = runs[0]
    return Run(r.method, r.source, r.rows, statistics.median(x.seconds for x in runs),
               max(x.peak_mib for x in runs), statistics.median(x.process_s for x in runs),
               r.counted, r.note + f"; median of {len(runs)}",
               sorted({w for x in runs for w in x.warnings}),
               statistics.median(x.read_s or 0.0 for x in runs) if r.read_s is not None else None)  # fmt: skip


def report(results: dict[str, Run], args, data: Data) -> bool:
    base = results.get("to_postgis")
    print()
    print(f"{'method':<16} {'source':<10} {'rows':>10} {'seconds':>9} {'rows/s':>10} "
          f"{'peak MiB':>9} {'vs to_postgis':>14}  note")  # fmt: skip
    print("-" * 100)
    for m in METHODS:
        r = results.get(m)
        if r is None:
            continue
        speed = f"{r.rate / base.rate:.1f}x" if base else "n/a"
        print(f"{r.method:<16} {r.source:<10} {r.rows:>10,} {r.seconds:>9.2f} {r.rate:>10,.0f} "
              f"{r.peak_mib:>9.0f} {speed:>14}  {r.note}"
              + (f", incl. read_parquet {r.read_s:.1f}s" if r.read_s is not None else ""))  # fmt: skip
    for m in METHODS:
        r = results.get(m)
        for w in r.warnings if r else []:
            print(f"  warning during {m}: {w}")
    if base and base.rows != data.rows:
        print(f"\nNOTE: to_postgis was measured on the first {base.rows:,} of the {data.rows:,} rows"
              " (--baseline-rows); speed-ups compare rows/s, not total times.")  # fmt: skip
    print(f"\nGoals (issue): >= {GOAL_SPEEDUP:.0f}x to_postgis rows/s, >= {GOAL_ROWS_PER_S:,} rows/s,"
          f" peak < {GOAL_PEAK_MIB:.0f} MiB (loader process; the PostgreSQL server is not counted)")  # fmt: skip
    all_ok = True
    for m in ("loader-parquet", "loader-csv"):
        r = results.get(m)
        if r is None:
            continue
        checks = []
        if base:
            sp = r.rate / base.rate
            checks.append((f"speed-up {sp:.1f}x >= {GOAL_SPEEDUP:.0f}x", sp >= GOAL_SPEEDUP))
        checks.append((f"{r.rate:,.0f} rows/s >= {GOAL_ROWS_PER_S:,}", r.rate >= GOAL_ROWS_PER_S))
        checks.append(
            (f"peak {r.peak_mib:.0f} MiB < {GOAL_PEAK_MIB:.0f}", r.peak_mib < GOAL_PEAK_MIB)
        )
        for text, ok in checks:
            all_ok &= ok
            print(f"  {m:<16} {'PASS' if ok else 'FAIL'}  {text}")
    if not any(m in results for m in ("loader-parquet", "loader-csv")):
        print("\noverall: n/a (no loader was run)")
        return True
    print(f"\noverall: {'PASS' if all_ok else 'FAIL'}")
    return all_ok


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="load_bench.py",
        description="Load N sample incidents from GeoParquet and CSV into PostGIS with gridwatch's"
        " loader and with GeoDataFrame.to_postgis; print rows/s, peak memory and PASS/FAIL"
        " against the goals (>=10x to_postgis, >=150,000 rows/s, <1 GiB). Each load runs in its"
        " own spawned process against its own fresh database, dropped afterwards.",
    )
    p.add_argument(
        "--rows", type=int, default=1_000_000, help="incidents to load (default 1,000,000)"
    )
    p.add_argument("--baseline-rows", type=int, default=None,
                   help="measure to_postgis on the first N rows only (it is slow); speed-ups then"
                   " compare rows/s. Default: all --rows")  # fmt: skip
    p.add_argument("--baseline-chunksize", type=int, default=10_000,
                   help="to_postgis chunksize (default 10,000)")  # fmt: skip
    p.add_argument("--baseline-table", choices=("incidents", "plain"), default="incidents",
                   help="to_postgis target: 'incidents' appends to the real incidents table (same"
                   " schema, constraints and indexes as the loader's target; default) or 'plain'"
                   " creates a new table incidents_to_postgis (geoalchemy2 types, spatial index only)")  # fmt: skip
    p.add_argument("--methods", default=",".join(METHODS),
                   help=f"comma-separated subset of {', '.join(METHODS)}")  # fmt: skip
    p.add_argument("--repeat", type=int, default=1,
                   help="runs per method (fresh database each); the table shows the median time")  # fmt: skip
    p.add_argument("--seed", type=int, default=20140101, help="sample county seed")
    p.add_argument(
        "--keep-files", action="store_true", help="keep the generated files (path printed)"
    )
    p.add_argument("--workdir", type=Path, default=None,
                   help="where to write the files (default: a new temporary folder)")  # fmt: skip
    p.add_argument("--profile", type=Path, default=None, metavar="DIR",
                   help="run each load under cProfile and write DIR/<method>.<n>.prof"
                   " (slows the loads down; do not record those times)")  # fmt: skip
    args = p.parse_args(argv)
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        p.error(f"unknown method(s) {', '.join(unknown)}; choose from {', '.join(METHODS)}")
    if args.rows <= 0:
        p.error("--rows must be positive")
    baseline_rows = min(args.baseline_rows or args.rows, args.rows)

    server = _server()
    import psycopg  # noqa: F401

    with server.admin() as conn:
        pg_version = conn.execute("SHOW server_version").fetchone()[0]
    print(f"load_bench  {dt.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}")
    print(f"  command : {' '.join([os.path.relpath(sys.executable), *sys.argv])}")
    print(f"  machine : {os.cpu_count()} CPUs, {platform.machine()}, {platform.platform()}")
    print(f"  python  : {platform.python_version()}; PostgreSQL {pg_version} at {server.shown()}")
    print(f"  rows    : {args.rows:,} (to_postgis: {baseline_rows:,}); methods: {', '.join(methods)};"
          f" repeat {args.repeat}")  # fmt: skip

    tmp_root = args.workdir or Path(tempfile.mkdtemp(prefix="gw-load-bench-"))
    tmp_root.mkdir(parents=True, exist_ok=True)
    prefix = f"gw_bench_{uuid.uuid4().hex[:8]}"
    template = f"{prefix}_template"
    ok = False
    try:
        print(f"\ngenerating data in {tmp_root} ...", flush=True)
        data = make_data(tmp_root, args.rows, baseline_rows, args.seed)
        for what, s in data.timings.items():
            print(f"  {what:<48} {s:7.2f} s")
        print(f"  generated points outside the stored county boundary, dropped: {data.outside:,}"
              f" (generated {args.rows:,} + a {max(100, args.rows // 1000):,}-row margin)")  # fmt: skip
        for f in dict.fromkeys((data.parquet, data.csv, data.baseline_parquet)):
            if f.exists():
                print(f"  {f.name:<48} {f.stat().st_size / 2**20:7.1f} MiB")
        print(f"\npreparing template database {template} (migrated, county loaded) ...", flush=True)
        make_template(server, template, data.county_gpkg)
        results: dict[str, Run] = {}
        runs: dict[str, list[Run]] = {m: [] for m in methods}
        for attempt in range(1, args.repeat + 1):
            for m in methods:
                print(f"  run {attempt}/{args.repeat}: {m} ...", end=" ", flush=True)
                r = bench_method(server, template, prefix, m, data, args, attempt)
                runs[m].append(r)
                print(f"{r.rows:,} rows in {r.seconds:.2f} s = {r.rate:,.0f} rows/s,"
                      f" peak {r.peak_mib:.0f} MiB (process {r.process_s:.1f} s; count(*), times, extent ok)", flush=True)  # fmt: skip
        results = {m: summarise(rs) for m, rs in runs.items()}
        ok = report(results, args, data)
        if args.profile:
            print(f"\nprofiles in {args.profile} (times above are inflated by cProfile)")
    finally:
        try:
            drop_db(server, template)
        except Exception as exc:  # report, keep the original error
            print(f"load_bench: could not drop {template}: {exc}", file=sys.stderr)
        if args.keep_files:
            print(f"\nfiles kept in {tmp_root}")
        elif args.workdir is None:
            shutil.rmtree(tmp_root, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
