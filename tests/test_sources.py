"""Each source format parses to (date, price); every bad input gets an error naming the problem."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from conftest import FIXTURES

from ipeacast.core.errors import SourceFormatError
from ipeacast.etl import sources


def parse(text: str | bytes, name: str = "input.csv") -> pd.DataFrame:
    return sources.parse(text.encode() if isinstance(text, str) else text, name)


def test_eia_csv_parses_dates_and_prices():
    df = parse("date,price_usd\n2020-04-17,25.5\n2020-04-20,-36.98\n")
    assert list(df["date"]) == [pd.Timestamp("2020-04-17"), pd.Timestamp("2020-04-20")]
    assert list(df["price"]) == [25.5, -36.98]


def test_ipeadata_export_with_bom_crlf_decimal_comma_and_empty_days():
    data = (FIXTURES / "ipeadata_export_sample.csv").read_bytes()
    assert data.startswith(b"\xef\xbb\xbf") and b"\r\n" in data
    assert sources.detect_format(data) == sources.IPEADATA_EXPORT
    df = sources.parse(data, "export.csv")
    assert [d.strftime("%Y-%m-%d") for d in df["date"]][:2] == ["2017-02-17", "2017-02-18"]
    assert df["price"].iloc[0] == 55.65
    assert math.isnan(df["price"].iloc[1]) and math.isnan(df["price"].iloc[2])
    assert df["price"].iloc[-1] == -1.5


def test_odata_json_uses_local_calendar_date_whatever_the_offset():
    data = (FIXTURES / "odata_sample.json").read_bytes()
    assert sources.detect_format(data) == sources.ODATA_JSON
    df = sources.parse(data, "values.json")
    # -02:00 (summer time) and -03:00 dates both keep their local calendar date.
    assert [d.strftime("%Y-%m-%d") for d in df["date"]] == [
        "2017-02-17",
        "2017-02-18",
        "2017-02-20",
        "2017-02-21",
    ]
    assert math.isnan(df["price"].iloc[1])


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "is empty"),
        ("   \n\n", "is empty"),
        ("date,price_usd\n", "header but no data rows"),
        ("date,price_usd\n2020-01-02,abc\n", "line 2: price 'abc' is not a number"),
        ("date,price_usd\n2020-01-03,1\n2020-01-02,2\n", "dates must be in increasing order"),
        ("date,price_usd\n2020-01-02,1\n2020-13-02,1\n", "invalid date '2020-13-02'"),
        ("date,price_usd\n2020-01-02,1\n2020-01-03", "expected 2 comma-separated fields"),
        ("date;price_usd\n2020-01-02;1\n", "uses ';' as delimiter"),
        ("date,price_usd\n2020-01-02,\n2020-01-03,\n", "no prices, all 2 values are empty"),
        ("Data;Preço;\r\n01/01/2020;;\r\n02/01/2020;;\r\n", "no prices"),
        ("Data;Preço;\r\n2020-01-01;1,5;\r\n", "invalid date '2020-01-01' (expected dd/mm/yyyy)"),
        ('{"value": [{"VALDATA": "2020-01-0', "malformed JSON"),
        ('{"values": []}', "no 'value' list"),
        ("price,date\n1,2020-01-01\n", "unrecognised format"),
        ("date,price_usd\n2020-01-02,inf\n", "not finite"),
    ],
    ids=[
        "empty",
        "blank",
        "header-only",
        "non-numeric",
        "out-of-order",
        "impossible-date",
        "truncated-row",
        "wrong-delimiter",
        "all-null",
        "all-null-export",
        "export-bad-date",
        "truncated-json",
        "json-not-odata",
        "unknown-header",
        "infinite",
    ],
)
def test_bad_input_gets_a_clear_error(content, message):
    with pytest.raises(SourceFormatError, match=r"input\.csv") as err:
        parse(content)
    assert message in str(err.value)


def test_not_utf8_is_rejected():
    with pytest.raises(SourceFormatError, match="not UTF-8"):
        parse(b"date,price_usd\n2020-01-02,\xff\n")


def test_duplicate_dates_are_left_to_the_transform_rule():
    df = parse("date,price_usd\n2020-01-02,1\n2020-01-02,1\n")
    assert len(df) == 2


def test_sources_that_name_their_series_report_it():
    odata = (FIXTURES / "odata_sample.json").read_bytes()
    assert sources.parse_source(odata).series == "EIA366_PBRENT366"
    export = (FIXTURES / "ipeadata_export_sample.csv").read_bytes()
    assert sources.parse_source(export).series == "EIA366_PBRENT366"
    eia = b"date,price_usd\n2020-01-02,1\n"
    assert sources.parse_source(eia).series is None  # EIA CSV: no code
    for data in (odata, export, eia):  # the same observations as parse()
        pd.testing.assert_frame_equal(sources.parse_source(data).observations, sources.parse(data))


def test_an_export_header_without_a_code_names_no_series():
    data = "Data;Preço - petróleo bruto;\r\n17/02/2017;55,65;\r\n".encode()
    assert sources.parse_source(data).series is None


def test_the_payload_is_decoded_once_for_observations_and_series_code(monkeypatch):
    import json

    decoded = []
    original = json.loads
    monkeypatch.setattr(json, "loads", lambda *a, **k: decoded.append(1) or original(*a, **k))
    sources.parse_source((FIXTURES / "odata_sample.json").read_bytes(), "values.json")
    assert len(decoded) == 1


def test_a_payload_mixing_series_is_rejected():
    data = (
        b'{"value": [{"SERCODIGO": "A", "VALDATA": "2020-01-02", "VALVALOR": 1},'
        b' {"SERCODIGO": "B", "VALDATA": "2020-01-03", "VALVALOR": 2}]}'
    )
    with pytest.raises(SourceFormatError, match=r"mixed\.json mixes several series: \['A', 'B'\]"):
        sources.parse_source(data, "mixed.json")
