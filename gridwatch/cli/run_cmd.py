"""``gridwatch run``: the main job in one command."""

from __future__ import annotations

from etl.db import bring_up, database_url
from etl.inventory import inventory
from gridwatch.cli.common import console, get_settings


def run() -> None:
    """Start the database, load the sample county if the database is empty, and serve.

    This is what scripts/start runs. Every step is idempotent: run it again after a
    stop and it picks up the data already loaded.
    """
    settings = get_settings()
    engine, started = bring_up(settings)
    console.print(
        f"database {'started' if started else 'up'}: {database_url(settings).render_as_string()}"
    )
    info = inventory(engine)
    console.print(f"PostGIS {info['postgis']}; rows per layer: {info['rows']}")
