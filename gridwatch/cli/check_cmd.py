"""``gridwatch check``: topology checks of the stored layers."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from gridwatch.cli.common import console, get_settings
from gridwatch.errors import InputError

app = typer.Typer(help="Check stored layers for topology errors.", no_args_is_help=True)


@app.command()
def grids(
    tolerance: Annotated[float, typer.Option(help="Largest acceptable gap/overlap in m².")] = 1.0,
    out: Annotated[
        Path | None, typer.Option(help="Write every finding with its geometry (.gpkg or .geojson).")
    ] = None,
    show: Annotated[int, typer.Option(help="How many of the largest findings to list.")] = 20,
) -> None:
    """Report gaps, overlaps and children outside their parent, per grid level, with areas in m².

    Level-1 grids must partition the county, level 2 their level-1 parent, level 3
    their level-2 parent. Exit code 1 when any finding exceeds the tolerance.
    """
    from etl.db import engine_for
    from etl.export import read_layer
    from spatial.topology import check_grid_hierarchy

    engine = engine_for(get_settings())
    county = read_layer(engine, "county")
    grids_gdf = read_layer(engine, "grids")
    if county.empty:
        raise InputError("No county boundary is loaded.", hint="gridwatch load FILE --layer county")
    if grids_gdf.empty:
        raise InputError("No grids are loaded.", hint="gridwatch load FILE --layer grids")
    report = check_grid_hierarchy(county, grids_gdf)
    summary = Table(
        title=f"grid topology ({len(grids_gdf):,} grids, areas in {report.metric_crs.name})"
    )
    for col in ("kind", "count", "total m²", "largest m²"):
        summary.add_column(col, justify="right" if col != "kind" else "left")
    f = report.findings
    for kind, s in report.summary().items():
        largest = f.loc[f.kind == kind, "area_m2"].max() if s["count"] else 0.0
        summary.add_row(kind, f"{s['count']:,}", f"{s['area_m2']:,.4f}", f"{largest:,.4f}")
    console.print(summary)
    big = f[f.area_m2 > tolerance].sort_values("area_m2", ascending=False)
    if len(big):
        detail = Table(title=f"findings above {tolerance} m²")
        for col in ("level", "kind", "parent", "grid", "other grid", "area m²"):
            detail.add_column(col)
        for r in big.head(show).itertuples():
            detail.add_row(str(getattr(r, "level", "")), r.kind, str(r.parent_key), str(r.child_key),
                           str(r.other_child_key or ""), f"{r.area_m2:,.1f}")  # fmt: skip
        console.print(detail)
    if out is not None:
        driver = "GeoJSON" if out.suffix.lower() in (".geojson", ".json") else "GPKG"
        f.to_file(out, driver=driver, engine="pyogrio")
        console.print(f"wrote {len(f):,} findings to {out}")
    if report.exceeds(tolerance):
        console.print(f"[red]FAIL[/]: {len(big):,} finding(s) above {tolerance} m²")
        raise typer.Exit(1)
    console.print(
        f"[green]OK[/]: grids partition the county and nest (no finding above {tolerance} m²)"
    )
