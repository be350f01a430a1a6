"""Unit tests of the pure build transforms on small hand-made frames."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Polygon, box

from geo import crs, transforms


def cog() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "code_insee": ["93066", "93072", "91286", "97411", "93059"],
            "nom": ["Saint-Denis", "Stains", "Grigny", "Saint-Denis", "Pierrefitte-sur-Seine"],
            "type": ["commune-actuelle"] * 4 + ["commune-deleguee"],
            "code_departement": ["93", "93", "91", "974", "93"],
            "nom_departement": ["Seine-Saint-Denis", "Seine-Saint-Denis", "Essonne", "La Réunion", "x"],
            "code_region": ["11", "11", "11", "04", "11"],
            "nom_region": ["Île-de-France"] * 3 + ["La Réunion", "x"],
            "siren_epci": ["200057867", "200057867", "200059228", "249740119", None],
            "nom_epci": ["Plaine Commune", "Plaine Commune", "Grand Paris Sud", "CINOR", None],
            "zone": ["metro", "metro", "metro", "drom", "metro"],
            "population": ["150000", "39000", "28000", "153000", None],
            "lon": ["2.36", "2.38", "2.39", "55.45", "2.36"],
            "lat": ["48.93", "48.95", "48.66", "-20.88", "48.95"],
            "commune": [None] * 5,
        }
    )


def qpv_raw() -> pd.DataFrame:
    return pd.DataFrame(
        {"code_qp": ["QN09335M", "QN09342M", "QN09101M", "QN97401M"],
         "insee_com": ["93059;93072", "93059;93066", "91286", "97411"]}
    )


def test_commune_merge_rewrites_and_dedupes() -> None:
    out = transforms.apply_commune_merges(pd.Series(["93059;93072", "93059;93066", "91286", None]))
    assert out.tolist() == ["93066;93072", "93066", "91286", ""]


def test_attach_admin_uses_current_codes_and_first_commune() -> None:
    out, stat = transforms.attach_admin(qpv_raw(), cog())
    row = out.set_index("code_qp").loc["QN09335M"]
    assert row["insee_com"] == "93066;93072"
    assert row["lib_com"] == "Saint-Denis;Stains"
    assert row["insee_reg"] == "11" and row["zone"] == "metro"
    assert out.set_index("code_qp").loc["QN97401M", "zone"] == "drom"
    assert stat.matched == stat.total == 5


def test_attach_admin_counts_unknown_communes() -> None:
    raw = pd.DataFrame({"code_qp": ["QN0X"], "insee_com": ["99999"]})
    out, stat = transforms.attach_admin(raw, cog())
    assert stat.matched == 0 and stat.total == 1
    assert pd.isna(out["insee_reg"].iloc[0])
    with pytest.raises(transforms.JoinRateError, match="join 'qpv_communes_in_cog': 0/1"):
        transforms.check_join_rates([stat])


def test_attach_admin_requires_columns() -> None:
    with pytest.raises(ValueError, match=r"qpv: expected columns \['insee_com'\] are missing"):
        transforms.attach_admin(pd.DataFrame({"code_qp": ["a"]}), cog())


def indicators() -> pd.DataFrame:
    base = {c: [1.0, 2.0] for c in transforms.INDICATOR_COLUMNS}
    base["taux_pauvrete_60"] = [None, 40.0]  # secret-protected
    return pd.DataFrame({"code_qp": ["QN09335M", "QN97401M"], **base})


def test_attach_indicators_keeps_secret_values_missing() -> None:
    qpv, _ = transforms.attach_admin(qpv_raw(), cog())
    out, stats = transforms.attach_indicators(qpv, indicators())
    out = out.set_index("code_qp")
    assert np.isnan(out.loc["QN09335M", "poverty_rate"])  # never 0
    assert out.loc["QN97401M", "poverty_rate"] == 40.0
    assert np.isnan(out.loc["QN09101M", "population"])
    by_name = {s.name: s for s in stats}
    assert (by_name["qpv_population"].matched, by_name["qpv_population"].total) == (2, 4)
    assert (by_name["qpv_metro_population"].matched, by_name["qpv_metro_population"].total) == (1, 3)


def test_attach_indicators_refuses_duplicate_codes() -> None:
    qpv, _ = transforms.attach_admin(qpv_raw(), cog())
    dup = pd.concat([indicators(), indicators()])
    with pytest.raises(ValueError, match="indicators: expected one row per code_qp"):
        transforms.attach_indicators(qpv, dup)


def links() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "code_qp_2015": ["QP093001", "QP093001", "QP091001", "QP022003"],
            "code_qp_2024": ["QN09335M", "QN09342M", "QN09101M", None],
            "method": ["anct_table", "anct_table", "anct_table+spatial_2154", "no_successor_in_anct_table"],
        }
    )


def test_link_npnru_flags_successors_and_counts_unlinked() -> None:
    out, stat = transforms.link_npnru(qpv_raw(), links())
    flags = out.set_index("code_qp")["npnru"].to_dict()
    assert flags == {"QN09335M": True, "QN09342M": True, "QN09101M": True, "QN97401M": False}
    assert out.set_index("code_qp").loc["QN09101M", "npnru_method"] == "anct_table+spatial_2154"
    assert out["npnru_interest"].isna().all()
    assert (stat.matched, stat.total) == (2, 3)


def test_npnru_table_keeps_quartiers_without_successor() -> None:
    quartiers = pd.DataFrame(
        {"qpv_code": ["QP093001", "QP091001", "QP022003"], "qpv_name": [None, "X", None],
         "departement": ["93", "91", "22"], "insee_reg": ["11", "11", "53"], "lib_reg": ["IDF", "IDF", "Bretagne"],
         "zone": ["metro"] * 3, "interest": [None, None, None]}
    )
    out = transforms.npnru_table(quartiers, links()).set_index("code_qp_2015")
    assert out.loc["QP093001", "codes_qp_2024"] == "QN09335M;QN09342M"
    assert out.loc["QP093001", "n_qp_2024"] == 2
    assert not out.loc["QP022003", "linked"] and out.loc["QP022003", "codes_qp_2024"] == ""
    assert out["interest"].isna().all()


def test_metric_areas_use_local_crs() -> None:
    # a 0.01° x 0.01° square in Paris and in La Réunion
    gdf = gpd.GeoDataFrame(
        {"insee_dep": ["75", "974"]},
        geometry=[box(2.35, 48.85, 2.36, 48.86), box(55.45, -20.89, 55.46, -20.88)],
        crs="EPSG:4326",
    )
    out = transforms.metric_areas(gdf)
    assert out["metric_epsg"].tolist() == [2154, 2975]
    # 0.01° lat ≈ 1,112 m; 0.01° lon ≈ 1,112 m × cos(lat)
    assert out["area_m2"].iloc[0] == pytest.approx(1112 * 1112 * np.cos(np.radians(48.855)), rel=0.01)
    assert out["area_m2"].iloc[1] == pytest.approx(1112 * 1112 * np.cos(np.radians(20.885)), rel=0.01)
    assert gdf.geometry.iloc[0].contains(gpd.points_from_xy(out.rep_lon, out.rep_lat)[0])


def test_metric_areas_refuse_projected_input() -> None:
    gdf = gpd.GeoDataFrame({"insee_dep": ["75"]}, geometry=[box(0, 0, 1, 1)], crs="EPSG:2154")
    with pytest.raises(ValueError, match="gdf: expected a geographic CRS"):
        transforms.metric_areas(gdf)


def test_clean_polygons_repairs_bowtie_and_refuses_lines() -> None:
    bowtie = Polygon([(0, 0), (1, 1), (1, 0), (0, 1), (0, 0)])
    assert not bowtie.is_valid
    fixed = transforms.clean_polygons(gpd.GeoSeries([bowtie], crs="EPSG:4326"))
    assert fixed.is_valid.all() and fixed.iloc[0].area == pytest.approx(0.5)
    with pytest.raises(ValueError, match="geoms: expected non-empty polygons"):
        transforms.clean_polygons(gpd.GeoSeries([Polygon()], crs="EPSG:4326"))


def test_metric_epsg() -> None:
    assert crs.metric_epsg("2A") == 2154
    assert crs.metric_epsg("973") == 2972
    with pytest.raises(ValueError, match="insee_dep: expected a département code"):
        crs.metric_epsg(75)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="no metric CRS known for overseas code '979'"):
        crs.metric_epsg("979")


def test_unemployment_takes_last_quarter() -> None:
    payload = {"zes": {"1101": {"label": "Paris", "rate_pct": [7.0, 6.5]}}, "communes": {"75056": "1101"}}
    out = transforms.unemployment_by_commune(payload)
    assert out.loc[0, "unemployment_rate"] == 6.5
    with pytest.raises(ValueError, match="payload: expected a key 'zes'"):
        transforms.unemployment_by_commune({"communes": {}})


def test_commune_table_counts_qpv_and_population() -> None:
    qpv, _ = transforms.attach_admin(qpv_raw(), cog())
    qpv["population"] = [1000.0, 2000.0, 3000.0, np.nan]
    empty = pd.DataFrame({"code_insee": ["93066"], "median_eur": [15000], "rate_pct": [40.0]})
    out, stats = transforms.commune_table(
        cog(), qpv, filosofi=empty, sru=empty,
        density=pd.DataFrame({"insee_com": ["93066"], "niveau_densite": ["Grands centres urbains"]}),
        unemployment=pd.DataFrame({"insee_com": ["93066"], "unemployment_rate": [11.0]}),
    )
    out = out.set_index("insee_com")
    assert len(out) == 4  # commune-deleguee dropped
    assert out.loc["93066", "n_qpv"] == 2 and out.loc["93066", "qpv_residents_touching"] == 3000.0
    assert out.loc["93072", "n_qpv"] == 1 and out.loc["91286", "qpv_residents_touching"] == 3000.0
    assert out.loc["93066", "median_income"] == 15000 and np.isnan(out.loc["93072", "median_income"])
    assert all(s.total == 4 and s.matched == 1 for s in stats)


def test_boundary_table_keeps_entries_without_polygon() -> None:
    shapes = gpd.GeoDataFrame({"code": ["11"]}, geometry=[box(2, 48, 3, 49)], crs="EPSG:4326")
    cog_regions = pd.DataFrame({"code": ["11", "978"], "nom": ["Île-de-France", "Saint-Martin"], "zone": ["metro", "com"]})
    out, stat = transforms.boundary_table(shapes, cog_regions, kind="region")
    assert out.geometry.isna().tolist() == [False, True]
    assert (stat.name, stat.matched, stat.total) == ("region_geometry", 1, 1)  # COM have no polygon
    lost = pd.DataFrame({"code": ["11", "24"], "nom": ["IDF", "CVL"], "zone": ["metro", "metro"]})
    _, stat = transforms.boundary_table(shapes, lost, kind="region")
    with pytest.raises(transforms.JoinRateError, match="join 'region_geometry': 1/2"):
        transforms.check_join_rates([stat])
    with pytest.raises(ValueError, match="kind: expected 'departement' or 'region', got 'canton'"):
        transforms.boundary_table(shapes, cog_regions, kind="canton")


def test_join_stat_rate_and_threshold_message() -> None:
    stats = [transforms.JoinStat("a", 9, 10), transforms.JoinStat("b", 5, 10)]
    transforms.check_join_rates(stats, thresholds={"a": 0.9})
    with pytest.raises(transforms.JoinRateError, match=r"join 'b': 5/10 = 50.0% < threshold 60.0%"):
        transforms.check_join_rates(stats, thresholds={"a": 0.9, "b": 0.6})


def test_mayotte_population_sums_earlier_codes_by_commune() -> None:
    qpv = pd.DataFrame(
        {"code_qp": ["QN97651C", "QN97659C", "QN00101M"], "insee_com": ["97601", "97609", "01053"],
         "insee_dep": ["976", "976", "01"], "population": [np.nan, np.nan, 6399.0],
         "population_source": [None, None, "insee_qpv_2024"]}
    )
    ind = pd.DataFrame(
        {"code_qp": ["QN97601M", "QN97602N", "QN00101M"], "insee_com": ["97601", "97601", "01053"],
         "popMuniQPV": ["3652", "100", "6399"]}
    )
    out, filled = transforms.mayotte_population(qpv, ind)
    assert filled == 1
    assert out["population"].tolist()[0] == 3752.0
    assert np.isnan(out["population"].tolist()[1])  # no earlier QPV in Kani-Kéli: stays missing
    assert out["population_source"].tolist()[0] == "insee_earlier_codes_by_commune"
    two = pd.concat([qpv.iloc[[0]], qpv.iloc[[0]].assign(code_qp="QN97699C")])
    with pytest.raises(ValueError, match="qpv: expected one commune-wide Mayotte QPV per commune"):
        transforms.mayotte_population(two, ind)


def test_attach_admin_corrects_known_wrong_commune_code() -> None:
    raw = pd.DataFrame({"code_qp": ["QN97654C"], "insee_com": ["97602"]})
    cog_976 = pd.DataFrame(
        {"code_insee": ["97602", "97604"], "nom": ["Bandraboua", "Bouéni"], "type": ["commune-actuelle"] * 2,
         "code_departement": ["976"] * 2, "nom_departement": ["Mayotte"] * 2, "code_region": ["06"] * 2,
         "nom_region": ["Mayotte"] * 2, "siren_epci": [None] * 2, "nom_epci": [None] * 2, "zone": ["drom"] * 2}
    )
    out, _ = transforms.attach_admin(raw, cog_976)
    assert out["insee_com"].iloc[0] == "97604" and out["lib_com"].iloc[0] == "Bouéni"


def test_npnru_correspondence_stat_checks_claimed_pairs() -> None:
    corr = pd.DataFrame(
        {"qp2024": ["QN09335M", "QN09101M"], "qp2015_1": ["QP093001", "QP091001"],
         "qp2015_2": [None, None], "qp2015_3": [None, None]}
    )
    stat = transforms.npnru_correspondence_stat(links(), corr)
    assert (stat.matched, stat.total) == (2, 3)  # QP093001 -> QN09342M is not in the table
