"""Place search (geo.places)."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import box

from geo import places


@pytest.fixture
def index() -> pd.DataFrame:
    qpv = gpd.GeoDataFrame(
        {"code_qp": ["QN09126M", "QN09125M", "QN09301I"],
         "lib_qp": ["Grigny 2", "La Grande Borne", "Secteur Gare"],
         "lib_com": ["Grigny", "Grigny;Viry-Châtillon", "Le Bourget"],
         "insee_com": ["91286", "91286;91687", "93013"]},
        geometry=[box(2.38, 48.64, 2.40, 48.66), box(2.36, 48.63, 2.39, 48.65), box(2.42, 48.93, 2.43, 48.94)],
        crs=4326,
    )
    communes = pd.DataFrame(
        {"insee_com": ["91286", "91687", "93013", "62388"],
         "name": ["Grigny", "Viry-Châtillon", "Le Bourget", "Grigny"],
         "lib_dep": ["Essonne", "Essonne", "Seine-Saint-Denis", "Pas-de-Calais"],
         "lon": [2.39, 2.37, 2.43, 2.06], "lat": [48.65, 48.67, 48.93, 50.38]},
    )
    return places.place_index(qpv, communes)


def test_normalise_folds_accents_case_and_punctuation():
    assert places.normalise("Saint-Étienne-du-Rouvray") == "saint etienne du rouvray"
    assert places.normalise("  L'Haÿ-les-Roses ") == "l hay les roses"


def test_commune_bounds_cover_its_qpv_or_a_box_around_it(index):
    grigny = index[(index.kind == "commune") & (index.code == "91286")].iloc[0]
    assert (grigny.west, grigny.south, grigny.east, grigny.north) == pytest.approx((2.36, 48.63, 2.40, 48.66))
    assert grigny.n_qpv == 2
    viry = index[(index.kind == "commune") & (index.code == "91687")].iloc[0]  # via the two-commune QPV
    assert viry.n_qpv == 1
    other = index[(index.kind == "commune") & (index.code == "62388")].iloc[0]
    assert other.n_qpv == 0
    assert other.east - other.west == pytest.approx(2 * places.COMMUNE_HALF_BOX_DEG)


def test_search_ranks_codes_then_prefixes_then_communes_with_qpv(index):
    hits = places.search_places(index, "grigny")
    assert hits.iloc[0][["kind", "code"]].tolist() == ["commune", "91286"]  # the one with QPV first
    assert set(hits["code"]) >= {"91286", "62388", "QN09126M"}
    assert places.search_places(index, "qn09301i").iloc[0]["code"] == "QN09301I"
    assert places.search_places(index, "grande borne").iloc[0]["code"] == "QN09125M"
    assert places.search_places(index, "viry chat").iloc[0]["code"] == "91687"
    assert places.search_places(index, "g").empty
    assert places.search_places(index, "zzz").empty
    with pytest.raises(ValueError, match="limit: expected a positive integer, got 0"):
        places.search_places(index, "grigny", limit=0)


def test_place_index_names_missing_columns():
    with pytest.raises(ValueError, match=r"communes: expected columns .* missing \['lon', 'lat'\]"):
        places.place_index(gpd.GeoDataFrame({"code_qp": [], "lib_qp": [], "lib_com": [], "insee_com": []},
                                            geometry=[], crs=4326),
                           pd.DataFrame({"insee_com": [], "name": [], "lib_dep": []}))


def test_national_index_finds_real_places(processed_dir):
    from geo.load import load_communes, load_qpv

    index = places.place_index(load_qpv(data_dir=processed_dir), load_communes(data_dir=processed_dir))
    assert (index.kind == "qpv").sum() == 1584
    top = places.search_places(index, "Vaulx-en-Velin").iloc[0]
    assert (top.kind, top.code) == ("commune", "69256")
    assert top.n_qpv >= 1
    assert 4.8 < top.west < top.east < 5.0 and 45.7 < top.south < top.north < 45.8
