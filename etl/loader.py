"""Load a file into a layer: stream, validate, COPY, check, upsert; all or nothing.

The whole load is one transaction. Rows are validated a chunk at a time and the
good ones sent with one binary COPY (not INSERTed row by row) from a writer thread,
so the server ingests a chunk while Python validates the next. Into an empty
incidents or roads layer the COPY goes straight into the table, whose indexes and
constraints are rebuilt once at the end; otherwise it goes into a staging table,
where checks that need every row (duplicate ids, references to towns, villages,
parent grids) run in SQL, and one INSERT ... ON CONFLICT moves it into the layer.
Any bad row rolls everything back unless a quarantine file is given, in which case
the good rows are written and the bad ones go to that file with their reasons. A
process killed mid-load leaves nothing behind: the transaction was never committed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import psycopg
import shapely
from psycopg import sql
from psycopg.copy import QueuedLibpqWriter
from pyproj import CRS
from sqlalchemy.engine import Engine

from etl.fields import LAYERS, plan_columns
from etl.pgcopy import BinaryCopy, copy_schema
from etl.quarantine import Quarantine, reasons
from etl.readers import Source
from etl.staging import count, drop_secondary, sql_checks, upsert
from etl.validate import WGS84, Context, check_chunk
from gridwatch.errors import DatabaseError, InputError, ValidationFailed
from spatial.topology import gk_zone_crs

PG_TYPES = {
    "str": "text",
    "vocab": "text",
    "int": "integer",
    "float": "double precision",
    "bool": "boolean",
    "date": "date",
    "datetime": "timestamptz",
}
REPORT_LIMIT = 10_000  # errors kept in memory for the report; the quarantine file gets all
BULK_MIN_ROWS = 50_000  # loads at least this big into a table no bigger rebuild its indexes


@dataclass
class LoadOptions:
    layer: str
    encoding: str | None = None
    crs: str | None = None
    convert_from: str = "wgs84"
    column_map: dict[str, str] = field(default_factory=dict)
    quarantine: Path | None = None
    source_layer: str | None = None
    local_tz: str = "Asia/Shanghai"
    chunk_rows: int = 100_000


@dataclass
class LoadResult:
    layer: str
    source: str
    rows_read: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    inserted: int = 0
    updated: int = 0
    seconds: float = 0.0
    naive_times: dict[str, int] = field(default_factory=dict)
    ignored_columns: list[str] = field(default_factory=list)
    personal_columns: list[str] = field(default_factory=list)
    errors: pd.DataFrame = field(default_factory=pd.DataFrame)
    quarantine: Path | None = None


def _source_crs(source: Source, option: str | None) -> CRS:
    given = None
    if option:
        try:
            given = CRS.from_user_input(option)
        except Exception:
            raise InputError(
                f"--crs {option}: not a CRS gridwatch knows (try EPSG:4490)."
            ) from None
    geographic = (4326, 4490)
    if (
        source.crs is not None
        and given is not None
        and not source.crs.equals(given)
        and not (source.crs.to_epsg() in geographic and given.to_epsg() in geographic)
    ):
        raise InputError(
            f"{source.path}: the file declares {source.crs.to_string()} but --crs says"
            f" {given.to_string()}; drop --crs or fix the file."
        )
    return source.crs or given or WGS84


def _fetch_county(conn: psycopg.Connection) -> shapely.Geometry | None:
    row = conn.execute("SELECT ST_AsBinary(ST_Union(geom)) FROM county").fetchone()
    return None if row is None or row[0] is None else shapely.from_wkb(bytes(row[0]))


Progress = Callable[[str, int, int | None], None]  # (layer, rows done now, total rows)


def load_file(
    engine: Engine,
    path: Path,
    options: LoadOptions,
    progress: Progress | None = None,
) -> LoadResult:
    """Load ``path`` into ``options.layer``; raise ValidationFailed (nothing written) on bad rows."""
    return load_many(engine, [(Path(path), options)], progress)[0]


def load_many(
    engine: Engine,
    items: list[tuple[Path, LoadOptions]],
    progress: Progress | None = None,
    *,
    replace: bool = False,
) -> list[LoadResult]:
    """Load several files in one transaction: all of them or none.

    With ``replace`` every layer table is emptied first (in the same transaction),
    so a complete new county replaces the old one without stale rows.
    """
    raw_conn = engine.raw_connection()
    conn: psycopg.Connection = raw_conn.driver_connection  # type: ignore[assignment]
    quarantines: list[Quarantine] = []
    try:
        if replace:
            conn.execute(
                "TRUNCATE incidents, cameras, roads, grids, villages, towns, county RESTART IDENTITY"
            )
        results = []
        for path, options in items:
            result, quarantine = _load(conn, Path(path), options, progress)
            quarantines.append(quarantine)
            results.append(result)
        conn.commit()
    except psycopg.errors.IntegrityError as exc:
        conn.rollback()
        for q in quarantines:
            q.abort()
        diag = exc.diag
        raise DatabaseError(
            f"the database refused the load ({diag.constraint_name or type(exc).__name__}):"
            f" {diag.message_primary}. {diag.message_detail or ''} Nothing was written."
        ) from None
    except BaseException:
        conn.rollback()
        for q in quarantines:
            q.abort()
        raise
    finally:
        raw_conn.close()
    for result, q in zip(results, quarantines, strict=True):
        result.quarantine = q.commit()
    return results


def _load(
    conn: psycopg.Connection, path: Path, options: LoadOptions, progress: Progress | None
) -> tuple[LoadResult, Quarantine]:
    t0 = time.perf_counter()
    if options.layer not in LAYERS:
        raise InputError(f"--layer {options.layer}: unknown layer; one of {', '.join(LAYERS)}")
    spec = LAYERS[options.layer]
    source = Source(
        path, encoding=options.encoding, layer=options.source_layer, chunk_rows=options.chunk_rows
    )
    plan = plan_columns(source.columns, spec, has_geometry=source.has_geometry,
                        mapping=options.column_map, source=str(path))  # fmt: skip
    src_crs = _source_crs(source, options.crs)
    if options.convert_from != "wgs84" and not src_crs.is_geographic:
        raise InputError(
            f"--from {options.convert_from} needs longitude/latitude input, not {src_crs.name}."
        )
    county = None
    if spec.name != "county":
        county = _fetch_county(conn)
        if county is None:
            raise InputError(
                "No county boundary is loaded yet, so places cannot be checked against it.",
                hint="Load it first: gridwatch load FILE --layer county",
            )
    metric = gk_zone_crs(county.centroid.x) if county is not None else None
    ctx = Context(spec, plan, src_crs, options.convert_from, options.local_tz, county, metric)
    result = LoadResult(
        spec.name, str(path), ignored_columns=plan.ignored, personal_columns=plan.personal
    )
    raw_cols = [c for c in source.columns if c not in plan.personal]
    quarantine = Quarantine(options.quarantine, raw_cols + (["wkt"] if source.has_geometry else []))
    try:
        _stream(conn, _Run(source, ctx, result, quarantine, raw_cols, options, progress))
    except BaseException:
        quarantine.abort()
        raise
    result.seconds = time.perf_counter() - t0
    with conn.cursor() as cur:
        _record(cur, result, options)
    return result, quarantine


DIRECT_LAYERS = ("roads", "incidents")  # no references to resolve, none referencing them


@dataclass
class _Run:
    """Everything one file's load carries from chunk to chunk."""

    source: Source
    ctx: Context
    result: LoadResult
    quarantine: Quarantine
    raw_cols: list[str]
    options: LoadOptions
    progress: Progress | None
    errors: list[pd.DataFrame] = field(default_factory=list)

    def restart(self) -> None:
        """Forget what the first attempt counted: the file is read again from row 1."""
        self.result.rows_read = self.result.rows_rejected = 0
        self.ctx.naive_times.clear()
        self.errors.clear()
        self.quarantine.reset()


def _stream(conn: psycopg.Connection, run: _Run) -> None:
    """Validate chunk by chunk and COPY the good rows: straight into an empty layer, else
    through staging (SQL checks, upsert)."""
    with conn.cursor() as cur:
        cur.execute("SET LOCAL synchronous_commit = off")
        if run.ctx.spec.name in DIRECT_LAYERS and count(cur, run.ctx.spec) == 0:
            cur.execute("SAVEPOINT gw_direct")
            try:
                _direct(cur, run)
                cur.execute("RELEASE SAVEPOINT gw_direct")
                return
            except psycopg.errors.UniqueViolation:
                # duplicate keys in the file: redo it through staging, which names the rows
                cur.execute("ROLLBACK TO SAVEPOINT gw_direct")
                run.restart()
        _staged(cur, run)


def _copy_checked(
    cur: psycopg.Cursor, run: _Run, table: str, names: list[str], freeze: bool = False
) -> None:
    """One COPY for the whole file: the server stores chunk k while Python checks chunk k+1.

    ``freeze`` (only for a table truncated in this subtransaction) writes the rows
    already frozen, sparing the first reader and VACUUM a rewrite of every page.
    """
    encoder = BinaryCopy(copy_schema(run.ctx.spec, names))
    copy = sql.SQL("COPY {} ({}) FROM STDIN WITH (FORMAT binary{})").format(
        sql.Identifier(table),
        sql.SQL(", ").join(sql.Identifier(c) for c in names),
        sql.SQL(", FREEZE" if freeze else ""),
    )
    source, ctx, result, errors = run.source, run.ctx, run.result, run.errors
    # the queued writer sends from a thread, so the server ingests chunk k while
    # Python validates chunk k+1 (a plain write blocks until the server has read it)
    with cur.copy(copy, writer=QueuedLibpqWriter(cur)) as cp:
        cp.write(encoder.header())
        for chunk in source.chunks():
            checked = check_chunk(chunk, ctx)
            result.rows_read += len(chunk.frame)
            if len(checked.errors):
                if sum(len(e) for e in errors) < REPORT_LIMIT:
                    errors.append(checked.errors)
                bad_rows = np.unique(checked.errors["row"].to_numpy())
                if run.options.quarantine is not None:
                    local = bad_rows - chunk.start
                    raw = chunk.frame.iloc[local][run.raw_cols]
                    g = chunk.geometry[local] if chunk.geometry is not None else None
                    run.quarantine.write(raw, g, reasons(checked.errors), bad_rows)
                result.rows_rejected += len(bad_rows)
            if len(checked.rows):
                cp.write(encoder.batch(checked.rows))
            if run.progress:
                run.progress(ctx.spec.name, len(chunk.frame), source.rows)
        cp.write(encoder.finish())
    if result.rows_read == 0:
        raise InputError(f"{source.path}: the file holds no rows.")


def _finish_checks(run: _Run) -> None:
    result, errors = run.result, run.errors
    result.errors = (
        pd.concat(errors, ignore_index=True).sort_values(["row", "field"])
        if errors
        else pd.DataFrame()
    )
    result.naive_times = {k: v for k, v in run.ctx.naive_times.items() if v}
    if result.rows_rejected and run.options.quarantine is None:
        raise ValidationFailed(
            f"{run.source.path}: {result.rows_rejected:,} of {result.rows_read:,} rows are bad;"
            " nothing was written.",
            result,
            hint="Fix them, or load the good rows with --quarantine BAD.csv.",
        )


def _direct(cur: psycopg.Cursor, run: _Run) -> None:
    """Bulk path into an empty layer: COPY straight in, indexes built once afterwards.

    TRUNCATE (of an empty table) lets a wal_level=minimal server skip the WAL for the
    COPY; duplicate keys surface as a UniqueViolation that sends the caller to staging.
    """
    table = run.ctx.spec.table
    cur.execute(sql.SQL("TRUNCATE {}").format(sql.Identifier(table)))
    rebuild = drop_secondary(cur, table, unique=True)  # a duplicate fails the rebuild instead
    _copy_checked(cur, run, table, [*run.ctx.spec.names, "geom"], freeze=True)
    _finish_checks(run)
    for ddl in rebuild:
        cur.execute(ddl)
    result = run.result
    result.rows_loaded = result.inserted = result.rows_read - result.rows_rejected
    result.updated = 0


def _staged(cur: psycopg.Cursor, run: _Run) -> None:
    """General path: COPY into staging, check over all rows in SQL, upsert."""
    spec, result = run.ctx.spec, run.result
    stage = "_gw_stage"
    cols = [sql.SQL("row bigint")] + [
        sql.SQL("{} {}").format(sql.Identifier(f.name), sql.SQL(PG_TYPES[f.kind]))
        for f in spec.fields
    ] + [sql.SQL("geom geometry")]  # fmt: skip
    cur.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(stage)))
    cur.execute(
        sql.SQL("CREATE TEMP TABLE {} ({}) ON COMMIT DROP").format(
            sql.Identifier(stage), sql.SQL(", ").join(cols)
        )
    )
    _copy_checked(cur, run, stage, ["row", *spec.names, "geom"])
    sql_errors = sql_checks(cur, spec, stage)
    sql_bad: set[int] = set()
    if len(sql_errors):
        run.errors.append(sql_errors)
        sql_bad = set(sql_errors["row"].astype(int).tolist())
        result.rows_rejected += len(sql_bad)
        cur.execute(
            sql.SQL("DELETE FROM {} WHERE row = ANY(%s)").format(sql.Identifier(stage)),
            (sorted(sql_bad),),
        )
    _finish_checks(run)
    if sql_bad and run.options.quarantine is not None:
        _requarantine(run.source, sql_bad, result.errors, run.quarantine, run.raw_cols)
    before = count(cur, spec)
    staged = result.rows_read - result.rows_rejected
    rebuild = (
        drop_secondary(cur, spec.table) if staged >= BULK_MIN_ROWS and staged >= before else []
    )
    upsert(cur, spec, stage, empty=before == 0)
    for ddl in rebuild:
        cur.execute(ddl)
    after = count(cur, spec)
    cur.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(stage)))
    result.rows_loaded = result.rows_read - result.rows_rejected
    result.inserted = after - before
    result.updated = result.rows_loaded - result.inserted


def _requarantine(
    source: Source, rows: set[int], errors: pd.DataFrame, q: Quarantine, raw_cols: list[str]
) -> None:
    """Second pass over the file for rows rejected by the SQL checks (duplicates, references)."""
    why = reasons(errors[errors["row"].isin(rows)])
    for chunk in source.chunks():
        r = np.arange(chunk.start, chunk.start + len(chunk.frame))
        hit = np.flatnonzero(np.isin(r, list(rows)))
        if len(hit):
            g = chunk.geometry[hit] if chunk.geometry is not None else None
            q.write(chunk.frame.iloc[hit][raw_cols], g, why, r[hit])


def _record(cur: psycopg.Cursor, result: LoadResult, options: LoadOptions) -> None:
    import json

    params = {
        "encoding": options.encoding,
        "crs": options.crs,
        "from": options.convert_from,
        "map": options.column_map,
        "quarantine": str(options.quarantine) if options.quarantine else None,
        "naive_times_read_as": options.local_tz if result.naive_times else None,
    }
    cur.execute(
        "INSERT INTO load_runs (layer, source, rows_read, rows_loaded, rows_rejected, params, started_at)"
        " VALUES (%s, %s, %s, %s, %s, %s, now() - make_interval(secs => %s))",
        (result.layer, result.source, result.rows_read, result.rows_loaded, result.rows_rejected,
         json.dumps(params), result.seconds),
    )  # fmt: skip
