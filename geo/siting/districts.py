"""Candidate districts ("bassins"): QPV clustered by proximity with scikit-learn.

DBSCAN with the haversine metric on the QPV representative points and ``min_samples=1`` is single-linkage
clustering at ``eps_km``: two QPV closer than ``eps_km`` are in the same district, and chains of them
too. Each district is named after its main commune (the one with the most QPV residents; the
arrondissement for Paris, Lyon and Marseille) and summarised with population, households, NPNRU count
and need score.
"""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.siting.candidates import _str, require_columns

logger = logging.getLogger(__name__)

#: Distance (km) under which two QPV belong to the same district: half the default travel radius,
#: so that a district fits within one site's reach. Source: team choice.
DEFAULT_DISTRICT_EPS_KM: float = 1.5
EARTH_RADIUS_KM: float = 6371.0088

DISTRICT_COLUMNS: tuple[str, ...] = (
    "district_id", "name", "main_insee", "insee_reg", "region", "n_qpv", "population", "households",
    "npnru_count", "need", "poverty_rate", "qpv_codes", "geometry",
)


def districts(
    qpv: pd.DataFrame,
    *,
    eps_km: float = DEFAULT_DISTRICT_EPS_KM,
    need: np.ndarray | pd.Series | None = None,
    commune_names: dict[str, str] | None = None,
) -> gpd.GeoDataFrame:
    """Cluster QPV into districts.

    Parameters
    ----------
    qpv : pandas.DataFrame or geopandas.GeoDataFrame
        QPV with ``code_qp``, ``insee_com``, ``rep_lon``, ``rep_lat`` and when present ``population``,
        ``households``, ``npnru``, ``poverty_rate``, ``lib_com``, ``insee_reg``, ``lib_reg``,
        ``geometry`` (polygons, EPSG:4326).
    eps_km : float
        Linkage distance in km (> 0).
    need : array-like, optional
        Need score per QPV (same order) to average (population-weighted); e.g.
        ``instance.qpv["need"]``.
    commune_names : dict, optional
        INSEE code -> name used to name districts (default: ``lib_com`` of the QPV).

    Returns
    -------
    geopandas.GeoDataFrame
        One row per district (:data:`DISTRICT_COLUMNS`), sorted by decreasing population; geometry is
        the union of the QPV polygons (or the convex hull of their points without polygons).
    """
    if isinstance(eps_km, bool) or not isinstance(eps_km, int | float) or not np.isfinite(eps_km) or eps_km <= 0:
        raise ValueError(f"eps_km: expected a positive number of km, got {eps_km!r}")
    require_columns(qpv, ("code_qp", "insee_com", "rep_lon", "rep_lat"), name="qpv")
    if len(qpv) == 0:
        raise ValueError("qpv: expected at least one QPV, got an empty frame")
    lonlat = np.column_stack([qpv["rep_lon"].to_numpy(float), qpv["rep_lat"].to_numpy(float)])
    if not np.isfinite(lonlat).all():
        raise ValueError("qpv: expected finite rep_lon / rep_lat for every QPV, got missing values")
    from sklearn.cluster import DBSCAN  # here: scikit-learn takes most of a second to import

    labels = DBSCAN(eps=eps_km / EARTH_RADIUS_KM, min_samples=1, metric="haversine",
                    algorithm="ball_tree").fit_predict(np.radians(lonlat[:, ::-1]))
    pop = pd.to_numeric(qpv["population"], errors="coerce").to_numpy(float) if "population" in qpv \
        else np.full(len(qpv), np.nan)
    hh = pd.to_numeric(qpv["households"], errors="coerce").to_numpy(float) if "households" in qpv \
        else np.full(len(qpv), np.nan)
    pov = pd.to_numeric(qpv["poverty_rate"], errors="coerce").to_numpy(float) if "poverty_rate" in qpv \
        else np.full(len(qpv), np.nan)
    npnru = qpv["npnru"].fillna(False).astype(bool).to_numpy() if "npnru" in qpv else np.zeros(len(qpv), bool)
    need_arr = np.asarray(need, dtype=float) if need is not None else np.full(len(qpv), np.nan)
    if len(need_arr) != len(qpv):
        raise ValueError(f"need: expected {len(qpv)} values (one per QPV), got {len(need_arr)}")
    main = np.array([s.split(";")[0] for s in _str(qpv["insee_com"])], dtype=object)
    lib = np.array([s.split(";")[0] for s in _str(qpv["lib_com"])], dtype=object) if "lib_com" in qpv else main
    names = dict(zip(main, lib, strict=True))
    if commune_names:
        names.update(commune_names)
    reg = _str(qpv["insee_reg"]) if "insee_reg" in qpv else np.array([""] * len(qpv), dtype=object)
    reg_name = _str(qpv["lib_reg"]) if "lib_reg" in qpv else reg
    codes = _str(qpv["code_qp"])
    geoms = qpv.geometry.to_numpy() if isinstance(qpv, gpd.GeoDataFrame) and "geometry" in qpv else None
    pop0 = np.nan_to_num(pop, nan=0.0)

    rows = []
    for lab in np.unique(labels):
        m = labels == lab
        w = pop0[m]
        by_com = pd.Series(w + 1e-9).groupby(main[m]).sum().sort_values(ascending=False, kind="stable")
        top = by_com.index[0]
        known = m & ~np.isnan(pov) & (pop0 > 0)
        known_need = m & ~np.isnan(need_arr)
        if geoms is not None:
            geom = shapely.union_all(shapely.make_valid(geoms[m]))
        else:
            geom = shapely.convex_hull(shapely.multipoints(lonlat[m]))
        rows.append({
            "name": names.get(top, top), "main_insee": top, "insee_reg": reg[m][0], "region": reg_name[m][0],
            "n_qpv": int(m.sum()), "population": float(w.sum()), "households": float(np.nansum(hh[m])),
            "npnru_count": int(npnru[m].sum()),
            "need": float(np.average(need_arr[known_need], weights=pop0[known_need] + 1e-9)) if known_need.any()
            else float("nan"),
            "poverty_rate": float(np.average(pov[known], weights=pop0[known])) if known.any() else float("nan"),
            "qpv_codes": ";".join(sorted(codes[m])), "geometry": geom,
        })
    out = pd.DataFrame(rows).sort_values(["population", "main_insee"], ascending=[False, True], kind="stable")
    out.insert(0, "district_id", np.arange(1, len(out) + 1))
    # several districts in one commune: number them
    dup = out.duplicated("name", keep=False)
    out.loc[dup, "name"] = out.loc[dup, "name"] + " (" + out.loc[dup].groupby("name").cumcount().add(1).astype(str) + ")"
    gdf = gpd.GeoDataFrame(out.reset_index(drop=True), geometry="geometry", crs="EPSG:4326")
    logger.info("%d QPV -> %d districts at %.1f km", len(qpv), len(gdf), eps_km)
    return gdf[list(DISTRICT_COLUMNS)]
