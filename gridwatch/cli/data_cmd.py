"""``gridwatch sample | load | export``: files in and out of the store."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import TaskID
from rich.table import Table

from etl.fields import LAYERS
from gridwatch.cli.common import console, err_console, get_settings, progress
from gridwatch.errors import InputError, ValidationFailed

if TYPE_CHECKING:  # the loader pulls in pandas/pyarrow/GDAL: import it when a command runs
    from etl.loader import LoadOptions, LoadResult

LAYER_HELP = ", ".join([*LAYERS, "dem"])
SHOWN_ERRORS = 30


def _parse_map(pairs: list[str] | None) -> dict[str, str]:
    out = {}
    for pair in pairs or []:
        if "=" not in pair:
            raise InputError(f"--map {pair}: expected COLUMN=FIELD, e.g. --map 案发地点经度=lon")
        col, fld = pair.split("=", 1)
        out[col.strip()] = fld.strip()
    return out


def print_errors(result: LoadResult) -> None:
    errors = result.errors
    if errors is None or errors.empty:
        return
    table = Table(title=f"rejected rows in {result.source}", show_lines=False)
    for col in ("row", "field", "value", "reason"):
        table.add_column(col, overflow="fold")
    for r in errors.head(SHOWN_ERRORS).itertuples():
        value = str(r.value)
        table.add_row(
            str(r.row),
            str(r.field),
            value if len(value) <= 60 else value[:57] + "...",
            str(r.reason),
        )
    err_console.print(table)
    if len(errors) > SHOWN_ERRORS:
        err_console.print(f"... and {len(errors) - SHOWN_ERRORS:,} more problems")


def print_result(result: LoadResult) -> None:
    rate = result.rows_loaded / result.seconds if result.seconds else 0
    console.print(
        f"[green]loaded[/] {result.layer}: {result.rows_loaded:,} of {result.rows_read:,} rows"
        f" ({result.inserted:,} new, {result.updated:,} updated) in {result.seconds:.1f} s"
        f" ({rate:,.0f} rows/s)"
    )
    for fld, n in result.naive_times.items():
        console.print(
            f"note: {fld}: {n:,} values carried no time zone and were read as China Standard"
            " Time (UTC+8, Asia/Shanghai); set GRIDWATCH_LOCAL_TIMEZONE to change that."
        )
    if result.personal_columns:
        console.print(
            f"[yellow]dropped[/] column(s) that look like personal data: {', '.join(result.personal_columns)}"
            " (gridwatch stores no personal identifiers)"
        )
    if result.ignored_columns:
        console.print(
            f"ignored column(s): {', '.join(result.ignored_columns)} (map with --map COLUMN=FIELD)"
        )
    if result.rows_rejected:
        print_errors(result)
        console.print(
            f"[yellow]{result.rows_rejected:,} bad rows[/] written to {result.quarantine}"
        )


def run_loads(items: list[tuple[Path, LoadOptions]], replace: bool = False) -> list[LoadResult]:
    """Load files in one transaction with a progress bar per layer."""
    from etl.db import engine_for
    from etl.loader import load_many

    engine = engine_for(get_settings())
    with progress() as bar:
        tasks: dict[str, TaskID] = {}

        def advance(layer: str, n: int, total: int | None) -> None:
            if layer not in tasks:
                tasks[layer] = bar.add_task(f"loading {layer}", total=total)
            bar.update(tasks[layer], advance=n, total=total)

        try:
            return load_many(engine, items, advance, replace=replace)
        except ValidationFailed as exc:
            bar.stop()
            print_errors(exc.report)  # type: ignore[arg-type]
            raise


def load(
    path: Annotated[
        Path,
        typer.Argument(
            help="CSV, GeoJSON, GeoPackage, Shapefile, GeoParquet, or a GeoTIFF for --layer dem."
        ),
    ],
    layer: Annotated[str, typer.Option("--layer", "-l", help=f"Target layer: {LAYER_HELP}.")],
    encoding: Annotated[
        str | None, typer.Option(help="Text encoding of a CSV (default: detect UTF-8/GBK).")
    ] = None,
    crs: Annotated[
        str | None,
        typer.Option(
            "--crs",
            help="Source CRS when the file has none, e.g. EPSG:4490 or EPSG:4545 (default EPSG:4326).",
        ),
    ] = None,
    convert_from: Annotated[
        str,
        typer.Option(
            "--from",
            help="Coordinates captured on web maps: gcj02 (Amap, Tencent) or bd09 (Baidu).",
        ),
    ] = "wgs84",
    column_map: Annotated[
        list[str] | None,
        typer.Option(
            "--map", help="COLUMN=FIELD, for columns gridwatch does not recognise; repeatable."
        ),
    ] = None,
    quarantine: Annotated[
        Path | None,
        typer.Option(help="Load the good rows and write the bad ones, with reasons, to this CSV."),
    ] = None,
    source_layer: Annotated[
        str | None,
        typer.Option(help="Layer inside a GeoPackage (default: the layer name, else the first)."),
    ] = None,
) -> None:
    """Load a file into a layer: validated, all or nothing, idempotent (upsert on id/code).

    Any bad row and nothing is written; the report names each row, field and value.
    Times without a zone are read as China Standard Time (UTC+8).
    """
    settings = get_settings()
    if layer == "dem":
        from etl.db import engine_for
        from etl.rasters import register_raster

        target = register_raster(
            engine_for(settings), path, settings.data_dir.absolute() / "rasters"
        )
        console.print(f"[green]registered[/] DEM {path} as {target}")
        return
    if layer not in LAYERS:
        raise InputError(f"--layer {layer}: unknown layer; one of {LAYER_HELP}")
    if source_layer is None and path.suffix.lower() == ".gpkg":
        import pyogrio

        names = [n for n, _ in pyogrio.list_layers(path)] if path.exists() else []
        source_layer = layer if layer in names else None
    from etl.coords import SOURCES
    from etl.loader import LoadOptions

    if convert_from not in SOURCES:
        raise InputError(f"--from {convert_from}: one of {', '.join(SOURCES)}")
    options = LoadOptions(
        layer=layer,
        encoding=encoding,
        crs=crs,
        convert_from=convert_from,
        column_map=_parse_map(column_map),
        quarantine=quarantine,
        source_layer=source_layer,
        local_tz=settings.local_timezone,
    )
    print_result(run_loads([(path, options)])[0])


def sample(
    seed: Annotated[
        int, typer.Option(help="Random seed; the same seed gives the same county.")
    ] = 20140101,
    incidents: Annotated[
        int | None, typer.Option(help="Scale the incidents to N (default: the calibrated ~14,200).")
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Folder for the files (default: <data_dir>/sample).")
    ] = None,
    load_files: Annotated[
        bool, typer.Option("--load/--no-load", help="Load the files into the database.")
    ] = True,
    overwrite: Annotated[bool, typer.Option(help="Replace sample files already in --out.")] = False,
    replace: Annotated[
        bool, typer.Option(help="Replace every layer already in the database.")
    ] = False,
) -> None:
    """Generate the sample county (calibrated to Fengxiang's published figures) and load it.

    Writes county.gpkg (places), incidents.parquet (GeoParquet) and dem.tif (30 m COG),
    then loads them through the same loader `gridwatch load` uses.
    """
    from etl.db import bring_up
    from etl.inventory import inventory
    from etl.loader import LoadOptions
    from etl.rasters import register_raster
    from etl.sample.files import write_sample

    settings = get_settings()
    engine = None
    if load_files:  # refuse before spending time on files that could not be loaded
        engine, _ = bring_up(settings)
        rows = inventory(engine)["rows"]
        held = sum(rows.values())
        if held and not replace:
            raise InputError(
                f"The database already holds {held:,} rows ({rows});"
                " pass --replace to replace every layer with the sample county."
            )
    folder = out or settings.data_dir / "sample"
    files = write_sample(folder, seed=seed, incidents=incidents, overwrite=overwrite,
                         step=lambda msg: err_console.print(f"[dim]{msg}[/]"))  # fmt: skip
    console.print(
        f"wrote {files.places}, {files.incidents} ({files.n_incidents:,} incidents), {files.dem}"
    )
    if engine is None:
        return
    items = [
        (path, LoadOptions(layer=layer, source_layer=inner, local_tz=settings.local_timezone))
        for path, layer, inner in files.load_order()
    ]
    for result in run_loads(items, replace=True):
        print_result(result)
    target = register_raster(engine, files.dem, settings.data_dir.absolute() / "rasters")
    console.print(f"[green]registered[/] DEM as {target}")


def export(
    layer: Annotated[str, typer.Argument(help=f"One of: {', '.join(LAYERS)}.")],
    fmt: Annotated[
        str, typer.Option("--format", "-f", help="geojson, gpkg, parquet or csv.")
    ] = "gpkg",
    out: Annotated[
        Path | None, typer.Option(help="Output file (default: <layer>.<format> here).")
    ] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace the output file if it exists.")] = False,
) -> None:
    """Write a layer out with the column names `gridwatch load` reads back."""
    from etl.db import engine_for
    from etl.export import SUFFIX, export_layer

    settings = get_settings()
    if fmt not in SUFFIX:
        raise InputError(f"--format {fmt}: one of {', '.join(SUFFIX)}")
    target = out or Path(f"{layer}{SUFFIX[fmt]}")
    path, n = export_layer(engine_for(settings), layer, fmt, target, overwrite=overwrite,  # type: ignore[arg-type]
                           local_tz=settings.local_timezone)  # fmt: skip
    console.print(f"wrote {n:,} {layer} to {path}")


def register(app: typer.Typer) -> None:
    app.command("sample")(sample)
    app.command("load")(load)
    app.command("export")(export)
