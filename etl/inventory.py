"""What the database holds: row counts per layer and the PostGIS version."""

from __future__ import annotations

from typing import TypedDict

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from etl.schema import LAYER_TABLES


class Inventory(TypedDict):
    postgis: str | None
    rows: dict[str, int]


def inventory(engine: Engine) -> Inventory:
    with engine.connect() as conn:
        postgis = conn.execute(
            sa.text("SELECT extversion FROM pg_extension WHERE extname='postgis'")
        )
        version = postgis.scalar()
        existing = set(sa.inspect(conn).get_table_names())
        counts = {
            layer: int(
                conn.execute(sa.select(sa.func.count()).select_from(model.__table__)).scalar_one()
            )
            for layer, model in LAYER_TABLES.items()
            if model.__tablename__ in existing
        }
    return {"postgis": version, "rows": counts}
