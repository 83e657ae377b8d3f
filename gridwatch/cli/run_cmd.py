"""``gridwatch run``: the main job in one command."""

from __future__ import annotations

from gridwatch.cli import data_cmd
from gridwatch.cli.common import console, get_settings


def run() -> None:
    """Start the database, load the sample county when the database is empty, and serve.

    This is what scripts/start runs. Every step is idempotent: run it again after a
    stop and it reuses the data already loaded.
    """
    from etl.db import bring_up, database_url
    from etl.inventory import inventory

    settings = get_settings()
    engine, started = bring_up(settings)
    console.print(
        f"database {'started' if started else 'up'}: {database_url(settings).render_as_string()}"
    )
    if not inventory(engine)["rows"].get("county"):
        console.print("empty database: generating and loading the sample county")
        data_cmd.sample(overwrite=True, replace=True)
    info = inventory(engine)
    console.print(f"PostGIS {info['postgis']}; rows per layer: {info['rows']}")
    console.print(
        'Next: `gridwatch check grids`, `gridwatch export LAYER`, `psql "$(gridwatch db url)"`.'
        " The OGC API (gridwatch serve) and the dashboards are not built yet."
    )
