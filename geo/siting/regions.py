"""Urban regions: groups of QPV that form one metropolitan area, for the "which regions" question.

The reference is INSEE's *aires d'attraction des villes 2020* (AAV, commune → aire; URL registered in
:data:`geo.sources.OPTIONAL_SOURCES`). The offline mirror does not hold it, so the model uses a
documented proxy computed from the QPV themselves: single-linkage clusters of QPV representative points
at :data:`DEFAULT_REGION_LINK_KM` (DBSCAN with ``min_samples=1``, scikit-learn, in the zone's metric CRS).
At 8 km the Paris cluster holds the QPV of Paris and of the seven other Île-de-France départements
(Seine-Saint-Denis, Val-d'Oise, Essonne…), Roubaix and Tourcoing join Lille, Vaulx-en-Velin and
Vénissieux join Lyon; at 6 km Lille and Roubaix-Tourcoing split apart. Known difference with the AAV:
Lille's cluster also holds the QPV of the mining basin (Lens, Douai, Valenciennes), which the AAV
separate. Each region is named after its most populous commune hosting a QPV (its main city).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse

logger = logging.getLogger(__name__)

#: Linkage distance of the offline urban-region proxy (km): two QPV closer than this belong to the
#: same region, and so do chains of them. 8 km is the smallest value that keeps Lille and
#: Roubaix-Tourcoing together (see the module docstring); assumption.
DEFAULT_REGION_LINK_KM: float = 8.0

#: Columns of :attr:`UrbanRegions.table`.
REGION_COLUMNS: tuple[str, ...] = ("region_id", "name", "population", "n_qpv", "npnru_qpv")


@dataclass(frozen=True)
class UrbanRegions:
    """Urban region of each QPV and of each candidate.

    Attributes
    ----------
    qpv_region : numpy.ndarray of int
        Region index of each QPV of the instance.
    candidate_region : numpy.ndarray of int
        Region of each candidate: the region holding most of the residents it reaches (-1: none).
    table : pandas.DataFrame
        One row per region (:data:`REGION_COLUMNS`), index = region index.
    method : str
        How the regions were made (``"aav2020"`` or ``"qpv-linkage-8km"``).
    """

    qpv_region: np.ndarray
    candidate_region: np.ndarray
    table: pd.DataFrame
    method: str

    def names(self) -> list[str]:
        """Region names by index."""
        return self.table["name"].tolist()


def _main_commune(codes: pd.Series) -> pd.Series:
    return codes.astype(str).str.split(";").str[0]


def dominant_region(reach: sparse.csr_matrix, qpv_region: np.ndarray, population: np.ndarray) -> np.ndarray:
    """Region of each row of ``reach``: the one with most of the residents it reaches (-1 when none)."""
    out = np.full(reach.shape[0], -1, dtype=np.int64)
    n_reg = int(qpv_region.max()) + 1 if len(qpv_region) else 0
    coo = reach.tocoo()
    if not coo.nnz or not n_reg:
        return out
    w = population[coo.col] + 1e-6  # a reach of empty QPV still has a region
    mat = sparse.csr_matrix((w, (coo.row, qpv_region[coo.col])), shape=(reach.shape[0], n_reg)).toarray()
    has = mat.max(axis=1) > 0
    out[has] = mat[has].argmax(axis=1)
    return out


def urban_regions(qpv: pd.DataFrame, qpv_xy: np.ndarray, qpv_epsg: np.ndarray, coverage: sparse.csr_matrix, *,
                  link_km: float = DEFAULT_REGION_LINK_KM, commune_names: dict[str, str] | None = None,
                  commune_population: dict[str, float] | None = None) -> UrbanRegions:
    """The offline proxy of urban regions (see the module docstring).

    Parameters
    ----------
    qpv : pandas.DataFrame
        The instance's QPV (``code_qp``, ``insee_com``, ``population``, ``npnru``, ``lib_qp``).
    qpv_xy, qpv_epsg : numpy.ndarray
        Projected QPV points and their CRS (clusters never cross CRS).
    coverage : scipy.sparse.csr_matrix
        Candidates × QPV reach (a candidate's region is where most of its reach lies).
    link_km : float
        Single-linkage distance, km.
    commune_names : dict, optional
        INSEE code → name, to name the regions (default: the code).
    commune_population : dict, optional
        INSEE code → population: a region is named after its most populous commune hosting one of its
        QPV (default: the commune with most QPV residents in the region).

    Returns
    -------
    UrbanRegions
    """
    from sklearn.cluster import DBSCAN

    if isinstance(link_km, bool) or not isinstance(link_km, int | float) or not link_km > 0:
        raise ValueError(f"link_km: expected a positive number of km, got {link_km!r}")
    labels = np.full(len(qpv), -1, dtype=np.int64)
    nxt = 0
    for epsg in np.unique(qpv_epsg):
        idx = np.flatnonzero(qpv_epsg == epsg)
        lab = DBSCAN(eps=float(link_km) * 1000.0, min_samples=1).fit_predict(qpv_xy[idx])
        labels[idx] = lab + nxt
        nxt += int(lab.max()) + 1
    pop = pd.to_numeric(qpv["population"], errors="coerce").fillna(0.0).to_numpy(float)
    frame = pd.DataFrame({"lab": labels, "pop": pop, "commune": _main_commune(qpv["insee_com"]),
                          "npnru": qpv["npnru"].astype(bool).to_numpy() if "npnru" in qpv else False})
    agg = frame.groupby("lab").agg(population=("pop", "sum"), n_qpv=("pop", "size"), npnru_qpv=("npnru", "sum"))
    if commune_population:
        every = frame.assign(commune=qpv["insee_com"].astype(str).str.split(";").to_numpy()).explode("commune")
        every["pop"] = every["commune"].map(commune_population).fillna(0.0)
        by_commune = every.groupby(["lab", "commune"])["pop"].max().reset_index()
    else:
        by_commune = frame.groupby(["lab", "commune"])["pop"].sum().reset_index()
    by_commune = by_commune.sort_values(["lab", "pop", "commune"], ascending=[True, False, True])
    main = by_commune.drop_duplicates("lab").set_index("lab")["commune"]
    names = commune_names or {}
    # rank regions by residents: index 0 = the largest
    order = agg.sort_values(["population", "n_qpv"], ascending=False).index.to_numpy()
    remap = np.empty(nxt, dtype=np.int64)
    remap[order] = np.arange(len(order))
    table = pd.DataFrame({
        "region_id": np.arange(len(order)),
        "name": [names.get(main[o], main[o]) for o in order],
        "population": agg.loc[order, "population"].to_numpy(float),
        "n_qpv": agg.loc[order, "n_qpv"].to_numpy(int),
        "npnru_qpv": agg.loc[order, "npnru_qpv"].to_numpy(int),
    })
    qpv_region = remap[labels]
    cand_region = dominant_region(coverage, qpv_region, pop)
    logger.info("urban regions: %d (link %.1f km), largest %s", len(table), link_km, table["name"].iloc[0])
    return UrbanRegions(qpv_region, cand_region, table, f"qpv-linkage-{link_km:g}km")
