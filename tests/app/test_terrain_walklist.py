"""Walk list, building addresses, heat class limits and backgrounds of the page Terrain (pure functions)."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from app.components import addresses, basemap, coverage_map, walklist
from geo.coverage import aggregate


def _events() -> pd.DataFrame:
    """Visits of five buildings in Grigny: three with a street address, two known only by their id."""
    rows = [
        # id, building, street_number, street, lat, lon, outcome, door
        (1, "B1", "12", "avenue des Tuileries", 48.6520, 2.3750, "a_revoir", "A1"),
        (2, "B1", "12", "avenue des Tuileries", 48.6520, 2.3750, "a_revoir", "A2"),
        (3, "B2", "2", "avenue des Tuileries", 48.6530, 2.3760, "a_revoir", "C1"),
        (4, "B3", "5 bis", "rue Émile Zola", 48.6540, 2.3770, "a_revoir", "D1"),
        (5, "B4", "", "", 48.6550, 2.3900, "a_revoir", "E1"),
        (6, "B5", "", "", 48.6551, 2.3800, "a_revoir", "F1"),
        (7, "B3", "5 bis", "rue Émile Zola", 48.6540, 2.3770, "ouvert", "D2"),
    ]
    frame = pd.DataFrame(rows, columns=["id", "building", "street_number", "street", "lat", "lon", "outcome", "door"])
    return frame.assign(visited_at=pd.to_datetime("2025-03-04 18:00") + pd.to_timedelta(frame["id"], unit="h"),
                        campaign="Test", site="91286", postcode=np.where(frame["street"] != "", "91350", ""),
                        city=np.where(frame["street"] != "", "Grigny", ""))


@pytest.fixture(scope="module")
def walk() -> pd.DataFrame:
    events = _events()
    prep = aggregate.prepare_events(events)
    known = addresses.building_addresses(prep, events)
    return walklist.walk_list(aggregate.revisit_layer(prep), known)


def test_addresses_come_from_the_logs() -> None:
    events = _events()
    known = addresses.building_addresses(aggregate.prepare_events(events), events)
    assert known.loc["B1", "address"] == "12 avenue des Tuileries, 91350 Grigny"
    assert known.loc["B3", "address"] == "5 bis rue Émile Zola, 91350 Grigny"
    assert "B4" not in known.index  # no address in its visits
    with pytest.raises(ValueError, match="street"):
        addresses.building_addresses(aggregate.prepare_events(events), events.drop(columns="street"))


def test_walk_list_follows_the_streets_then_the_nearest_building(walk: pd.DataFrame) -> None:
    assert walk["order"].tolist() == [1, 2, 3, 4, 5]
    # avenue des Tuileries 2 then 12, rue Émile Zola 5 bis, then B5 (nearer to Zola) before B4
    assert walk["building"].tolist() == ["B2", "B1", "B3", "B5", "B4"]
    assert walk.loc[1, "doors"] == "A1, A2" and walk.loc[1, "doors_to_revisit"] == 2
    assert walk.loc[3, "address"] == ""


def test_walk_list_csv_is_french(walk: pd.DataFrame) -> None:
    data = walklist.walk_csv(walk, lang="fr")
    assert data.startswith("\ufeff".encode())
    text = data.decode("utf-8-sig")
    lines = text.strip().split("\r\n")
    assert lines[0].split(";")[:3] == ["Ordre", "Adresse", "Bâtiment"]
    assert len(lines) == 1 + len(walk)
    assert lines[2].split(";")[1] == "12 avenue des Tuileries, 91350 Grigny"
    frame = pd.read_csv(io.StringIO(text), sep=";", dtype=str)
    assert frame["Portes à revoir"].tolist() == ["1", "2", "1", "1", "1"]


def test_walk_list_pdf_has_one_page_per_building(walk: pd.DataFrame) -> None:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(walklist.walk_pdf(walk, lang="fr", heading="Grigny · Test")))
    assert len(reader.pages) == len(walk) == 5
    second = reader.pages[1].extract_text()
    assert "12 avenue des Tuileries" in second and "A1" in second and "A2" in second
    empty = PdfReader(io.BytesIO(walklist.walk_pdf(walk.head(0), lang="en", heading="x")))
    assert len(empty.pages) == 1 and "No door to revisit" in empty.pages[0].extract_text()


def test_heat_density_and_limits_do_not_depend_on_the_cell_size() -> None:
    events = pd.concat([_events()] * 3, ignore_index=True).assign(id=lambda f: np.arange(len(f)))
    prep = aggregate.prepare_events(events)
    fine = aggregate.aggregate_cells(prep, resolution=10)
    coarse = aggregate.aggregate_cells(prep, resolution=9)
    # visits per hectare: the same visits spread over a 7 times larger cell give a density about 7 times lower
    assert coverage_map.cell_density(coarse, "visits").sum() < coverage_map.cell_density(fine, "visits").sum()
    limits = coverage_map.heat_limits(coverage_map.cell_density(fine, "visits"))
    assert limits == sorted(limits) and all(v > 0 for v in limits)
    assert coverage_map.heat_limits(np.array([3.0])) == []


def test_backgrounds_plan_ign_first_then_osm_and_the_override(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VOISINMAP_TILES_URL", raising=False)
    names = [b.name for b in basemap.backgrounds(lang="fr")]
    assert names == ["Plan IGN v2", "OpenStreetMap"]
    ign = basemap.backgrounds(lang="fr")[0]
    assert "data.geopf.fr/wmts" in ign.url and "PLANIGNV2" in ign.url and "{z}" in ign.url and "IGN" in ign.attribution
    monkeypatch.setenv("VOISINMAP_TILES_URL", "https://tiles.example.org/{z}/{x}/{y}.png")
    assert [b.url for b in basemap.backgrounds(lang="fr")] == ["https://tiles.example.org/{z}/{x}/{y}.png"]
    monkeypatch.setenv("VOISINMAP_TILES_URL", "none")
    assert basemap.backgrounds(lang="fr") == []
    layers = basemap.base_layers(lang="fr")
    assert len(layers) == 1 and layers[0].checked is True  # only the neutral background
