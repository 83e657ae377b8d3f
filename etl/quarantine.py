"""The quarantine file: bad rows with their original values and the reasons."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd
import shapely


class Quarantine:
    """Collects bad rows (original values plus reasons) in a temporary file."""

    def __init__(self, path: Path | None, columns: list[str]) -> None:
        self.path = path
        self.columns = columns
        self.tmp = None if path is None else path.with_name(path.name + ".partial")
        self._fh = None
        if self.tmp is not None:
            self._fh = self.tmp.open("w", encoding="utf-8-sig", newline="")
            self._writer = csv.writer(self._fh)
            self._writer.writerow(["row", "reasons", *columns])

    def write(
        self, raw: pd.DataFrame, geoms: np.ndarray | None, reasons: dict[int, str], rows: np.ndarray
    ) -> None:
        if self._fh is None or not len(rows):
            return
        wkt = shapely.to_wkt(geoms, rounding_precision=8) if geoms is not None else None
        for i, r in enumerate(rows):
            vals = ["" if pd.isna(v) else str(v) for v in raw.iloc[i].tolist()]
            if wkt is not None:
                vals.append("" if wkt[i] is None else wkt[i])
            self._writer.writerow([int(r), reasons[int(r)], *vals])

    def commit(self) -> Path | None:
        if self._fh is None or self.tmp is None or self.path is None:
            return None
        self._fh.close()
        self.tmp.replace(self.path)
        return self.path

    def reset(self) -> None:
        """Start the file again (the load is being redone from the first row)."""
        if self._fh is not None:
            self._fh.seek(0)
            self._fh.truncate()
            self._writer.writerow(["row", "reasons", *self.columns])

    def abort(self) -> None:
        if self._fh is not None and self.tmp is not None:
            self._fh.close()
            self.tmp.unlink(missing_ok=True)


def reasons(errors: pd.DataFrame) -> dict[int, str]:
    if errors.empty:
        return {}
    text = (
        errors["field"].astype(str)
        + ": "
        + errors["reason"].astype(str)
        + " (got '"
        + errors["value"].astype(str).str.slice(0, 60)
        + "')"
    )
    return text.groupby(errors["row"]).agg("; ".join).to_dict()
