"""``gridwatch check``: topology checks of the stored layers."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from gridwatch.cli.common import console, get_settings
from gridwatch.errors import InputError

if TYPE_CHECKING:
    import geopandas as gpd

    from spatial.topology import TopologyReport

app = typer.Typer(help="Check stored layers for topology errors.", no_args_is_help=True)

Tolerance = Annotated[float, typer.Option(help="Largest acceptable gap/overlap in m².")]
Out = Annotated[
    Path | None, typer.Option(help="Write every finding with its geometry (.gpkg or .geojson).")
]
Show = Annotated[int, typer.Option(help="How many of the largest findings to list.")]


def _layers(*names: str) -> list[gpd.GeoDataFrame]:
    from etl.db import engine_for
    from etl.export import read_layer

    engine = engine_for(get_settings())
    frames = []
    for name in names:
        gdf = read_layer(engine, name)
        if gdf.empty:
            raise InputError(f"No {name} are loaded.", hint=f"gridwatch load FILE --layer {name}")
        frames.append(gdf)
    return frames


def _report(
    report: TopologyReport, what: str, tolerance: float, out: Path | None, show: int
) -> None:
    summary = Table(title=f"{what} topology (areas in m², {report.metric_crs.name})")
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
        for col in ("level", "kind", "parent", "child", "other child", "area m²"):
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
    console.print(f"[green]OK[/]: {what} partition their parents (no finding above {tolerance} m²)")


@app.command()
def grids(tolerance: Tolerance = 1.0, out: Out = None, show: Show = 20) -> None:
    """Report gaps, overlaps and children outside their parent, per grid level, with areas in m².

    Level-1 grids must partition the county, level 2 their level-1 parent, level 3
    their level-2 parent. Exit code 1 when any finding exceeds the tolerance.
    """
    from spatial.topology import check_grid_hierarchy

    county, grid_layer = _layers("county", "grids")
    _report(check_grid_hierarchy(county, grid_layer), "grids", tolerance, out, show)


@app.command()
def villages(tolerance: Tolerance = 1.0, out: Out = None, show: Show = 20) -> None:
    """Check that towns partition the county and villages partition their town.

    Exit code 1 when any gap, overlap or outside part exceeds the tolerance.
    """
    import pandas as pd

    from spatial.topology import TopologyReport, check_partition, metric_crs_for

    county, towns, vills = _layers("county", "towns", "villages")
    crs = metric_crs_for(county)
    by_town = check_partition(towns, county, child_key="code", parent_key="code",
                              child_parent_key=None, metric_crs=crs).findings  # fmt: skip
    by_village = check_partition(vills, towns, child_key="code", parent_key="code",
                                 child_parent_key="town_code", metric_crs=crs).findings  # fmt: skip
    findings = pd.concat([by_town.assign(level="town"), by_village.assign(level="village")])
    report = TopologyReport(findings.reset_index(drop=True), crs)  # type: ignore[arg-type]
    _report(report, "towns and villages", tolerance, out, show)
