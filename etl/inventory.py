"""What the database holds: row counts per layer and the PostGIS version."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from etl.schema import LAYER_TABLES


def inventory(engine: Engine) -> dict[str, object]:
    with engine.connect() as conn:
        postgis = conn.execute(
            sa.text("SELECT extversion FROM pg_extension WHERE extname='postgis'")
        )
        version = postgis.scalar()
        existing = set(sa.inspect(conn).get_table_names())
        counts = {
            layer: conn.execute(sa.select(sa.func.count()).select_from(model.__table__)).scalar()
            for layer, model in LAYER_TABLES.items()
            if model.__tablename__ in existing
        }
    return {"postgis": version, "rows": counts}
