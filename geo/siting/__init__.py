"""Expansion engine: which cities and regions VoisinMalin should open next.

Pure functions over frames and arrays (no I/O except :func:`read_sites`). Typical use::

    from geo.load import load_qpv, load_communes, load_arrondissements
    from geo import siting

    inst = siting.build_instance(load_qpv(), load_communes(), load_arrondissements(), radius_km=3.0)
    sites = siting.read_sites("data/sites.csv")
    reco = siting.recommend(inst, sites, k=10)          # heuristic, tens of milliseconds
    reco.table        # ranked new sites with reasons (lang="fr" by default, or "en")
    reco.curve        # new sites -> share of QPV residents within reach (the table's sites first)
    reco.baseline_share, reco.share, reco.target_sites
    siting.brief_markdown(reco, lang="en")

``build_instance`` takes about 70 ms nationally (once per radius / EPCI option / weights): cache it, then
call ``recommend`` interactively. Every assumption is a named parameter in :mod:`geo.siting.params`.
"""

from geo.siting.capacity import CapacityProjection, capacity_projection
from geo.siting.demand import INDICATORS, need_score, parse_weights
from geo.siting.districts import DEFAULT_DISTRICT_EPS_KM, districts
from geo.siting.explain import LANGS, brief_markdown, method_label, site_reason, target_method_label
from geo.siting.instance import Instance, build_instance
from geo.siting.network import Network, resolve_network
from geo.siting.params import (
    DEFAULT_BUILD_YEARS,
    DEFAULT_EPCI_REACH,
    DEFAULT_HOME_RADIUS_KM,
    DEFAULT_HOUSEHOLDS_PER_SITE_YEAR,
    DEFAULT_NEED_STRENGTH,
    DEFAULT_RADIUS_KM,
    DEFAULT_SCOPE,
    DEFAULT_TARGET,
    DEFAULT_WEIGHTS,
    MAIN_URBAN_REGIONS,
)
from geo.siting.quotas import Quotas
from geo.siting.recommendation import TABLE_COLUMNS, Recommendation, recommend
from geo.siting.sites import SitesError, read_sites, validate_sites
from geo.siting.solver import InfeasibleError, SolverTimeoutError

__all__ = [
    "DEFAULT_BUILD_YEARS",
    "DEFAULT_DISTRICT_EPS_KM",
    "DEFAULT_EPCI_REACH",
    "DEFAULT_HOME_RADIUS_KM",
    "DEFAULT_HOUSEHOLDS_PER_SITE_YEAR",
    "DEFAULT_NEED_STRENGTH",
    "DEFAULT_RADIUS_KM",
    "DEFAULT_SCOPE",
    "DEFAULT_TARGET",
    "DEFAULT_WEIGHTS",
    "INDICATORS",
    "LANGS",
    "MAIN_URBAN_REGIONS",
    "TABLE_COLUMNS",
    "CapacityProjection",
    "InfeasibleError",
    "Instance",
    "Network",
    "Quotas",
    "Recommendation",
    "SitesError",
    "SolverTimeoutError",
    "brief_markdown",
    "build_instance",
    "capacity_projection",
    "districts",
    "method_label",
    "need_score",
    "parse_weights",
    "read_sites",
    "recommend",
    "resolve_network",
    "site_reason",
    "target_method_label",
    "validate_sites",
]
