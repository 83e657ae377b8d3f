"""Vectorised parsing of raw column values into typed ones, with row-level errors.

Each parser returns the parsed values and a boolean mask of the rows that could
not be parsed; the caller turns the mask into messages naming row, field and value.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

_TZ_SUFFIX = re.compile(r"(?:Z|[+-]\d{2}(?::?\d{2})?)$")  # no capture groups (pandas warns)
_ZH_DATE = str.maketrans(
    {"年": "-", "月": "-", "日": " ", "时": ":", "分": ":", "秒": " ", "/": "-"}
)
TRUE = {"true", "t", "1", "yes", "y", "是", "刑事", "真"}
FALSE = {"false", "f", "0", "no", "n", "否", "非刑事", "假"}


def blank(s: pd.Series) -> np.ndarray:
    """Rows with no value (None, NaN, or only spaces)."""
    if s.dtype == object or pd.api.types.is_string_dtype(s):
        return (s.isna() | (s.astype(str).str.strip() == "")).to_numpy()
    return s.isna().to_numpy()


def as_str(s: pd.Series) -> pd.Series:
    out = s.astype("string").str.strip()
    return out.mask(out == "")


def as_float(s: pd.Series) -> tuple[pd.Series, np.ndarray]:
    if pd.api.types.is_numeric_dtype(s):
        v = s.astype(float)
        return v, np.zeros(len(s), bool)
    v = pd.to_numeric(as_str(s), errors="coerce")
    return v.astype(float), (v.isna().to_numpy() & ~blank(s))


def as_int(s: pd.Series) -> tuple[pd.Series, np.ndarray]:
    v, bad = as_float(s)
    frac = v.notna().to_numpy() & (np.mod(v.fillna(0).to_numpy(), 1) != 0)
    return v.round().astype("Int64"), bad | frac


def as_bool(s: pd.Series) -> tuple[pd.Series, np.ndarray]:
    if pd.api.types.is_bool_dtype(s):
        return s.astype("boolean"), np.zeros(len(s), bool)
    low = as_str(s).str.lower()
    v = pd.Series(pd.NA, index=s.index, dtype="boolean")
    v[low.isin(TRUE).fillna(False).to_numpy()] = True
    v[low.isin(FALSE).fillna(False).to_numpy()] = False
    return v, (v.isna().to_numpy() & ~blank(s))


def as_vocab(s: pd.Series, aliases: dict[str, str]) -> tuple[pd.Series, np.ndarray]:
    low = as_str(s).str.lower()
    v = low.map(aliases, na_action="ignore")
    return v.astype("string"), (v.isna().to_numpy() & ~blank(s))


def as_datetime(s: pd.Series, local_tz: str) -> tuple[pd.Series, np.ndarray, int]:
    """UTC timestamps; values without a zone are read in ``local_tz``.

    Returns (values, unparseable mask, count of values that carried no zone).
    Formats: ISO 8601, '2014/3/5 14:22', '2014年3月5日 14时22分', datetime columns.
    """
    if isinstance(s.dtype, pd.DatetimeTZDtype):
        return s.dt.tz_convert("UTC"), np.zeros(len(s), bool), 0
    if pd.api.types.is_datetime64_any_dtype(s):
        naive = int(s.notna().sum())
        return s.dt.tz_localize(local_tz).dt.tz_convert("UTC"), np.zeros(len(s), bool), naive
    text = as_str(s)
    present = text.notna().to_numpy()
    has_tz = (
        text.str.contains(_TZ_SUFFIX, na=False).to_numpy()
        & ~text.str.fullmatch(r"\d{4}-\d{2}(-\d{2})?", na=False).to_numpy()
    )
    out = pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns, UTC]")
    aware = present & has_tz
    naive = present & ~has_tz
    if aware.any():
        out[aware] = _parse(text[aware], utc=True)
    if naive.any():
        parsed = _parse(text[naive], utc=False)
        out[naive] = parsed.dt.tz_localize(
            local_tz, nonexistent="NaT", ambiguous="NaT"
        ).dt.tz_convert("UTC")
    bad = present & out.isna().to_numpy()
    return out, bad, int((naive & ~bad).sum())


def _parse(text: pd.Series, utc: bool) -> pd.Series:
    """Fast ISO-8601 parse, then a per-value fallback for the rest (Chinese formats too)."""
    v = pd.to_datetime(text, errors="coerce", format="ISO8601", utc=utc)
    rest = v.isna()
    if rest.any():
        cleaned = text[rest].str.translate(_ZH_DATE).str.strip().str.rstrip(":").str.rstrip("-")
        cleaned = cleaned.str.replace(r"\s+", " ", regex=True)
        v2 = pd.to_datetime(cleaned, errors="coerce", format="mixed", utc=utc)
        v = v.astype(v2.dtype) if v.isna().all() else v
        v[rest] = v2
    return v


def as_date(s: pd.Series) -> tuple[pd.Series, np.ndarray]:
    if pd.api.types.is_datetime64_any_dtype(s):
        return s.dt.date, np.zeros(len(s), bool)
    text = as_str(s)
    v = _parse(text.fillna(""), utc=False)
    bad = text.notna().to_numpy() & v.isna().to_numpy()
    return v.dt.date.where(v.notna(), None), bad
