"""The SQL side of a load: checks over all staged rows, upserts, bulk index handling."""

from __future__ import annotations

import pandas as pd
import psycopg
from psycopg import sql

from etl.fields import LayerSpec
from gridwatch.errors import InputError


def drop_secondary(cur: psycopg.Cursor, table: str, *, unique: bool = False) -> list[str]:
    """Drop the table's non-unique indexes and foreign keys (with ``unique``, its UNIQUE
    constraints too); return the DDL that recreates them.

    For a big load into a table no bigger than the load: building an index once after
    the insert is several times faster than maintaining it row by row (GiST above all).
    The recreated foreign keys are validated in one query. Same transaction, so a failed
    load leaves the table as it was; the table is locked (ACCESS EXCLUSIVE) until commit.
    """
    cur.execute(
        "SELECT pg_get_indexdef(i.indexrelid), format('DROP INDEX %%s', i.indexrelid::regclass)"
        " FROM pg_index i WHERE i.indrelid = %s::regclass AND NOT i.indisunique",
        (table,),
    )
    indexes = cur.fetchall()
    cur.execute(
        "SELECT format('ALTER TABLE %%s ADD CONSTRAINT %%I %%s', conrelid::regclass, conname,"
        " pg_get_constraintdef(oid)), format('ALTER TABLE %%s DROP CONSTRAINT %%I',"
        " conrelid::regclass, conname) FROM pg_constraint WHERE conrelid = %s::regclass"
        " AND contype = ANY(%s)",
        (table, ["f", "u"] if unique else ["f"]),
    )
    fks = cur.fetchall()
    for _, drop in fks + indexes:
        cur.execute(drop)
    return [create for create, _ in indexes + fks]


def count(cur: psycopg.Cursor, spec: LayerSpec) -> int:
    cur.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(spec.table)))
    row = cur.fetchone()
    return int(row[0]) if row else 0


def sql_checks(cur: psycopg.Cursor, spec: LayerSpec, stage: str) -> pd.DataFrame:
    """Checks over all rows: duplicate keys and references to other layers."""
    cur.execute(f"SELECT 1 FROM {stage} GROUP BY {spec.key} HAVING count(*) > 1 LIMIT 1")
    has_duplicates = cur.fetchone() is not None  # cheap hash aggregate; the report query is not
    queries = (
        []
        if not has_duplicates
        else [
            (
                spec.key,
                f"""SELECT row, {spec.key}, 'duplicate ' || '{spec.key}' || ' (first seen at row ' || first_row || ')'
                FROM (SELECT row, {spec.key}, min(row) OVER (PARTITION BY {spec.key}) AS first_row FROM {stage}) d
                WHERE row <> first_row""",
            )
        ]
    )
    if spec.name == "towns":
        cur.execute("SELECT count(*) FROM county")
        row = cur.fetchone()
        if row and row[0] > 1:
            raise InputError(
                "More than one county boundary is loaded; gridwatch keeps one county per database."
            )
    for fld, parent_table, label in (
        ("town_code", "towns", "town"),
        ("village_code", "villages", "village"),
    ):
        if fld not in spec.names:
            continue
        cur.execute(
            f"UPDATE {stage} s SET {fld} = p.code FROM {parent_table} p"
            f" WHERE s.{fld} IS NULL AND ST_Intersects(p.geom, ST_PointOnSurface(s.geom))"
        )
        queries.append(
            (
                fld,
                f"""SELECT row, coalesce({fld}, ''),
                    CASE WHEN {fld} IS NULL THEN 'not inside any loaded {label}'
                         ELSE 'no {label} with code ' || {fld} || ' (load {parent_table} first)' END
                    FROM {stage} s WHERE {fld} IS NULL OR NOT EXISTS (SELECT 1 FROM {parent_table} p WHERE p.code = s.{fld})""",
            )
        )
    if spec.name == "grids":
        queries.append(
            (
                "parent_code",
                f"""SELECT row, parent_code, 'no level-' || (level - 1) || ' grid with code ' || parent_code
                    || ' in this file or the database'
                    FROM {stage} s WHERE level > 1 AND parent_code IS NOT NULL
                    AND NOT EXISTS (SELECT 1 FROM {stage} p WHERE p.code = s.parent_code AND p.level = s.level - 1)
                    AND NOT EXISTS (SELECT 1 FROM grids p WHERE p.code = s.parent_code AND p.level = s.level - 1
                                    AND p.code NOT IN (SELECT code FROM {stage}))""",
            )
        )
    parts = []
    for fld, q in queries:
        cur.execute(q)
        rows = cur.fetchall()
        if rows:
            parts.append(pd.DataFrame(rows, columns=["row", "value", "reason"]).assign(field=fld))
    if not parts:
        return pd.DataFrame()
    return pd.concat(parts, ignore_index=True)[["row", "field", "value", "reason"]]


UPSERT_SELECT = {
    "county": (
        "code, name_zh, name_pinyin, population, geom",
        "SELECT code, name_zh, name_pinyin, population, geom FROM {stage}",
    ),
    "towns": (
        "code, name_zh, name_pinyin, population, county_id, geom",
        "SELECT code, name_zh, name_pinyin, population, (SELECT min(id) FROM county), geom FROM {stage}",
    ),
    "villages": (
        "code, name_zh, name_pinyin, kind, population, town_id, geom",
        "SELECT s.code, s.name_zh, s.name_pinyin, s.kind, s.population, t.id, s.geom FROM {stage} s JOIN towns t ON t.code = s.town_code",
    ),
    "roads": (
        "source_id, class, name_zh, geom",
        'SELECT source_id, "class", name_zh, geom FROM {stage}',
    ),
    "cameras": (
        "code, kind, bearing_deg, fov_deg, range_m, height_m, installed_on, status, village_id, geom",
        "SELECT s.code, s.kind, s.bearing_deg, s.fov_deg, s.range_m, s.height_m, s.installed_on, s.status, v.id, s.geom"
        " FROM {stage} s JOIN villages v ON v.code = s.village_code",
    ),
    "incidents": (
        "source_id, category, is_criminal, occurred_at, reported_at, closed_at, solved_at, handled_level, status, geom",
        "SELECT source_id, category, is_criminal, occurred_at, reported_at, closed_at, solved_at, handled_level, status, geom"
        " FROM {stage} ORDER BY occurred_at",
    ),
}


def upsert(cur: psycopg.Cursor, spec: LayerSpec, stage: str, *, empty: bool = False) -> None:
    if spec.name == "grids":
        for level in (1, 2, 3):
            cur.execute(
                f"""INSERT INTO grids (code, level, parent_id, name_zh, staff_role, geom)
                    SELECT s.code, s.level, p.id, s.name_zh, s.staff_role, s.geom FROM {stage} s
                    LEFT JOIN grids p ON p.code = s.parent_code WHERE s.level = %s
                    ON CONFLICT (code) DO UPDATE SET level = EXCLUDED.level, parent_id = EXCLUDED.parent_id,
                    name_zh = EXCLUDED.name_zh, staff_role = EXCLUDED.staff_role, geom = EXCLUDED.geom""",
                (level,),
            )
        return
    cols, select = UPSERT_SELECT[spec.name]
    names = [c.strip() for c in cols.split(",")]
    updates = ", ".join(f'"{c}" = EXCLUDED."{c}"' for c in names if c != spec.key)
    # keys are unique in staging (checked above): into an empty table nothing can conflict
    conflict = "" if empty else f" ON CONFLICT ({spec.key}) DO UPDATE SET {updates}"
    cur.execute(
        f"INSERT INTO {spec.table} ({', '.join(f'{chr(34)}{c}{chr(34)}' for c in names)}) "
        f"{select.format(stage=stage)}{conflict}"
    )
