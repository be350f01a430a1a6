"""The address API client, against a local server that answers like the CSV endpoint."""

from __future__ import annotations

import socket
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from coverage_helpers import TODAY, visit_rows, write_csv

from geo.coverage import importer, store
from geo.coverage.geocode import Geocoder, GeocoderError, MemoryGeocodeCache, geocoder_url, query_keys

ADDRESSES = pd.DataFrame({
    "street_number": ["12", "3", "1", "7", "99", "12"],
    "street": ["avenue des Tuileries", "rue du Minotaure", "place de la Mairie", "rue Inventée", "rue Nulle Part",
               "Avenue des  Tuileries"],
    "postcode": ["91350", "91350", "91130", "91350", "91350", "91350"],
    "city": ["Grigny", "Grigny", "Ris-Orangis", "Grigny", "Grigny", "GRIGNY"],
})


def test_batch_geocoding_statuses_and_form(address_server) -> None:  # noqa: ANN001
    out = Geocoder(url=address_server.url).geocode(ADDRESSES)
    assert out["location_status"].tolist() == ["geocode", "geocode", "geocode", "echec", "echec", "geocode"]
    assert out.loc[0, ["lat", "lon", "geocode_score"]].tolist() == [48.6531, 2.3742, 0.93]
    assert out.loc[2, "result_type"] == "street" and out.loc[2, "citycode"] == "91521"
    assert np.isnan(out.loc[3, "lat"])  # score 0.31 < 0.5: not a reliable location
    assert address_server.requests == 1
    assert address_server.rows_received == 5  # the two spellings of one address are asked once
    form = address_server.forms[0]
    assert form["columns"] == ["adresse", "code_postal", "commune"]
    assert "latitude" in form["result_columns"] and "result_score" in form["result_columns"]


def test_chunks_and_cache(address_server) -> None:  # noqa: ANN001
    cache = MemoryGeocodeCache()
    geocoder = Geocoder(url=address_server.url, chunk_size=2, cache=cache)
    first = geocoder.geocode(ADDRESSES)
    assert address_server.requests == 3  # 5 distinct addresses in chunks of 2
    assert len(cache.data) == 5
    second = geocoder.geocode(ADDRESSES)
    assert address_server.requests == 3  # all answered from the cache
    pd.testing.assert_frame_equal(first, second)


def test_retries_then_success(address_server) -> None:  # noqa: ANN001
    address_server.mode, address_server.failures = "flaky", 2
    out = Geocoder(url=address_server.url, retries=3, backoff=0.01).geocode(ADDRESSES.iloc[:1])
    assert out["location_status"].tolist() == ["geocode"]
    assert address_server.requests == 3


def test_server_errors_leave_addresses_pending(address_server) -> None:  # noqa: ANN001
    address_server.mode = "error"
    out = Geocoder(url=address_server.url, retries=2, backoff=0.01).geocode(ADDRESSES)
    assert set(out["location_status"]) == {"en_attente"}
    assert address_server.requests == 3


def test_timeout_leaves_addresses_pending(address_server) -> None:  # noqa: ANN001
    address_server.mode, address_server.delay = "slow", 1.0
    out = Geocoder(url=address_server.url, retries=1, backoff=0.01, timeout=(1.0, 0.2)).geocode(ADDRESSES.iloc[:2])
    assert set(out["location_status"]) == {"en_attente"}
    assert address_server.requests == 2


def test_unreadable_answer_is_retried_then_pending(address_server) -> None:  # noqa: ANN001
    address_server.mode = "garbled"
    out = Geocoder(url=address_server.url, retries=1, backoff=0.01).geocode(ADDRESSES.iloc[:1])
    assert out["location_status"].tolist() == ["en_attente"]


def test_unreachable_service_leaves_addresses_pending() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    out = Geocoder(url=f"http://127.0.0.1:{port}", retries=1, backoff=0.01).geocode(ADDRESSES.iloc[:2])
    assert set(out["location_status"]) == {"en_attente"}


def test_client_errors_are_raised(address_server) -> None:  # noqa: ANN001
    address_server.mode = "bad_request"
    with pytest.raises(GeocoderError, match="column not found"):
        Geocoder(url=address_server.url).geocode(ADDRESSES.iloc[:1])


def test_options_are_checked() -> None:
    with pytest.raises(ValueError, match="retries: expected a number >= 0, got -1"):
        Geocoder(url="http://x", retries=-1)
    with pytest.raises(ValueError, match="min_score: expected a number between 0 and 1, got 2"):
        Geocoder(url="http://x", min_score=2)
    with pytest.raises(ValueError, match="addresses: expected columns"):
        Geocoder(url="http://x").geocode(pd.DataFrame({"street": ["x"]}))


def test_url_resolution(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VOISINMAP_GEOCODER_URL", raising=False)
    assert geocoder_url() == "https://api-adresse.data.gouv.fr"
    monkeypatch.setenv("VOISINMAP_GEOCODER_URL", "http://127.0.0.1:9/")
    assert geocoder_url() == "http://127.0.0.1:9"
    assert geocoder_url("http://other/") == "http://other"


def test_query_keys_ignore_case_accents_and_spacing() -> None:
    keys = query_keys(ADDRESSES)
    assert keys[0] == keys[5]
    assert keys.nunique() == 5


def _address_rows() -> pd.DataFrame:
    rows = visit_rows(4).assign(latitude="", longitude="", code_postal="91350", commune="Grigny")
    return rows.assign(numero=["12", "3", "99", "12"],
                       voie=["avenue des Tuileries", "rue du Minotaure", "rue Nulle Part", "avenue des Tuileries"])


def test_import_geocodes_online_and_caches_in_the_store(address_server, tmp_path: Path, square_qpv) -> None:  # noqa: ANN001
    engine = store.open_store(f"sqlite:///{tmp_path / 's.db'}")
    geocoder = Geocoder(url=address_server.url, cache=store.SqlGeocodeCache(engine))
    path = write_csv(tmp_path / "a.csv", _address_rows())
    summary = importer.import_file(path, engine=engine, geocoder=geocoder, qpv=square_qpv, today=TODAY)
    assert (summary.imported, summary.geocoded, summary.geocoding_failed, summary.pending_geocoding) == (4, 3, 1, 0)
    assert summary.outside_qpv == 0  # the geocoded points fall in the square QPV
    events = store.load_events(engine)
    assert sorted(events["code_qp"].tolist()) == ["QN09901M"] * 3
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(store.GEOCODE_CACHE)).scalar_one() == 3
    # a second file with the same addresses: answered from the store's cache
    requests = address_server.requests
    importer.import_file(write_csv(tmp_path / "b.csv", _address_rows().assign(campagne="Autre")), engine=engine,
                         geocoder=Geocoder(url=address_server.url, cache=store.SqlGeocodeCache(engine)),
                         qpv=square_qpv, today=TODAY)
    assert address_server.requests == requests
    engine.dispose()


def test_offline_import_then_geocode_command(address_server, tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    """Offline: rows stored as pending; `voisinmap coverage geocode` locates them once the service answers."""
    import json

    from click.testing import CliRunner

    from geo.cli import main

    db = f"sqlite:///{tmp_path / 's.db'}"
    monkeypatch.setenv("VOISINMAP_GEOCODER_URL", address_server.url)
    address_server.mode = "error"
    path = write_csv(tmp_path / "a.csv", _address_rows())
    runner = CliRunner()
    result = runner.invoke(main, ["coverage", "import", str(path), "--db", db, "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["pending_geocoding"] == 4 and summary["imported"] == 4
    assert any("injoignable" in note for note in summary["notes"])
    result = runner.invoke(main, ["coverage", "geocode", "--db", db, "--json"])
    assert result.exit_code == 1  # still offline: rows stay pending
    assert json.loads(result.stdout)["pending_geocoding"] == 4
    address_server.mode = "ok"
    result = runner.invoke(main, ["coverage", "geocode", "--db", db, "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert (out["addresses"], out["geocoded"], out["geocoding_failed"], out["pending_geocoding"]) == (3, 3, 1, 0)
    engine = store.open_store(db)
    assert len(store.load_events(engine)) == 3
    engine.dispose()


def test_a_phone_number_as_street_number_is_never_sent(address_server, tmp_path: Path) -> None:  # noqa: ANN001
    rows = _address_rows()
    rows.loc[1, "numero"] = "0612345678"
    engine = store.open_store(f"sqlite:///{tmp_path / 's.db'}")
    summary = importer.import_file(write_csv(tmp_path / "a.csv", rows), engine=engine, today=TODAY,
                                   geocoder=Geocoder(url=address_server.url))
    engine.dispose()
    assert (summary.imported, summary.rejected) == (3, 1)
    assert address_server.requests == 1 and address_server.rows_received == 2  # two distinct addresses
    assert summary.report["numero"].tolist() == [importer.REDACTED]


def test_import_reports_its_progress(address_server, tmp_path: Path) -> None:  # noqa: ANN001
    seen: list[tuple[str, int, int]] = []
    engine = store.open_store(f"sqlite:///{tmp_path / 's.db'}")
    importer.import_file(write_csv(tmp_path / "a.csv", _address_rows()), engine=engine, today=TODAY,
                         geocoder=Geocoder(url=address_server.url, chunk_size=1),
                         progress=lambda step, done, total: seen.append((step, done, total)))
    engine.dispose()
    steps = list(dict.fromkeys(step for step, _, _ in seen))
    assert steps == ["validate", "geocode", "write"]
    assert [s for s in seen if s[0] == "geocode"] == [("geocode", k, 3) for k in range(4)]  # one batch each
    assert seen[-1] == ("write", 4, 4)
