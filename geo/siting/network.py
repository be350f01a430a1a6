"""The current network placed on an instance: what it already covers and where its teams are.

A site that names its quartiers (``qpv_codes``, e.g. Grigny 2 and La Grande Borne) is credited with
those QPV only. Otherwise a site with an INSEE code is its commune (or arrondissement): its catchment is the candidate's, or for
a commune without QPV the QPV within the radius of its centroid. A partner given by an EPCI SIREN (an
essaimage such as l'Établi in the CA de la Porte du Hainaut) covers the QPV of its own EPCI only
(``epci_reach="epci"``, the default), or also the QPV within the radius of its communes across the EPCI
border (``epci_reach="radius"``); its communes hosting a QPV are part of the network and are never
recommended again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from geo.siting.catchment import epsg_for_departements, project
from geo.siting.instance import Instance, coverage_of_points
from geo.siting.params import DEFAULT_EPCI_REACH, EPCI_REACHES, PLM_COMMUNES
from geo.siting.sites import SitesError, validate_sites

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Network:
    """Current sites resolved on an instance.

    Attributes
    ----------
    sites : pandas.DataFrame
        The validated sites with ``insee_reg``, ``region``, ``population_reached`` (alone),
        ``qpv_reached``, ``lon``, ``lat`` (first point).
    covered : numpy.ndarray of bool
        QPV within reach of at least one current site.
    excluded : numpy.ndarray of bool
        Candidates that are already part of the network.
    points_xy, points_epsg : numpy.ndarray
        Projected team locations (one or more per site) for distances and spacing.
    point_site : numpy.ndarray of int
        Site row of each point.
    site_covered : numpy.ndarray of bool, shape (n_sites, n_qpv)
        QPV within reach of each site alone.
    """

    sites: pd.DataFrame
    covered: np.ndarray
    excluded: np.ndarray
    points_xy: np.ndarray
    points_epsg: np.ndarray
    point_site: np.ndarray
    site_covered: np.ndarray | None = None

    def region_counts(self) -> dict[str, int]:
        """Number of current sites per région code."""
        return self.sites["insee_reg"].value_counts().to_dict() if len(self.sites) else {}


def empty_network(instance: Instance) -> Network:
    """A network with no site (everything left to choose)."""
    return Network(
        sites=pd.DataFrame(columns=["code", "name", "opening_year", "kind", "source", "qpv_codes", "code_type", "insee_reg",
                                    "region", "population_reached", "qpv_reached", "lon", "lat"]),
        covered=np.zeros(instance.n_qpv, dtype=bool), excluded=np.zeros(instance.n_candidates, dtype=bool),
        points_xy=np.zeros((0, 2)), points_epsg=np.zeros(0, dtype=np.int64), point_site=np.zeros(0, dtype=np.int64),
        site_covered=np.zeros((0, instance.n_qpv), dtype=bool),
    )


def _refuse_plm(code: str, s: int) -> None:
    """Paris, Lyon and Marseille are given by arrondissement: refuse their commune code."""
    if code in PLM_COMMUNES:
        raise SitesError(
            f"sites: row {s + 1}, column code: {code} is the whole commune of {PLM_COMMUNES[code]}; "
            "expected the INSEE code of an arrondissement municipal (e.g. 75119 for Paris 19e)",
            msgid="sites.error.plm", fields={"row": s + 1, "value": code, "commune": PLM_COMMUNES[code]},
        )


def _place_commune(instance: Instance, p: pd.Series, code: str, cov: np.ndarray, q_communes: pd.Series,
                   home_m: float) -> tuple[np.ndarray, np.ndarray]:
    """Reach of a site at a commune that is not a candidate: the radius around it and its own QPV up to
    the home radius (``cov`` is updated in place); returns its projected point and CRS."""
    epsg = epsg_for_departements([p["insee_dep"]])
    xy = project(np.array([p["lon"]], dtype=float), np.array([p["lat"]], dtype=float), epsg)
    cov |= np.asarray(coverage_of_points(instance, [p["lon"]], [p["lat"]], [p["insee_dep"]]).todense()).ravel()
    own = q_communes.map(lambda cs: code in cs).to_numpy(dtype=bool)
    d = np.hypot(instance.qpv_xy[:, 0] - xy[0, 0], instance.qpv_xy[:, 1] - xy[0, 1])
    cov |= own & (instance.qpv_epsg == epsg[0]) & (d <= home_m)
    return xy, epsg


def _epci_rows(level: str, code: str, code_pos: dict[str, int], cand_epci: np.ndarray) -> np.ndarray:
    """Candidate rows of a partner given by an EPCI SIREN (the EPCI itself, or its communes hosting a QPV)."""
    if level == "epci":
        return np.array([code_pos[code]]) if code in code_pos else np.zeros(0, dtype=np.int64)
    return np.flatnonzero(cand_epci == code)


def _epci_points(places: pd.DataFrame, code: str, s: int, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Projected points of an EPCI's communes (a partner whose EPCI hosts no candidate)."""
    members = places[places["siren_epci"] == code]
    if members.empty:
        raise SitesError(f"sites: row {s + 1}, column code: expected the SIREN of an EPCI, got unknown "
                         f"{code!r} ({name})", msgid="sites.error.epci", fields={"row": s + 1, "value": code})
    epsg = epsg_for_departements(members["insee_dep"])
    return project(members["lon"].to_numpy(float), members["lat"].to_numpy(float), epsg), epsg


def _named_quartiers(instance: Instance, qpv_codes: str, s: int, name: str) -> np.ndarray:
    """Mask of the QPV a site names in its ``qpv_codes`` column (it is credited with those only)."""
    pos = {c: j for j, c in enumerate(instance.qpv["code_qp"])}
    codes = [c for c in qpv_codes.split(";") if c]
    unknown = [c for c in codes if c not in pos]
    if unknown:
        raise SitesError(f"sites: row {s + 1}, column qpv_codes: expected QPV codes of the instance's scope, got "
                         f"unknown {unknown} ({name})", msgid="sites.error.qpv_unknown",
                         fields={"row": s + 1, "value": ", ".join(unknown)})
    mask = np.zeros(instance.n_qpv, dtype=bool)
    mask[[pos[c] for c in codes]] = True
    return mask


def resolve_network(instance: Instance, sites: pd.DataFrame | None, *, epci_reach: str = DEFAULT_EPCI_REACH) -> Network:
    """Place the current sites on the instance.

    Parameters
    ----------
    instance : Instance
    sites : pandas.DataFrame or None
        Sites (see :func:`geo.siting.sites.validate_sites`; validated again here). ``None`` or an
        empty frame means no current site.
    epci_reach : {"epci", "radius"}
        What a site given by an EPCI SIREN reaches: the QPV of its EPCI only (default,
        :data:`~geo.siting.params.DEFAULT_EPCI_REACH`), or also the catchments (radius) of its
        communes across the EPCI border.

    Returns
    -------
    Network

    Raises
    ------
    SitesError
        When a code is not a known commune, arrondissement or EPCI, or is Paris/Lyon/Marseille's
        commune code (give the arrondissement).
    ValueError
        On a bad ``epci_reach``.
    """
    if epci_reach not in EPCI_REACHES:
        raise ValueError(f"epci_reach: expected one of {list(EPCI_REACHES)}, got {epci_reach!r}")
    if sites is None or (isinstance(sites, pd.DataFrame) and sites.empty):
        return empty_network(instance)
    sites = validate_sites(sites)
    cand = instance.candidates
    code_pos = {c: i for i, c in enumerate(cand["insee_code"])}
    level = instance.params["level"]
    places = instance.places
    n_q = instance.n_qpv
    site_cov = np.zeros((len(sites), n_q), dtype=bool)
    excluded = np.zeros(instance.n_candidates, dtype=bool)
    pts_xy, pts_epsg, pts_site = [], [], []
    extra = []
    q_epci = instance.qpv["siren_epci"].to_numpy(object)
    cand_epci = cand["siren_epci"].to_numpy(object)
    q_communes = instance.qpv["insee_com"].str.split(";")
    home_m = float(instance.params.get("home_radius_km", np.inf)) * 1000.0

    for s, row in enumerate(sites.itertuples(index=False)):
        code = row.code
        rows: np.ndarray
        cov = site_cov[s]
        if row.code_type == "insee":
            _refuse_plm(code, s)
            if level == "commune" and code in code_pos:
                rows = np.array([code_pos[code]])
            elif code in places.index:
                p = places.loc[code]
                if level == "epci" and p["siren_epci"] in code_pos:
                    excluded[code_pos[p["siren_epci"]]] = True
                xy, epsg = _place_commune(instance, p, code, cov, q_communes, home_m)
                rows = np.zeros(0, dtype=np.int64)
                pts_xy.append(xy)
                pts_epsg.append(epsg)
                pts_site.append(np.array([s]))
            else:
                raise SitesError(f"sites: row {s + 1}, column code: expected an INSEE code of a current commune or "
                                 f"arrondissement, got unknown {code!r} ({row.name})",
                                 msgid="sites.error.commune", fields={"row": s + 1, "value": code})
        else:
            rows = _epci_rows(level, code, code_pos, cand_epci)
            cov |= q_epci == code
            if not len(rows):
                xy, epsg = _epci_points(places, code, s, row.name)
                pts_xy.append(xy)
                pts_epsg.append(epsg)
                pts_site.append(np.full(len(xy), s))
        if len(rows):
            excluded[rows] = True
            if row.code_type == "insee" or epci_reach == "radius":
                cov |= np.asarray(instance.coverage[rows].sum(axis=0)).ravel() > 0
            pts_xy.append(instance.cand_xy[rows])
            pts_epsg.append(instance.cand_epsg[rows])
            pts_site.append(np.full(len(rows), s))
            ref = cand.iloc[rows[0]]
            reg, reg_name, lon, lat = ref["insee_reg"], ref["region"], ref["lon"], ref["lat"]
        else:
            p = places.loc[code] if code in places.index else places[places["siren_epci"] == code].iloc[0]
            reg, reg_name, lon, lat = p["insee_reg"], p["lib_reg"], p["lon"], p["lat"]
        if row.qpv_codes:
            cov[:] = _named_quartiers(instance, row.qpv_codes, s, row.name)
        extra.append({"insee_reg": str(reg), "region": str(reg_name),
                      "population_reached": float(instance.population[cov].sum()),
                      "qpv_reached": int(cov.sum()), "lon": float(lon), "lat": float(lat)})
    covered = site_cov.any(axis=0)
    out = pd.concat([sites.reset_index(drop=True), pd.DataFrame(extra)], axis=1)
    logger.info("network: %d sites reach %d QPV", len(out), int(covered.sum()))
    return Network(
        sites=out, covered=covered, excluded=excluded,
        points_xy=np.concatenate(pts_xy) if pts_xy else np.zeros((0, 2)),
        points_epsg=np.concatenate(pts_epsg) if pts_epsg else np.zeros(0, dtype=np.int64),
        point_site=np.concatenate(pts_site) if pts_site else np.zeros(0, dtype=np.int64),
        site_covered=site_cov,
    )
