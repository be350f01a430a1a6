"""Pure transforms of the national build: frames in, frames out, no I/O.

Each function takes the raw tables as read by :mod:`geo.readers` and returns a new frame; join
statistics are returned as :class:`JoinStat` so that the build can check them against thresholds.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo._errors import VoisinmapError
from geo.crs import metric_epsg

logger = logging.getLogger(__name__)

#: Communes merged after the QPV file was drawn: old code -> new code (COG).
COMMUNE_MERGES: dict[str, str] = {"93059": "93066"}  # Pierrefitte-sur-Seine -> Saint-Denis, 2025-01-01

#: Indicator columns of the INSEE QPV table -> names in the processed layer.
INDICATOR_COLUMNS: dict[str, str] = {
    "popMuniQPV": "population",
    "nombre_menages": "households",
    "taux_pauvrete_60": "poverty_rate",
    "taux_d_emploi": "employment_rate",
    "nombre_logements_sociaux": "social_housing",
    "personnes_couvertes_CAF": "caf_covered",
    "allocataires_CAF": "caf_recipients",
    "RSA_socle": "rsa_recipients",
    "indiceJeunesse": "youth_index",
}

#: Minimum join rates; a lower rate fails the build (see :func:`check_join_rates`).
JOIN_THRESHOLDS: dict[str, float] = {
    "qpv_communes_in_cog": 1.0,
    "qpv_metro_population": 1.0,
    "qpv_population": 0.90,
    "npnru_to_qpv2024": 0.95,
    "communes_filosofi": 0.85,
    "communes_sru": 0.95,
    "communes_density": 0.97,
    "communes_unemployment": 0.97,
    "departement_geometry": 1.0,
    "region_geometry": 1.0,
    "npnru_links_in_anct_table": 1.0,
}

#: Commune codes known to be wrong in the QPV file: QPV code -> (code in the file, correct code, reason).
QPV_COMMUNE_FIXES: dict[str, tuple[str, str, str]] = {
    "QN97654C": (
        "97602",
        "97604",
        "commune-wide QPV « Bouéni » is coded 97602 (Bandraboua) in the file; its polygon lies in Bouéni (97604)",
    ),
}


class JoinRateError(VoisinmapError, ValueError):
    """A join matched fewer rows than its documented threshold."""


@dataclass(frozen=True)
class JoinStat:
    """Outcome of one join: how many of ``total`` rows found a match."""

    name: str
    matched: int
    total: int

    @property
    def rate(self) -> float:
        """Share of rows matched (1.0 for an empty join)."""
        return self.matched / self.total if self.total else 1.0

    def as_dict(self, threshold: float | None = None) -> dict[str, float | int | None]:
        """JSON-ready form, with the threshold it is checked against."""
        return {"matched": self.matched, "total": self.total, "rate": round(self.rate, 6), "threshold": threshold}


def check_join_rates(stats: list[JoinStat], *, thresholds: dict[str, float] | None = None) -> None:
    """Raise :class:`JoinRateError` naming every join below its threshold.

    Parameters
    ----------
    stats : list of JoinStat
        Joins to check; those without a threshold pass.
    thresholds : dict, optional
        Join name -> minimum rate in [0, 1] (default :data:`JOIN_THRESHOLDS`).
    """
    thresholds = JOIN_THRESHOLDS if thresholds is None else thresholds
    bad = [s for s in stats if s.name in thresholds and s.rate < thresholds[s.name]]
    if bad:
        lines = "; ".join(
            f"join {s.name!r}: {s.matched}/{s.total} = {s.rate:.1%} < threshold {thresholds[s.name]:.1%}" for s in bad
        )
        raise JoinRateError(f"join rate below threshold: {lines}")


def _require(frame: pd.DataFrame, columns: list[str], name: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{name}: expected columns {missing} are missing (has {list(frame.columns)})")


def split_codes(value: object) -> list[str]:
    """Split a ``;``-separated code list, dropping blanks (``NaN`` gives ``[]``)."""
    if not isinstance(value, str):
        return []
    return [part.strip() for part in value.split(";") if part.strip()]


def apply_commune_merges(codes: pd.Series, *, merges: dict[str, str] | None = None) -> pd.Series:
    """Rewrite merged commune codes inside ``;``-lists, keeping order and removing duplicates.

    Parameters
    ----------
    codes : pandas.Series of str
        ``;``-separated INSEE codes.
    merges : dict, optional
        Old code -> new code (default :data:`COMMUNE_MERGES`).

    Returns
    -------
    pandas.Series
        Same index, rewritten lists.
    """
    merges = COMMUNE_MERGES if merges is None else merges

    def rewrite(value: object) -> str:
        out: list[str] = []
        for code in split_codes(value):
            code = merges.get(code, code)
            if code not in out:
                out.append(code)
        return ";".join(out)

    return codes.map(rewrite)


def attach_admin(qpv: pd.DataFrame, communes: pd.DataFrame) -> tuple[pd.DataFrame, JoinStat]:
    """Set commune names, département, région and EPCI of each QPV from the COG.

    ``insee_com`` is first rewritten with :func:`apply_commune_merges`; the administrative attributes are
    those of the first commune.

    Parameters
    ----------
    qpv : DataFrame
        Needs ``code_qp`` and ``insee_com``.
    communes : DataFrame
        COG table with ``code_insee``, ``nom``, ``type``, ``code_departement``, ``nom_departement``,
        ``code_region``, ``nom_region``, ``siren_epci``, ``nom_epci``, ``zone``.

    Returns
    -------
    (DataFrame, JoinStat)
        The QPV with admin columns, and the share of (QPV, commune) pairs found in the COG.
    """
    _require(qpv, ["code_qp", "insee_com"], "qpv")
    _require(communes, ["code_insee", "nom", "type", "code_departement", "code_region"], "communes")
    cog = communes[communes["type"] == "commune-actuelle"].set_index("code_insee")
    out = qpv.copy()
    for code, (wrong, right, reason) in QPV_COMMUNE_FIXES.items():
        hit = (out["code_qp"] == code) & (out["insee_com"] == wrong)
        if hit.any():
            logger.info("%s: commune code %s corrected to %s (%s)", code, wrong, right, reason)
            out.loc[hit, "insee_com"] = right
    out["insee_com"] = apply_commune_merges(out["insee_com"])
    pairs = pd.Series([split_codes(v) for v in out["insee_com"]], index=out.index, dtype=object)
    flat = pairs.explode()
    matched = int(flat.isin(cog.index).sum())
    out["lib_com"] = pairs.map(lambda codes: ";".join(str(cog["nom"].get(c, c)) for c in codes))
    main = pairs.map(lambda codes: codes[0] if codes else None)
    out["insee_com_main"] = main
    for target, source in [
        ("insee_dep", "code_departement"),
        ("lib_dep", "nom_departement"),
        ("insee_reg", "code_region"),
        ("lib_reg", "nom_region"),
        ("siren_epci", "siren_epci"),
        ("lib_epci", "nom_epci"),
        ("zone", "zone"),
    ]:
        out[target] = main.map(cog[source])
    regions_per_qpv = pairs.map(lambda codes: len({cog["code_region"].get(c) for c in codes if c in cog.index}))
    if (regions_per_qpv > 1).any():
        bad = out.loc[regions_per_qpv > 1, "code_qp"].tolist()
        logger.warning("QPV spanning several régions (attributed to the first commune's): %s", bad)
    return out, JoinStat("qpv_communes_in_cog", matched, int(flat.notna().sum()))


def attach_indicators(qpv: pd.DataFrame, indicators: pd.DataFrame) -> tuple[pd.DataFrame, list[JoinStat]]:
    """Join INSEE population and indicators to the QPV polygons by ``code_qp``.

    Missing values stay missing (``NaN``): a poverty rate under statistical secrecy is never 0.

    Parameters
    ----------
    qpv : DataFrame
        Needs ``code_qp`` and ``zone``.
    indicators : DataFrame
        INSEE table with ``code_qp`` and the columns of :data:`INDICATOR_COLUMNS`.

    Returns
    -------
    (DataFrame, list of JoinStat)
        The QPV with indicator columns; join rates for all QPV and for the métropole.
    """
    _require(qpv, ["code_qp", "zone"], "qpv")
    _require(indicators, ["code_qp", *INDICATOR_COLUMNS], "indicators")
    if indicators["code_qp"].duplicated().any():
        dups = indicators.loc[indicators["code_qp"].duplicated(), "code_qp"].tolist()[:5]
        raise ValueError(f"indicators: expected one row per code_qp, got duplicates such as {dups}")
    table = indicators[["code_qp", *INDICATOR_COLUMNS]].rename(columns=INDICATOR_COLUMNS)
    for col in INDICATOR_COLUMNS.values():
        table[col] = pd.to_numeric(table[col], errors="coerce").astype("float64")
    out = qpv.drop(columns=[c for c in INDICATOR_COLUMNS.values() if c in qpv.columns]).merge(
        table, on="code_qp", how="left", validate="one_to_one"
    )
    has = out["population"].notna()
    out["population_source"] = pd.Series(np.where(has, "insee_qpv_2024", None), index=out.index, dtype="str")
    metro = out["zone"] == "metro"
    stats = [
        JoinStat("qpv_population", int(has.sum()), len(out)),
        JoinStat("qpv_metro_population", int((has & metro).sum()), int(metro.sum())),
    ]
    return out, stats


def mayotte_population(qpv: pd.DataFrame, indicators: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Give the commune-wide 2025 Mayotte QPV the population of the earlier QPV codes of their commune.

    The QPV layer has Mayotte's 17 commune-wide QPV (``QN976xxC``); the INSEE table still has the earlier
    42 QPV (``QN976xxM/N``), each in one commune. Summing those by commune gives the QPV population of each
    commune-wide QPV (a lower bound: the 2025 QPV cover the whole commune). Other indicators stay missing.

    Parameters
    ----------
    qpv : DataFrame
        With ``code_qp``, ``insee_com``, ``insee_dep``, ``population`` and ``population_source``.
    indicators : DataFrame
        INSEE table with ``code_qp``, ``insee_com`` and ``popMuniQPV``.

    Returns
    -------
    (DataFrame, int)
        The QPV with the Mayotte populations filled (``population_source`` =
        ``insee_earlier_codes_by_commune``), and how many QPV were filled.
    """
    _require(qpv, ["code_qp", "insee_com", "insee_dep", "population", "population_source"], "qpv")
    _require(indicators, ["code_qp", "insee_com", "popMuniQPV"], "indicators")
    old = indicators[indicators["code_qp"].str.startswith("QN976") & ~indicators["code_qp"].isin(qpv["code_qp"])]
    by_commune = pd.to_numeric(old["popMuniQPV"], errors="coerce").groupby(old["insee_com"].to_numpy()).sum()
    out = qpv.copy()
    target = (out["insee_dep"] == "976") & out["population"].isna() & out["insee_com"].isin(by_commune.index)
    per_commune = out.loc[target, "insee_com"].value_counts()
    if (per_commune > 1).any():
        raise ValueError(
            f"qpv: expected one commune-wide Mayotte QPV per commune, got several in {per_commune[per_commune > 1].index.tolist()}"
        )
    out.loc[target, "population"] = out.loc[target, "insee_com"].map(by_commune).astype("float64")
    out.loc[target, "population_source"] = "insee_earlier_codes_by_commune"
    return out, int(target.sum())


def npnru_correspondence_stat(links: pd.DataFrame, correspondence: pd.DataFrame) -> JoinStat:
    """Share of the NPNRU link pairs said to come from the ANCT table that the ANCT table really holds.

    Parameters
    ----------
    links : DataFrame
        ``code_qp_2015``, ``code_qp_2024``, ``method``.
    correspondence : DataFrame
        ANCT table with ``qp2024`` and ``qp2015_1`` .. ``qp2015_3``.
    """
    _require(links, ["code_qp_2015", "code_qp_2024", "method"], "links")
    _require(correspondence, ["qp2024", "qp2015_1", "qp2015_2", "qp2015_3"], "correspondence")
    pairs = set()
    for col in ("qp2015_1", "qp2015_2", "qp2015_3"):
        sub = correspondence[correspondence[col].notna()]
        pairs |= set(zip(sub[col], sub["qp2024"], strict=True))
    claimed = links[links["method"].astype(str).str.startswith("anct_table")]
    found = sum((a, b) in pairs for a, b in zip(claimed["code_qp_2015"], claimed["code_qp_2024"], strict=True))
    return JoinStat("npnru_links_in_anct_table", int(found), len(claimed))


def link_npnru(qpv: pd.DataFrame, links: pd.DataFrame) -> tuple[pd.DataFrame, JoinStat]:
    """Flag the QPV 2024 that a NPNRU quartier (QPV 2015 code) links to.

    Parameters
    ----------
    qpv : DataFrame
        Needs ``code_qp``.
    links : DataFrame
        Link table with ``code_qp_2015``, ``code_qp_2024`` (empty when no successor) and ``method``.

    Returns
    -------
    (DataFrame, JoinStat)
        The QPV with ``npnru``, ``npnru_codes_2015``, ``npnru_method`` and ``npnru_interest``; the share
        of NPNRU quartiers that link to at least one QPV 2024 present in ``qpv``.
    """
    _require(qpv, ["code_qp"], "qpv")
    _require(links, ["code_qp_2015", "code_qp_2024", "method"], "links")
    linked = links[links["code_qp_2024"].notna() & (links["code_qp_2024"].astype(str).str.strip() != "")]
    linked = linked[linked["code_qp_2024"].isin(qpv["code_qp"])]
    interest_col = "interest" if "interest" in links.columns else None
    grouped = linked.groupby("code_qp_2024", sort=True).agg(
        npnru_codes_2015=("code_qp_2015", lambda s: ";".join(sorted(set(s)))),
        npnru_method=("method", lambda s: ";".join(sorted(set(s)))),
        **({"npnru_interest": (interest_col, lambda s: ";".join(sorted({str(v) for v in s.dropna()})) or None)}
           if interest_col else {}),
    )
    out = qpv.drop(
        columns=[c for c in ("npnru", "npnru_codes_2015", "npnru_method", "npnru_interest") if c in qpv.columns]
    ).merge(grouped, left_on="code_qp", right_index=True, how="left")
    if "npnru_interest" not in out.columns:
        out["npnru_interest"] = pd.Series(pd.NA, index=out.index, dtype="str")
    out["npnru"] = out["npnru_codes_2015"].notna()
    total = links["code_qp_2015"].nunique()
    return out, JoinStat("npnru_to_qpv2024", int(linked["code_qp_2015"].nunique()), int(total))


def clean_polygons(geoms: gpd.GeoSeries) -> gpd.GeoSeries:
    """Make geometries valid and keep only their polygonal parts (Polygon or MultiPolygon).

    Raises
    ------
    ValueError
        If a geometry is empty or has no polygonal part after repair.
    """
    fixed = shapely.make_valid(np.asarray(geoms.values))
    out = []
    for i, geom in enumerate(fixed):
        if geom is None or geom.is_empty:
            raise ValueError(f"geoms: expected non-empty polygons, got an empty geometry at position {i}")
        if geom.geom_type in ("Polygon", "MultiPolygon"):
            out.append(geom)
            continue
        parts = [g for g in getattr(geom, "geoms", []) if g.geom_type in ("Polygon", "MultiPolygon")]
        if not parts:
            raise ValueError(f"geoms: expected polygons, got {geom.geom_type} at position {i}")
        out.append(shapely.union_all(parts))
    return gpd.GeoSeries(out, index=geoms.index, crs=geoms.crs)


def metric_areas(gdf: gpd.GeoDataFrame, *, dep_column: str = "insee_dep") -> gpd.GeoDataFrame:
    """Add ``area_m2`` (computed in each zone's metric CRS), ``metric_epsg``, ``rep_lon`` and ``rep_lat``.

    Parameters
    ----------
    gdf : GeoDataFrame
        Polygons in a geographic CRS (EPSG:4326) with a département code column.
    dep_column : str
        Name of that column.

    Returns
    -------
    GeoDataFrame
        A copy with the four columns.

    Raises
    ------
    ValueError
        If ``gdf`` has no CRS or a projected one.
    """
    if gdf.crs is None or not gdf.crs.is_geographic:
        raise ValueError(f"gdf: expected a geographic CRS such as EPSG:4326, got {gdf.crs!r}")
    _require(gdf, [dep_column], "gdf")
    out = gdf.copy()
    out["metric_epsg"] = out[dep_column].map(metric_epsg).astype("int64")
    area = pd.Series(np.nan, index=out.index, dtype="float64")
    for epsg, idx in out.groupby("metric_epsg").groups.items():
        area.loc[idx] = out.loc[idx].geometry.to_crs(epsg=int(epsg)).area.to_numpy()
    out["area_m2"] = area.round(1)
    rep = out.geometry.representative_point()
    out["rep_lon"] = rep.x.round(6)
    out["rep_lat"] = rep.y.round(6)
    return out


#: COG column -> processed column name.
COG_NAMES: dict[str, str] = {
    "code_insee": "insee_com",
    "nom": "name",
    "commune": "parent_com",
    "code_departement": "insee_dep",
    "nom_departement": "lib_dep",
    "code_region": "insee_reg",
    "nom_region": "lib_reg",
    "siren_epci": "siren_epci",
    "nom_epci": "lib_epci",
    "zone": "zone",
    "population": "population",
    "lon": "lon",
    "lat": "lat",
}


def _cog_rows(communes: pd.DataFrame, *, kind: str, columns: list[str]) -> pd.DataFrame:
    """COG rows of one ``type``, renamed to processed names, with numeric population and coordinates."""
    source = {v: k for k, v in COG_NAMES.items()}
    rows = communes[communes["type"] == kind]
    out = pd.DataFrame({col: rows[source[col]].to_numpy() for col in columns})
    for col in ("population", "lon", "lat"):
        if col in out.columns:
            out[col] = pd.to_numeric(out[col], errors="coerce").astype("float64")
    return out


def commune_table(
    communes: pd.DataFrame,
    qpv: pd.DataFrame,
    *,
    filosofi: pd.DataFrame,
    sru: pd.DataFrame,
    density: pd.DataFrame,
    unemployment: pd.DataFrame,
) -> tuple[gpd.GeoDataFrame, list[JoinStat]]:
    """Current communes with centroid, QPV counts and commune indicators.

    Parameters
    ----------
    communes : DataFrame
        COG table (all types; only ``commune-actuelle`` rows are kept).
    qpv : DataFrame
        Processed QPV with ``insee_com`` (after merges) and ``population``.
    filosofi, sru, density : DataFrame
        ``code_insee``/``median_eur``, ``code_insee``/``rate_pct``, ``insee_com``/``niveau_densite``.
    unemployment : DataFrame
        ``insee_com`` and ``unemployment_rate`` (last quarter of the employment zone).

    Returns
    -------
    (GeoDataFrame, list of JoinStat)
        One row per current commune (points, EPSG:4326), and the indicator join rates.
    """
    _require(communes, ["code_insee", "nom", "type", "population", "lon", "lat"], "communes")
    pairs = qpv[["code_qp", "population"]].assign(
        insee=pd.Series([split_codes(v) for v in qpv["insee_com"]], index=qpv.index, dtype=object)
    ).explode("insee")
    per_commune = pairs.groupby("insee").agg(n_qpv=("code_qp", "nunique"), qpv_residents_touching=("population", "sum"))
    out = _cog_rows(
        communes,
        kind="commune-actuelle",
        columns=["insee_com", "name", "insee_dep", "lib_dep", "insee_reg", "lib_reg", "siren_epci", "lib_epci",
                 "zone", "population", "lon", "lat"],
    )
    out["n_qpv"] = out["insee_com"].map(per_commune["n_qpv"]).fillna(0).astype("int64")
    out["qpv_residents_touching"] = out["insee_com"].map(per_commune["qpv_residents_touching"]).fillna(0.0)
    stats = []
    for col, table, key, value in [
        ("median_income", filosofi, "code_insee", "median_eur"),
        ("sru_social_housing_rate", sru, "code_insee", "rate_pct"),
        ("density_level", density, "insee_com", "niveau_densite"),
        ("unemployment_rate", unemployment, "insee_com", "unemployment_rate"),
    ]:
        _require(table, [key, value], col)
        series = table.drop_duplicates(key).set_index(key)[value]
        mapped = out["insee_com"].map(series)
        if col != "density_level":
            mapped = pd.to_numeric(mapped, errors="coerce").astype("float64")
        out[col] = mapped
        name = {
            "median_income": "communes_filosofi",
            "sru_social_housing_rate": "communes_sru",
            "density_level": "communes_density",
            "unemployment_rate": "communes_unemployment",
        }[col]
        stats.append(JoinStat(name, int(out["insee_com"].isin(series.index).sum()), len(out)))
    geometry = gpd.points_from_xy(out["lon"], out["lat"], crs="EPSG:4326")
    return gpd.GeoDataFrame(out, geometry=geometry, crs="EPSG:4326"), stats


def unemployment_by_commune(payload: dict) -> pd.DataFrame:
    """Last-quarter unemployment rate of each commune's employment zone, from the INSEE JSON compilation.

    Parameters
    ----------
    payload : dict
        With ``zes`` (zone -> ``{label, rate_pct: [...]}``) and ``communes`` (INSEE code -> zone).

    Returns
    -------
    DataFrame
        ``insee_com``, ``ze2020``, ``unemployment_rate``.
    """
    for key in ("zes", "communes"):
        if key not in payload:
            raise ValueError(f"payload: expected a key {key!r}, got keys {sorted(payload)}")
    last = {ze: (v.get("rate_pct") or [None])[-1] for ze, v in payload["zes"].items()}
    frame = pd.DataFrame({"insee_com": list(payload["communes"]), "ze2020": list(payload["communes"].values())})
    frame["unemployment_rate"] = pd.to_numeric(frame["ze2020"].map(last), errors="coerce").astype("float64")
    return frame


def arrondissement_table(communes: pd.DataFrame) -> gpd.GeoDataFrame:
    """Arrondissements municipaux of Paris, Lyon and Marseille, as centroid points."""
    _require(communes, ["code_insee", "nom", "type", "commune", "population", "lon", "lat"], "communes")
    out = _cog_rows(
        communes,
        kind="arrondissement-municipal",
        columns=["insee_com", "name", "parent_com", "insee_dep", "insee_reg", "lib_reg", "population", "lon", "lat"],
    )
    return gpd.GeoDataFrame(out, geometry=gpd.points_from_xy(out["lon"], out["lat"]), crs="EPSG:4326")


def npnru_table(quartiers: pd.DataFrame, links: pd.DataFrame) -> pd.DataFrame:
    """One row per NPNRU quartier with its QPV 2024 successors (quartiers without one are kept).

    Parameters
    ----------
    quartiers : DataFrame
        ``qpv_code``, ``qpv_name``, ``departement``, ``insee_reg``, ``lib_reg``, ``zone``, ``interest``.
    links : DataFrame
        ``code_qp_2015``, ``code_qp_2024``, ``method``.

    Returns
    -------
    DataFrame
        Columns of :data:`geo.schema.NPNRU_COLUMNS`.
    """
    _require(quartiers, ["qpv_code", "departement", "insee_reg", "lib_reg", "zone"], "quartiers")
    _require(links, ["code_qp_2015", "code_qp_2024", "method"], "links")
    ok = links["code_qp_2024"].notna() & (links["code_qp_2024"].astype(str).str.strip() != "")
    succ = links[ok].groupby("code_qp_2015").agg(
        codes_qp_2024=("code_qp_2024", lambda s: ";".join(sorted(set(s)))),
        n_qp_2024=("code_qp_2024", "nunique"),
    )
    method = links.groupby("code_qp_2015")["method"].agg(lambda s: ";".join(sorted(set(s))))
    out = pd.DataFrame(
        {
            "code_qp_2015": quartiers["qpv_code"],
            "qpv_name": quartiers.get("qpv_name"),
            "insee_dep": quartiers["departement"],
            "insee_reg": quartiers["insee_reg"],
            "lib_reg": quartiers["lib_reg"],
            "zone": quartiers["zone"],
        }
    ).reset_index(drop=True)
    out["codes_qp_2024"] = out["code_qp_2015"].map(succ["codes_qp_2024"]).fillna("")
    out["n_qp_2024"] = out["code_qp_2015"].map(succ["n_qp_2024"]).fillna(0).astype("int64")
    out["method"] = out["code_qp_2015"].map(method)
    out["linked"] = out["n_qp_2024"] > 0
    interest = quartiers["interest"] if "interest" in quartiers.columns else pd.Series(pd.NA, index=quartiers.index)
    out["interest"] = pd.Series(interest.to_numpy(), dtype="str")
    return out


def boundary_table(
    shapes: gpd.GeoDataFrame, cog: pd.DataFrame, *, kind: str
) -> tuple[gpd.GeoDataFrame, JoinStat]:
    """Join COG attributes to boundary polygons; COG entries without a polygon keep a null geometry.

    Parameters
    ----------
    shapes : GeoDataFrame
        ``code``, ``nom`` and polygons.
    cog : DataFrame
        COG list with ``code``, ``nom``, ``zone`` (and ``region`` for départements).
    kind : {"departement", "region"}
        Which level; names the join statistic.

    Returns
    -------
    (GeoDataFrame, JoinStat)
        One row per COG entry; the share of métropole and DROM entries that have a polygon.
    """
    if kind not in ("departement", "region"):
        raise ValueError(f"kind: expected 'departement' or 'region', got {kind!r}")
    _require(shapes, ["code", "geometry"], "shapes")
    _require(cog, ["code", "nom", "zone"], "cog")
    geom = shapes.set_index("code").geometry
    out = pd.DataFrame({"code": cog["code"], "nom": cog["nom"], "zone": cog["zone"]}).reset_index(drop=True)
    if kind == "departement":
        out.insert(2, "insee_reg", cog["region"].to_numpy())
    geometry = gpd.GeoSeries(out["code"].map(geom), crs=shapes.crs)
    gdf = gpd.GeoDataFrame(out, geometry=clean_or_null(geometry), crs=shapes.crs)
    # the COM (zone "com") have no polygon in the source: the rate is over métropole and DROM entries
    expected = (out["zone"] != "com").to_numpy()
    return gdf, JoinStat(f"{kind}_geometry", int(geometry[expected].notna().sum()), int(expected.sum()))


def clean_or_null(geoms: gpd.GeoSeries) -> gpd.GeoSeries:
    """Like :func:`clean_polygons`, but null geometries stay null."""
    present = geoms.notna()
    out = gpd.GeoSeries([None] * len(geoms), index=geoms.index, crs=geoms.crs)
    if present.any():
        out.loc[present] = clean_polygons(geoms[present])
    return out
