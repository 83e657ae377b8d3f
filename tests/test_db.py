"""The store: schema constraints, the embedded cluster, backup and restore."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import URL

from etl.db import _engine


def test_postgis_is_real_and_schema_is_migrated(db_url: URL) -> None:
    engine = _engine(db_url.render_as_string(hide_password=False))
    with engine.connect() as conn:
        version = conn.execute(sa.text("SELECT postgis_full_version()")).scalar()
        tables = set(sa.inspect(conn).get_table_names())
        srid = conn.execute(
            sa.text("SELECT srid FROM geometry_columns WHERE f_table_name = 'incidents'")
        ).scalar()
        gist = conn.execute(
            sa.text(
                "SELECT count(*) FROM pg_indexes WHERE indexdef ILIKE '%USING gist%'"
                " AND tablename IN ('county','towns','villages','grids','roads','cameras','incidents')"
            )
        ).scalar()
    assert "POSTGIS=" in version
    assert {"county", "towns", "villages", "grids", "roads", "cameras", "incidents"} <= tables
    assert srid == 4326
    assert gist == 7
