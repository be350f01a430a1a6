"""The app's data layer: what pages read, built once per data version and shared by their callbacks.

* :func:`current_data` — the prepared door visits of the store (page Terrain);
* :func:`current_report` — the protected funders' report (page Impact);
* :func:`territory` — France's land, to reject points abroad on import;
* :func:`qpv`, :func:`place_index` — the QPV layer and the search index (page Stratégie);
* :func:`site_names` — one display name per site of the store;
* :func:`store_version` — the version of the store that keys the caches above.

:class:`VersionedCache` is a small helper of ours: entries are keyed by a *version* (store contents, data
folder) and a key, stale versions are dropped as soon as a new one appears, and the build runs under the
cache's lock so that concurrent callbacks build a heavy object once. ``functools.lru_cache`` keeps stale
versions until they age out and may build the same object twice; no installed library does both.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from functools import lru_cache
from typing import Any, Generic, NamedTuple, TypeVar

import pandas as pd

from app import cache, settings
from geo.coverage import aggregate
from geo.export import report as rpt

logger = logging.getLogger(__name__)

T = TypeVar("T")


class VersionedCache(Generic[T]):
    """Objects built once per (version, key), the entries of older versions dropped.

    Parameters
    ----------
    name : str
        Name for the logs.
    maxsize : int
        Entries kept for the current version (the least recently used go first).
    """

    def __init__(self, name: str, *, maxsize: int = 1) -> None:
        if maxsize < 1:
            raise ValueError(f"maxsize: expected a positive number of entries, got {maxsize!r}")
        self.name = name
        self.maxsize = maxsize
        self._lock = threading.Lock()
        self._version: Hashable = None
        self._entries: OrderedDict[Hashable, T] = OrderedDict()

    def get(self, version: Hashable, build: Callable[[], T], *, key: Hashable = None) -> T:
        """The entry of ``(version, key)``, built with ``build()`` when absent."""
        with self._lock:
            if version != self._version:
                self._entries.clear()
                self._version = version
            if key in self._entries:
                self._entries.move_to_end(key)
                return self._entries[key]
            logger.debug("cache %s: building %r for version %r", self.name, key, version)
            value = build()
            self._entries[key] = value
            while len(self._entries) > self.maxsize:
                self._entries.popitem(last=False)
            return value

    def clear(self) -> None:
        """Drop every entry."""
        with self._lock:
            self._entries.clear()
            self._version = None


# ------------------------------------------------------------------------------------------ store
def store_version(url: str) -> tuple[int, int]:
    """:func:`geo.coverage.store.data_version` of the store at ``url``, read through the engine the
    process keeps for it (:func:`app.cache.door_store_version`): one query, no new connection."""
    return cache.door_store_version(url)


def store_sites(url: str) -> list[str]:
    """Codes of the sites that have visits in the store at ``url``."""
    from geo.coverage.store import open_store, stats

    engine = open_store(url)
    try:
        return sorted({str(code) for code in stats(engine)["site"]})
    finally:
        engine.dispose()


# -------------------------------------------------------------------------------------- processed data
def qpv() -> Any:
    """The QPV layer of the app's data folder (a GeoDataFrame, cached by :mod:`geo.load`)."""
    from geo.load import load_qpv

    return load_qpv(data_dir=settings.data_dir())


@lru_cache(maxsize=4)
def _place_index(folder: str, version: int) -> pd.DataFrame:
    from geo import places
    from geo.load import load_arrondissements, load_communes, load_qpv

    aliases = {}
    if settings.SITES_FILE.exists():  # the association's quartier names (« Lille-Sud »), searchable
        aliases = places.site_aliases(pd.read_csv(settings.SITES_FILE, dtype=str, keep_default_na=False))
    return places.place_index(load_qpv(data_dir=folder), load_communes(data_dir=folder),
                              load_arrondissements(data_dir=folder), aliases=aliases)


def place_index() -> pd.DataFrame:
    """The search index of communes and QPV (:func:`geo.places.place_index`), cached per data version."""
    from geo import schema

    folder = settings.data_path()
    return _place_index(str(folder), (folder / schema.LAYERS["qpv"]).stat().st_mtime_ns)


_TERRITORY: VersionedCache[Any] = VersionedCache("territory")


def territory() -> Any:
    """France's land from the départements layer, built once per data folder (rejects points abroad)."""
    from geo.coverage.territory import france_territory
    from geo.load import load_departements

    folder = settings.data_dir()
    return _TERRITORY.get(str(folder), lambda: france_territory(load_departements(data_dir=folder)))


def site_names(codes: Iterable[str] | None = None) -> dict[str, str]:
    """Display name of each site: its name in ``data/sites.csv``, else the name of its commune,
    arrondissement or EPCI in the processed data, else its code.

    Parameters
    ----------
    codes : iterable of str, optional
        Site codes (INSEE commune code or EPCI SIREN); default: the sites of the store.
    """
    from app.scenario import default_sites
    from geo.load import load_arrondissements, load_communes

    codes = [str(c) for c in (store_sites(settings.store_url()) if codes is None else codes)]
    shipped = default_sites()
    names = {c: n for c, n in zip(shipped["code"].astype(str), shipped["name"].astype(str), strict=True)
             if c in codes}
    missing = [c for c in codes if c not in names]
    if missing:
        folder = settings.data_dir()
        places = rpt.site_places(missing, communes=load_communes(data_dir=folder),
                                 arrondissements=load_arrondissements(data_dir=folder))
        names.update(zip(places["site"], places["site_name"], strict=True))
    return names


# ------------------------------------------------------------------------------------ door visits
class TerrainData(NamedTuple):
    """Prepared visits of the store and the QPV attributes they are measured against."""

    prep: aggregate.PreparedEvents
    qpv: Any  # GeoDataFrame of the national QPV layer
    names: dict[str, str]


_VISITS: VersionedCache[TerrainData | None] = VersionedCache("visits")


def _prepare(url: str, version: tuple[int, int], qpv_frame: Any) -> TerrainData | None:
    from geo.coverage.prepared import prepared_events

    # memory-mapped arrays written once per store version (geo.coverage.prepared.prepare_for_app, at import
    # and warm-up): every worker maps the same pages
    prep = prepared_events(url, version, folder=settings.data_path() / "prepared", qpv=qpv_frame)
    if not prep.n_events:
        return None
    return TerrainData(prep=prep, qpv=qpv_frame, names=site_names(prep.sites))


def current_data() -> TerrainData | None:
    """Prepared visits of the app's store (:func:`geo.coverage.prepared.prepared_events`: read-only arrays
    shared by the workers, prepared again when visits change), or None when there are none."""
    url = settings.store_url()
    qpv_frame = qpv()
    doors = store_version(url)
    version = (url, str(settings.data_dir()), doors, id(qpv_frame))
    return _VISITS.get(version, lambda: _prepare(url, doors, qpv_frame))


# ---------------------------------------------------------------------------------------- impact
_REPORTS: VersionedCache[rpt.ImpactReport] = VersionedCache("impact reports", maxsize=32)


def reach_share(folder: str | None) -> pd.DataFrame | None:
    """:func:`geo.export.report.reach_table` of the current network (the siting instance of the app's
    cache), or None when it cannot be computed (the share is one figure among others)."""
    try:
        from app import scenario
        from geo import siting

        inst = scenario.instance(radius_km=siting.DEFAULT_RADIUS_KM, weights=None, data_dir=folder)
        network = siting.resolve_network(inst, scenario.default_sites())
        return rpt.reach_table(inst.qpv, network.covered)
    except Exception:  # noqa: BLE001 - the share is one figure among others
        logger.exception("reach share unavailable")
        return None


def current_report(*, scope: tuple[str, ...] | None) -> rpt.ImpactReport:
    """The protected report of the store for the sites of ``scope`` (None: all), rebuilt when visits
    change, with the reach of the network.

    Parameters
    ----------
    scope : tuple of str or None
        Sites whose visits the report covers (a manager's own sites), None for every site.
    """
    url = settings.store_url()
    folder = settings.data_dir()

    sites = None if scope is None else list(scope)

    def build() -> rpt.ImpactReport:
        # shared by the workers, keyed on the role's scope too: no report crosses from one scope to another
        return cache.cached_call("impact.report", _build_report, (url, str(folder), sites), scoped=True,
                                 by_lang=False)

    return _REPORTS.get((url, folder, store_version(url)), build, key=scope)


def _build_report(url: str, folder: str, sites: list[str] | None) -> rpt.ImpactReport:
    from geo.export import loaders

    scope = None if sites is None else tuple(sites)
    report = loaders.impact_report(db=url, data_dir=folder, with_reach=False, only_sites=scope)
    return dataclasses.replace(report, reach=reach_share(folder))
