"""The app's side of the expansion engine: cached instances, the shipped sites, uploaded sites files.

:func:`geo.siting.build_instance` is the slow part (about 0.1 s nationally) and depends only on the data,
the radius and the need weights: it is cached here per (data version, radius, weights), so the page's
callback only pays :func:`geo.siting.recommend` (tens of milliseconds).
"""

from __future__ import annotations

import base64
import binascii
import io
import logging
import os
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import pandas as pd

from app import cache, settings
from geo import config, siting
from geo.load import load_arrondissements, load_communes, load_qpv

logger = logging.getLogger(__name__)

#: Largest sites file accepted from the browser.
MAX_UPLOAD_BYTES = 1_000_000
UPLOAD_SUFFIXES = (".csv", ".txt")


def _version(folder: str) -> tuple[int, ...]:
    from geo import schema

    return tuple((config.data_dir(folder) / schema.LAYERS[n]).stat().st_mtime_ns
                 for n in ("qpv", "communes", "arrondissements"))


def _build_instance(folder: str, radius_km: float,
                    weights: tuple[tuple[str, float], ...] | None) -> siting.Instance:
    logger.info("building siting instance: radius %.1f km, weights %s", radius_km, weights)
    return siting.build_instance(
        load_qpv(data_dir=folder), load_communes(data_dir=folder), load_arrondissements(data_dir=folder),
        radius_km=radius_km, weights=dict(weights) if weights is not None else None,
    )


@lru_cache(maxsize=12)
def _instance(folder: str, version: tuple[int, ...], radius_km: float,
              weights: tuple[tuple[str, float], ...] | None) -> siting.Instance:
    # one copy per process, read from the shared cache when another worker (or a previous run) built it
    return cache.cached_call("strategie.instance", _build_instance, (folder, radius_km, weights), by_lang=False,
                             doors=False)


def instance(*, radius_km: float, weights: Mapping[str, float] | None,
             data_dir: str | os.PathLike[str] | None = None) -> siting.Instance:
    """The siting instance for a radius and need weights (built once, then cached).

    Parameters
    ----------
    radius_km : float
        Travel radius of a site, km.
    weights : mapping or None
        Need weights (:data:`geo.siting.INDICATORS`); None: demand is the plain population.
    data_dir : path-like, optional
        Processed data folder.
    """
    folder = str(config.data_dir(data_dir))
    key = None if weights is None else tuple(sorted((k, round(float(v), 6)) for k, v in weights.items()))
    return _instance(folder, _version(folder), round(float(radius_km), 3), key)


@lru_cache(maxsize=4)
def _default_sites(path: str, mtime_ns: int) -> pd.DataFrame:
    return siting.read_sites(path)


def default_sites() -> pd.DataFrame:
    """The current sites shipped in ``data/sites.csv`` (empty frame when the file is absent)."""
    if not settings.SITES_FILE.exists():
        logger.warning("no %s: the current network is empty", settings.SITES_FILE)
        return pd.DataFrame(columns=list(siting.sites.SITE_COLUMNS))
    return _default_sites(str(settings.SITES_FILE), settings.SITES_FILE.stat().st_mtime_ns).copy()


def parse_sites_upload(contents: str, filename: str) -> pd.DataFrame:
    """Read a sites file uploaded from the browser (``dcc.Upload`` contents) and validate it.

    Parameters
    ----------
    contents : str
        A data URL (``data:<type>;base64,<data>``).
    filename : str
        The user's file name (its extension must be .csv or .txt).

    Returns
    -------
    pandas.DataFrame
        Validated sites (:func:`geo.siting.validate_sites`).

    Raises
    ------
    geo.siting.SitesError
        With a message for the user: wrong type, too large, undecodable, or a row that does not validate.
    """
    name = (filename or "").lower()
    if not name.endswith(UPLOAD_SUFFIXES):
        raise siting.SitesError("file: expected a .csv file", msgid="sites.error.file_type")
    try:
        _, b64 = contents.split(",", 1)
        raw = base64.b64decode(b64, validate=True)
    except (ValueError, binascii.Error) as exc:
        raise siting.SitesError("file: expected a base64 data URL from the browser, could not decode the upload",
                                msgid="sites.error.file_decode") from exc
    if len(raw) > MAX_UPLOAD_BYTES:
        raise siting.SitesError(f"file: expected at most {MAX_UPLOAD_BYTES // 1000} kB, got {len(raw) // 1000} kB",
                                msgid="sites.error.file_size", fields={"max": MAX_UPLOAD_BYTES // 1000, "size": len(raw) // 1000})
    if b"\x00" in raw[:4096]:
        raise siting.SitesError("file: expected a text CSV file, got binary content",
                                msgid="sites.error.file_binary")
    for encoding in ("utf-8-sig", "latin-1"):
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    try:
        frame = pd.read_csv(io.StringIO(text), dtype=str, sep=None, engine="python", keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
        raise siting.SitesError(f"file: expected a CSV table (comma or semicolon separated), could not read it: {exc}",
                                msgid="sites.error.file_csv") from exc
    return siting.validate_sites(frame)


def sites_from_records(records: list[dict[str, Any]] | None) -> pd.DataFrame:
    """Sites kept in the browser (records of a validated frame), or the shipped ones when None."""
    if records is None:
        return default_sites()
    return siting.validate_sites(pd.DataFrame.from_records(records))


def weights_from_controls(values: Mapping[str, float | None]) -> dict[str, float] | None:
    """Need weights from the sliders: all zero means no need weighting (demand = population)."""
    clean = {k: float(v or 0.0) for k, v in values.items()}
    return None if sum(clean.values()) <= 0 else clean


def quota_specs(*, main6: bool, max_per_region: int | None, extra: str | None) -> list[str]:
    """``REG=MIN:MAX`` strings of :meth:`geo.siting.Quotas.parse` from the page's quota controls."""
    specs = []
    if main6:
        specs.append("main6=1")
    if max_per_region is not None and max_per_region != "":
        specs.append(f"*=:{int(max_per_region)}")
    for part in (extra or "").replace(";", ",").split(","):
        if part.strip():
            specs.append(part.strip())
    return specs


def run(*, k: int, radius_km: float, target: float, weights: Mapping[str, float] | None,
        quotas: list[str], sites: pd.DataFrame, data_dir: str | os.PathLike[str] | None = None,
        lang: str = "fr") -> siting.Recommendation:
    """One recommendation with the page's settings (instance from the cache), explained in ``lang``."""
    inst = instance(radius_km=radius_km, weights=weights, data_dir=data_dir)
    return siting.recommend(inst, sites, k=int(k), target=float(target), quotas=quotas or None, lang=lang)


# ------------------------------------------------------------------------------- the capacitated plan

#: The page runs the plan with the heuristic (greedy + swaps, with its certified gap): 0.1–0.5 s
#: nationally whatever k, where the exact MILP takes 0.4–3.5 s; the CLI keeps the exact default. With
#: quotas the page uses the exact MILP (0.2 s nationally), which honours every minimum or says it cannot.
APP_METHOD = "heuristic"
QUOTA_METHOD = "exact"


def sites_key(records: list[dict[str, Any]] | None) -> tuple[tuple[tuple[str, str], ...], ...] | None:
    """A hashable form of the browser's sites records (None: the shipped sites)."""
    if records is None:
        return None
    return tuple(tuple(sorted((str(k), str(v)) for k, v in r.items())) for r in records)


@lru_cache(maxsize=4)
def _commune_lookup(folder: str, version: tuple[int, ...]) -> tuple[dict[str, str], dict[str, float]]:
    communes = load_communes(data_dir=folder)
    arr = load_arrondissements(data_dir=folder)
    names = dict(zip(communes["insee_com"].astype(str), communes["name"].astype(str), strict=True))
    names.update(zip(arr["insee_com"].astype(str), arr["name"].astype(str), strict=True))
    population = dict(zip(communes["insee_com"].astype(str), communes["population"].astype(float), strict=True))
    return names, population


@lru_cache(maxsize=8)
def _regions(folder: str, version: tuple[int, ...], radius_km: float,
             weights: tuple[tuple[str, float], ...] | None) -> Any:
    from geo.siting.regions import urban_regions

    inst = _instance(folder, version, radius_km, weights)
    names, population = _commune_lookup(folder, version)
    return urban_regions(inst.qpv, inst.qpv_xy, inst.qpv_epsg, inst.coverage, commune_names=names,
                         commune_population=population)


def _weights_key(weights: Mapping[str, float] | None) -> tuple[tuple[str, float], ...] | None:
    return None if weights is None else tuple(sorted((k, round(float(v), 6)) for k, v in weights.items()))


def _build_plan(folder: str, scen: Any, sites: Any) -> Any:
    from geo.siting.plan import plan

    version = _version(folder)

    weights = _weights_key(scen.weight_map())
    radius = round(float(scen.radius_km), 3)
    inst = _instance(folder, version, radius, weights)
    frame = default_sites() if sites is None else siting.validate_sites(pd.DataFrame.from_records([dict(r) for r in sites]))
    quotas = siting.Quotas.parse(scen.quota_specs()) if scen.quota_specs() else None
    return plan(inst, frame, capacity=float(scen.capacity), k=scen.k if scen.mode == "k" else None,
                max_regions=scen.regions, max_cities=scen.cities, method=QUOTA_METHOD if quotas else APP_METHOD,
                quotas=quotas, regions=_regions(folder, version, radius, weights), target=scen.target_pct / 100,
                pace=scen.pace, time_limit_s=20.0)


@lru_cache(maxsize=64)
def _plan(folder: str, version: tuple[int, ...], scen: Any, sites: Any) -> Any:  # noqa: ARG001 - version keys the process cache
    # plans depend only on (data version, scenario, sites): shared by every worker, kept across restarts
    return cache.cached_call("strategie.plan", _build_plan, (folder, scen, sites), by_lang=False, doors=False)


def plan_for(scen: Any, *, sites: list[dict[str, Any]] | None = None,
             data_dir: str | os.PathLike[str] | None = None) -> Any:
    """The two-level capacitated plan of a page scenario (cached per data version, scenario and sites).

    Parameters
    ----------
    scen : app.scenario_params.Scenario
        The page's controls.
    sites : list of dict, optional
        Validated sites records kept in the browser (None: the shipped ``data/sites.csv``).
    data_dir : path-like, optional
        Processed data folder.

    Returns
    -------
    geo.siting.plan.Plan

    Raises
    ------
    geo.siting.SitesError, geo.siting.InfeasibleError, ValueError
        From the engine (messages with a ``msgid`` render through :func:`geo.i18n.error_text`).
    """
    folder = str(config.data_dir(data_dir))
    return _plan(folder, _version(folder), scen, sites_key(sites))


def check_sites(frame: pd.DataFrame, *, data_dir: str | os.PathLike[str] | None = None) -> None:
    """Resolve an uploaded network against the data (e.g. 75056 is refused: Paris goes by arrondissement).

    Raises
    ------
    geo.siting.SitesError
        Naming the row and column of the first site the data cannot place.
    """
    from geo.siting.network import resolve_network

    inst = instance(radius_km=siting.DEFAULT_RADIUS_KM, weights=siting.DEFAULT_WEIGHTS, data_dir=data_dir)
    resolve_network(inst, frame)


@cache.memoize("strategie.robustness", by_lang=False)
def _build_robustness(folder: str, scen: Any, sites: Any) -> Any:
    from geo.siting.network import resolve_network
    from geo.siting.robustness import plan_choice, robustness

    version = _version(folder)
    frame = default_sites() if sites is None else siting.validate_sites(pd.DataFrame.from_records([dict(r) for r in sites]))
    networks: dict[int, Any] = {}  # the network resolved once per instance, not once per grid point

    def instance_for(radius_km: float, weights: str) -> siting.Instance:
        key = _weights_key(siting.DEFAULT_WEIGHTS) if weights == "default" else None
        return _instance(folder, version, round(float(radius_km), 3), key)

    def run(inst: siting.Instance, *, capacity: float, weighted: bool) -> Any:
        regions = _regions(folder, version, round(float(inst.radius_km), 3), _weights_key(siting.DEFAULT_WEIGHTS))
        if id(inst) not in networks:
            networks[id(inst)] = resolve_network(inst, frame)
        return plan_choice(inst, networks[id(inst)], regions=regions, capacity=capacity, weighted=weighted,
                           k=scen.k if scen.mode == "k" else None, max_cities=scen.cities, max_regions=scen.regions,
                           method=APP_METHOD)

    return robustness(instance_for, run, capacity=float(scen.capacity))


@lru_cache(maxsize=8)
def _robustness(folder: str, version: tuple[int, ...], scen: Any, sites: Any) -> Any:  # noqa: ARG001 - version keys the process cache
    # shared by every worker per (data version, scenario, sites): the page computes it after each change
    return _build_robustness(folder, scen, sites)


def robustness_for(scen: Any, *, sites: list[dict[str, Any]] | None = None,
                   data_dir: str | os.PathLike[str] | None = None) -> Any:
    """Robustness of a scenario's plan over the documented 18-scenario grid (about 1 s, then cached).

    Returns
    -------
    geo.siting.robustness.Robustness
    """
    folder = str(config.data_dir(data_dir))
    return _robustness(folder, _version(folder), scen, sites_key(sites))


def region_qpv_codes(scen: Any, name: str, *, data_dir: str | os.PathLike[str] | None = None) -> list[str]:
    """QPV codes of the urban region called ``name`` under a scenario's radius (empty when unknown)."""
    folder = str(config.data_dir(data_dir))
    version = _version(folder)
    weights = _weights_key(scen.weight_map())
    radius = round(float(scen.radius_km), 3)
    regions = _regions(folder, version, radius, weights)
    names = regions.names()
    if name not in names:
        return []
    inst = _instance(folder, version, radius, weights)
    idx = names.index(name)
    return inst.qpv["code_qp"].astype(str)[regions.qpv_region == idx].tolist()
