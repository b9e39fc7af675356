"""Extraction through ipeadatapy, the Ipeadata API faked at the HTTP level; raw snapshots."""

from __future__ import annotations

import json
from datetime import date

import pytest
import requests
import responses

from ipeacast.core.errors import ExtractError
from ipeacast.etl import extract

CODE = "EIA366_PBRENT366"
META_URL = f"http://www.ipeadata.gov.br/api/odata4/Metadados('{CODE}')"
VALUES_URL = f"http://ipeadata.gov.br/api/odata4/ValoresSerie(SERCODIGO='{CODE}')"
METADATA = {
    "value": [
        {
            "SERCODIGO": CODE,
            "SERNOME": "Preço - petróleo bruto - Brent (FOB)",
            "BASNOME": "Macroeconômico",
            "UNINOME": "US$",
            "PERNOME": "Diária",
            "FNTSIGLA": "EIA",
            "SERSTATUS": "A",
            "MULNOME": None,
            "TEMCODIGO": 1,
        }
    ]
}
VALUES = {
    "value": [
        {"SERCODIGO": CODE, "VALDATA": "2024-01-02T00:00:00-03:00", "VALVALOR": 75.89},
        {"SERCODIGO": CODE, "VALDATA": "2024-01-03T00:00:00-03:00", "VALVALOR": 78.05},
        {"SERCODIGO": CODE, "VALDATA": "2024-01-06T00:00:00-03:00", "VALVALOR": None},
    ]
}
FAST = extract.HttpPolicy(timeout=2, retries=2, backoff=0.5, sleep=lambda s: None)


def add_metadata(body=METADATA, status=200):
    responses.add(responses.GET, META_URL, json=body, status=status)


@responses.activate
def test_fetch_returns_the_values_body_exactly_as_received():
    add_metadata()
    body = json.dumps(VALUES).encode()
    responses.add(responses.GET, VALUES_URL, body=body, status=200)
    fetched = extract.fetch_ipeadata(CODE, FAST)
    assert fetched.payload == body
    assert fetched.source == VALUES_URL
    # ipeadatapy made both of its calls, the metadata one on the www. host first.
    assert [c.request.url for c in responses.calls] == [META_URL, VALUES_URL]


@responses.activate
def test_any_series_code_works_for_example_wti():
    code = "EIA366_PWTI366"
    meta = {"value": [{**METADATA["value"][0], "SERCODIGO": code}]}
    meta_url = f"http://www.ipeadata.gov.br/api/odata4/Metadados('{code}')"
    responses.add(responses.GET, meta_url, json=meta)
    responses.add(
        responses.GET,
        f"http://ipeadata.gov.br/api/odata4/ValoresSerie(SERCODIGO='{code}')",
        json={"value": [{**v, "SERCODIGO": code} for v in VALUES["value"]]},
    )
    assert b"EIA366_PWTI366" in extract.fetch_ipeadata(code, FAST).payload


@responses.activate
def test_server_errors_are_retried_with_backoff_then_succeed():
    sleeps = []
    policy = extract.HttpPolicy(timeout=2, retries=3, backoff=0.5, sleep=sleeps.append)
    add_metadata()
    responses.add(responses.GET, VALUES_URL, status=503)
    responses.add(responses.GET, VALUES_URL, status=502)
    responses.add(responses.GET, VALUES_URL, json=VALUES)
    extract.fetch_ipeadata(CODE, policy)
    assert sleeps == [0.5, 1.0]


@responses.activate
def test_persistent_5xx_gives_one_clear_error_naming_series_endpoint_and_cause():
    add_metadata()
    responses.add(responses.GET, VALUES_URL, status=500)
    with pytest.raises(ExtractError) as err:
        extract.fetch_ipeadata(CODE, FAST)
    text = str(err.value)
    assert CODE in text and VALUES_URL in text and "HTTP 500" in text and "3 attempts" in text
    assert len(responses.calls) == 1 + 3


@responses.activate
def test_timeout_is_retried_and_reported():
    responses.add(responses.GET, META_URL, body=requests.exceptions.ReadTimeout("slow"))
    with pytest.raises(ExtractError, match=r"Metadados.*timed out after 2s"):
        extract.fetch_ipeadata(CODE, FAST)
    assert len(responses.calls) == 3


@responses.activate
def test_client_errors_are_not_retried():
    responses.add(responses.GET, META_URL, status=404)
    with pytest.raises(ExtractError, match="HTTP 404"):
        extract.fetch_ipeadata(CODE, FAST)
    assert len(responses.calls) == 1


@responses.activate
def test_empty_series_is_a_clear_error_not_a_key_error():
    add_metadata()
    responses.add(responses.GET, VALUES_URL, json={"value": []})
    with pytest.raises(ExtractError, match=f"{CODE}.*ValoresSerie.*no observations"):
        extract.fetch_ipeadata(CODE, FAST)


@responses.activate
def test_malformed_json_is_a_clear_error():
    add_metadata()
    responses.add(responses.GET, VALUES_URL, body=b'{"value": [', status=200)
    with pytest.raises(ExtractError, match="malformed JSON"):
        extract.fetch_ipeadata(CODE, FAST)


@responses.activate
def test_unknown_series_code_is_named():
    url = "http://www.ipeadata.gov.br/api/odata4/Metadados('NOPE123')"
    responses.add(responses.GET, url, json={"value": []})
    with pytest.raises(ExtractError, match=r"NOPE123.*unknown series code"):
        extract.fetch_ipeadata("NOPE123", FAST)


def test_series_codes_that_are_not_safe_paths_are_rejected():
    from ipeacast.core.errors import ConfigError

    with pytest.raises(ConfigError, match="invalid series code"):
        extract.fetch_ipeadata("../etc", FAST)


def fetched(body: bytes) -> extract.Fetched:
    return extract.Fetched(body, "test", "eia-csv")


def test_snapshot_stores_payload_and_metadata(tmp_path):
    body = b"date,price_usd\n2024-01-02,75.89\n2024-01-03,\n"
    snap = extract.store_snapshot(fetched(body), str(tmp_path), CODE, date(2024, 1, 4))
    assert snap.created
    payload, meta = extract.latest_snapshot(str(tmp_path), CODE, date(2024, 1, 4))
    assert payload == body
    assert meta["rows"] == 2 and meta["rows_with_value"] == 1 and meta["source"] == "test"
    assert len(meta["sha256"]) == 64 and meta["fetched_at"]
    assert f"raw/series={CODE}/run_date=2024-01-04/sha256=" in snap.uri


def test_same_content_same_day_is_a_no_op(tmp_path):
    body = b"date,price_usd\n2024-01-02,75.89\n"
    first = extract.store_snapshot(fetched(body), str(tmp_path), CODE, "2024-01-04")
    stat = (tmp_path / first.payload_uri).stat()
    second = extract.store_snapshot(fetched(body), str(tmp_path), CODE, "2024-01-04")
    assert not second.created and second.uri == first.uri
    assert (tmp_path / first.payload_uri).stat().st_mtime_ns == stat.st_mtime_ns


def test_different_content_never_overwrites_an_existing_snapshot(tmp_path):
    old = b"date,price_usd\n2024-01-02,75.89\n"
    new = b"date,price_usd\n2024-01-02,75.90\n"
    first = extract.store_snapshot(fetched(old), str(tmp_path), CODE, "2024-01-04")
    second = extract.store_snapshot(fetched(new), str(tmp_path), CODE, "2024-01-04")
    assert second.created and second.uri != first.uri
    assert (tmp_path / first.payload_uri).read_bytes() == old
    payload, _ = extract.latest_snapshot(str(tmp_path), CODE, "2024-01-04")
    assert payload == new


def test_bad_content_is_rejected_before_anything_is_stored(tmp_path):
    from ipeacast.core.errors import SourceFormatError

    with pytest.raises(SourceFormatError):
        extract.store_snapshot(fetched(b"date,price_usd\n"), str(tmp_path), CODE, "2024-01-04")
    assert not (tmp_path / "raw").exists()


def test_missing_snapshot_says_to_run_extract_first(tmp_path):
    with pytest.raises(ExtractError, match="run the extract step first"):
        extract.latest_snapshot(str(tmp_path), CODE, "2024-01-04")


@responses.activate
def test_ipeadatapy_is_left_as_it_was_after_a_failure():
    import sys

    import ipeadatapy  # noqa: F401

    module = sys.modules["ipeadatapy.api_call"]
    before = module.req
    responses.add(responses.GET, META_URL, status=500)
    with pytest.raises(ExtractError):
        extract.fetch_ipeadata(CODE, FAST)
    assert module.req is before is requests


def test_a_source_naming_another_series_is_rejected_before_storing(tmp_path):
    from conftest import FIXTURES

    from ipeacast.core.errors import SourceFormatError

    export = (FIXTURES / "ipeadata_export_sample.csv").read_bytes()
    wrong = extract.Fetched(export, "brent.csv", "ipeadata-export")
    with pytest.raises(
        SourceFormatError, match="holds series EIA366_PBRENT366, not EIA366_PWTI366"
    ):
        extract.store_snapshot(wrong, str(tmp_path), "EIA366_PWTI366", "2024-01-04")
    assert not (tmp_path / "raw").exists()
    right = extract.store_snapshot(wrong, str(tmp_path), CODE, "2024-01-04")
    assert right.created


def test_an_unreadable_source_file_is_a_source_format_error_naming_it(tmp_path):
    from ipeacast.core.errors import SourceFormatError

    with pytest.raises(SourceFormatError, match=rf"source {tmp_path} .*is a folder, not a file"):
        extract.read_source_file(str(tmp_path))
    blocker = tmp_path / "blocker"
    blocker.write_text("x")
    inside = str(blocker / "prices.csv")
    with pytest.raises(SourceFormatError, match=rf"source {inside} cannot be read: .*Not a dir"):
        extract.read_source_file(inside)


def test_storing_an_odata_snapshot_decodes_the_payload_once(tmp_path, monkeypatch):
    from ipeacast.core.errors import SourceFormatError

    decoded = []
    original = json.loads
    monkeypatch.setattr(json, "loads", lambda *a, **k: decoded.append(1) or original(*a, **k))
    odata = extract.Fetched(json.dumps(VALUES).encode(), VALUES_URL, "odata-json")
    assert extract.store_snapshot(odata, str(tmp_path), CODE, "2024-01-04").created
    assert len(decoded) == 1  # was 2: parse, then series_code decoded it again
    with pytest.raises(SourceFormatError, match=f"holds series {CODE}, not EIA366_PWTI366"):
        extract.store_snapshot(odata, str(tmp_path), "EIA366_PWTI366", "2024-01-05")
