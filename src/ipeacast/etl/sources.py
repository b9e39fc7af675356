"""Parse the source formats we accept into one shape: a DataFrame of (date, price).

Formats (auto-detected from the content, not the file name):
- EIA-style CSV: header `date,price_usd`, ISO dates, decimal point.
- Ipeadata web export: `;`-separated, decimal comma, UTF-8 BOM, CRLF, `dd/mm/yyyy` dates, empty
  values on non-trading days.
- Ipeadata OData JSON: `{"value": [{"SERCODIGO", "VALDATA", "VALVALOR", ...}]}`; the date that
  counts is the local calendar date in VALDATA (`1987-05-20T00:00:00-03:00` -> 1987-05-20), whatever
  the UTC offset (it changes with Brazilian summer time).

Every parser returns rows in file order with `price` NaN where the source has no value, and rejects
what it cannot read with a SourceFormatError naming the source, the line and the problem. Dates must
never go backwards; equal dates are left for the transform's duplicate rule.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

import pandas as pd

from ipeacast.core.errors import SourceFormatError

EIA_CSV = "eia-csv"
IPEADATA_EXPORT = "ipeadata-export"
ODATA_JSON = "odata-json"
FORMATS = (EIA_CSV, IPEADATA_EXPORT, ODATA_JSON)


def detect_format(data: bytes, name: str = "source") -> str:
    """Tell the format from the content; raise SourceFormatError when it is none of ours."""
    text = _decode(data, name).lstrip()
    if not text:
        raise SourceFormatError(f"{name} is empty")
    if text.startswith("{") or text.startswith("["):
        return ODATA_JSON
    header = text.splitlines()[0].strip()
    lowered = header.lower()
    if lowered.startswith("data;"):
        return IPEADATA_EXPORT
    if lowered.replace(" ", "").startswith("date,"):
        return EIA_CSV
    for delimiter in (";", "\t", "|"):
        if lowered.startswith(f"date{delimiter}"):
            raise SourceFormatError(
                f"{name}: header {header!r} uses {delimiter!r} as delimiter; an EIA-style CSV "
                "must be comma-separated with the header 'date,price_usd'"
            )
    raise SourceFormatError(
        f"{name}: unrecognised format (header {header[:60]!r}); expected an EIA-style CSV "
        "('date,price_usd'), an Ipeadata web export ('Data;...') or an Ipeadata OData JSON response"
    )


@dataclass(frozen=True)
class Parsed:
    """A parsed source: its observations and the series code it names itself, if any."""

    observations: pd.DataFrame  # columns date (datetime64), price (float64)
    # OData SERCODIGO or the web export's header; None for an EIA-style CSV, which carries no
    # code (the caller's --series is the only label it has).
    series: str | None


def parse_source(data: bytes, name: str = "source", fmt: str | None = None) -> Parsed:
    """Parse any supported format, in one pass, into its observations and its series code."""
    fmt = fmt or detect_format(data, name)
    if fmt == EIA_CSV:
        rows, code = _parse_eia_csv(_decode(data, name), name), None
    elif fmt == IPEADATA_EXPORT:
        rows, code = _parse_ipeadata_export(_decode(data, name), name)
    elif fmt == ODATA_JSON:
        rows, code = _parse_odata_json(data, name)
    else:
        raise SourceFormatError(f"{name}: unknown format {fmt!r}; known: {', '.join(FORMATS)}")
    return Parsed(_to_frame(rows, name), code)


def parse(data: bytes, name: str = "source", fmt: str | None = None) -> pd.DataFrame:
    """Parse any supported format into columns `date` (datetime64) and `price` (float64)."""
    return parse_source(data, name, fmt).observations


# The web export's value column ends with the series code: "... (EIA) - EIA366_PBRENT366;"
_EXPORT_CODE = re.compile(r"-\s*([A-Z0-9][A-Z0-9_.]+)\s*;?\s*$")


def _decode(data: bytes, name: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SourceFormatError(f"{name} is not UTF-8 text: {exc}") from exc


def _rows(text: str) -> Iterable[tuple[int, list[str]]]:
    """CSV-ish rows with 1-based line numbers, skipping blank lines (CRLF tolerated)."""
    for number, line in enumerate(io.StringIO(text, newline=None), start=1):
        line = line.rstrip("\r\n")
        if line.strip():
            yield number, line


def _parse_eia_csv(text: str, name: str) -> list[tuple[str, date, float]]:
    lines = list(_rows(text))
    header = [h.strip().lower() for h in next(csv.reader([lines[0][1]]))]
    if len(header) != 2 or header[0] != "date":
        raise SourceFormatError(
            f"{name}: expected the header 'date,price_usd', found {lines[0][1]!r}"
        )
    out = []
    for number, line in lines[1:]:
        fields = next(csv.reader([line]))
        if len(fields) != 2:
            raise SourceFormatError(
                f"{name} line {number}: expected 2 comma-separated fields (date,price_usd), "
                f"found {len(fields)} in {line!r} (truncated file or wrong delimiter?)"
            )
        where = f"line {number}"
        day = _parse_iso_date(fields[0], name, where)
        out.append((where, day, _parse_number(fields[1], name, where, decimal_comma=False)))
    return out


def _parse_ipeadata_export(
    text: str, name: str
) -> tuple[list[tuple[str, date, float]], str | None]:
    lines = list(_rows(text))
    match = _EXPORT_CODE.search(lines[0][1])
    out = []
    for number, line in lines[1:]:
        fields = line.split(";")
        if len(fields) < 2:
            raise SourceFormatError(
                f"{name} line {number}: expected 'dd/mm/yyyy;value;' fields separated by ';', "
                f"found {line!r} (truncated file or wrong delimiter?)"
            )
        if any(f.strip() for f in fields[2:]):
            raise SourceFormatError(
                f"{name} line {number}: expected 2 fields, found {len(fields)} in {line!r}"
            )
        text_date = fields[0].strip()
        try:
            day = datetime.strptime(text_date, "%d/%m/%Y").date()
        except ValueError as exc:
            raise SourceFormatError(
                f"{name} line {number}: invalid date {text_date!r} (expected dd/mm/yyyy)"
            ) from exc
        where = f"line {number}"
        out.append((where, day, _parse_number(fields[1], name, where, decimal_comma=True)))
    return out, match.group(1) if match else None


def _parse_odata_json(data: bytes, name: str) -> tuple[list[tuple[str, date, float]], str | None]:
    try:
        payload = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SourceFormatError(f"{name}: malformed JSON ({exc})") from exc
    if not isinstance(payload, dict) or not isinstance(payload.get("value"), list):
        raise SourceFormatError(f"{name}: JSON has no 'value' list (not an OData response)")
    out = []
    codes = set()
    for index, item in enumerate(payload["value"]):
        if not isinstance(item, dict) or "VALDATA" not in item or "VALVALOR" not in item:
            raise SourceFormatError(f"{name} value[{index}]: missing VALDATA or VALVALOR")
        if item.get("SERCODIGO") is not None:
            codes.add(item["SERCODIGO"])
        raw_date = item["VALDATA"]
        if not isinstance(raw_date, str) or len(raw_date) < 10:
            raise SourceFormatError(f"{name} value[{index}]: invalid VALDATA {raw_date!r}")
        # The first 10 characters are the local calendar date, whatever the UTC offset says.
        where = f"value[{index}]"
        day = _parse_iso_date(raw_date[:10], name, where)
        value = item["VALVALOR"]
        if value is None:
            price = math.nan
        elif isinstance(value, int | float) and not isinstance(value, bool):
            price = float(value)
        else:
            price = _parse_number(str(value), name, where, decimal_comma=False)
        out.append((where, day, price))
    if len(codes) > 1:
        raise SourceFormatError(f"{name} mixes several series: {sorted(codes)}")
    return out, codes.pop() if codes else None


def _parse_iso_date(text: str, name: str, where: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError as exc:
        raise SourceFormatError(
            f"{name} {where}: invalid date {text.strip()!r} (expected YYYY-MM-DD)"
        ) from exc


def _parse_number(text: str, name: str, where: str, *, decimal_comma: bool) -> float:
    cleaned = text.strip()
    if not cleaned:
        return math.nan
    if decimal_comma:
        cleaned = cleaned.replace(".", "").replace(",", ".")
    try:
        value = float(cleaned)
    except ValueError as exc:
        raise SourceFormatError(f"{name} {where}: price {text.strip()!r} is not a number") from exc
    if not math.isfinite(value):
        raise SourceFormatError(f"{name} {where}: price {text.strip()!r} is not finite")
    return value


def _to_frame(rows: list[tuple[str, date, float]], name: str) -> pd.DataFrame:
    if not rows:
        raise SourceFormatError(f"{name} has a header but no data rows")
    previous = None
    for where, day, _ in rows:
        if previous is not None and day < previous:
            raise SourceFormatError(
                f"{name} {where}: date {day} comes after {previous}; dates must be in "
                "increasing order"
            )
        previous = day
    frame = pd.DataFrame(
        {"date": pd.to_datetime([r[1] for r in rows]), "price": [r[2] for r in rows]}
    )
    frame["price"] = frame["price"].astype("float64")
    if frame["price"].isna().all():
        raise SourceFormatError(f"{name}: no prices, all {len(frame)} values are empty")
    return frame
