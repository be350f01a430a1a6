"""A seeded, realistic and entirely fictitious campaign history, inside the real QPV polygons of the sites.

Everything here is **données fictives** (fictitious data): campaign names carry that label, rows are stored
with ``demo = True``, and the page "Terrain" and exports say so. The generator only needs the QPV layer
(and the arrondissements layer for Paris); it is pure and deterministic for a given seed.

The model, per site: buildings are placed at random inside the site's QPV polygons, about one per 40 INSEE
households (capped), each with staircases, floors and doors; each campaign knocks on every door of a share
of the buildings, on weekday evenings and Saturday mornings, by pseudonymous Voisins; doors found
``absent`` or ``a_revoir`` are often revisited one to three weeks later; ``ne_pas_deranger`` doors are
never knocked again. Outcome shares follow typical door-to-door figures (about four doors in ten open).

>>> rows = generate_demo(load_qpv(), arrondissements=load_arrondissements())   # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely

from geo.coverage import schema

logger = logging.getLogger(__name__)

DEMO_LABEL = "données fictives"
#: Last day of the demo history.
DEMO_END = dt.date(2026, 10, 31)
DEFAULT_SEED = 2026


@dataclass(frozen=True)
class DemoCampaign:
    """One fictitious campaign: name, topics, first Monday, weeks, share of the site's buildings."""

    name: str
    topics: tuple[str, ...]
    start: dt.date
    weeks: int
    share: float


@dataclass(frozen=True)
class DemoSite:
    """One site of the demo: code (INSEE commune/arrondissement or EPCI SIREN), name, Voisin prefix."""

    code: str
    name: str
    kind: str
    prefix: str
    voisins: int
    languages: tuple[tuple[str, float], ...]
    campaigns: tuple[DemoCampaign, ...]
    max_qpv: int = 8


_IDF_LANG = (("français", 0.66), ("arabe", 0.1), ("soninké", 0.05), ("bambara", 0.04), ("tamoul", 0.02),
             ("portugais", 0.04), ("anglais", 0.04), ("turc", 0.03))
_PARIS_LANG = (("français", 0.62), ("arabe", 0.1), ("mandarin", 0.07), ("tamoul", 0.05), ("anglais", 0.03),
               ("soninké", 0.05), ("bengali", 0.03), ("wolof", 0.03))
_NORD_LANG = (("français", 0.8), ("arabe", 0.09), ("roumain", 0.04), ("anglais", 0.03), ("turc", 0.04))
_SUD_LANG = (("français", 0.72), ("arabe", 0.14), ("comorien", 0.04), ("turc", 0.03), ("anglais", 0.03),
             ("portugais", 0.04))


def _c(name: str, topics: tuple[str, ...], start: str, weeks: int, share: float) -> DemoCampaign:
    return DemoCampaign(f"{name} ({DEMO_LABEL})", topics, dt.date.fromisoformat(start), weeks, share)


#: The current sites, the same as ``data/sites.csv`` (the documented network and its public sources are in
#: that file: eleven cities, among them the essaimage with l'Établi since 2024). Campaigns are invented.
SITES: tuple[DemoSite, ...] = (
    DemoSite("91286", "Grigny", "site", "GRI", 14, _IDF_LANG, (
        _c("Eau et énergie 2024", ("eau", "énergie"), "2024-01-15", 10, 0.19),
        _c("Santé et dépistage 2025", ("santé", "dépistage"), "2025-03-03", 8, 0.17),
        _c("Rentrée scolaire 2025", ("école", "numérique"), "2025-09-08", 6, 0.14),
        _c("Précarité énergétique 2026", ("énergie", "logement"), "2026-01-12", 12, 0.22),
    )),
    DemoSite("91521", "Ris-Orangis", "site", "RIS", 10, _IDF_LANG, (
        _c("Eau et énergie 2024", ("eau", "énergie"), "2024-02-05", 8, 0.22),
        _c("Accès aux droits 2025", ("droits", "caf"), "2025-04-07", 8, 0.19),
        _c("Renouvellement urbain 2026", ("logement", "relogement"), "2026-03-02", 10, 0.22),
    )),
    DemoSite("75119", "Paris 19e", "site", "P19", 16, _PARIS_LANG, (
        _c("Tri et propreté 2024", ("déchets", "propreté"), "2024-04-08", 8, 0.14),
        _c("Santé et dépistage 2025", ("santé", "dépistage"), "2025-01-13", 10, 0.17),
        _c("Énergie 2026", ("énergie", "chèque énergie"), "2026-02-02", 10, 0.17),
    )),
    DemoSite("59350", "Lille", "site", "LIL", 12, _NORD_LANG, (
        _c("Énergie 2024", ("énergie", "chèque énergie"), "2024-01-22", 10, 0.17),
        _c("Transports 2025", ("transport", "tarification"), "2025-02-03", 8, 0.17),
        _c("Santé 2026", ("santé", "mutuelle"), "2026-03-09", 10, 0.19),
    )),
    DemoSite("91228", "Évry-Courcouronnes", "site", "EVR", 10, _IDF_LANG, (
        _c("Eau et énergie 2024", ("eau", "énergie"), "2024-03-04", 8, 0.18),
        _c("Accès aux droits 2025", ("droits", "caf"), "2025-05-12", 8, 0.17),
        _c("Logement 2026", ("logement", "énergie"), "2026-02-09", 10, 0.2),
    ), max_qpv=2),
    DemoSite("93005", "Aulnay-sous-Bois", "site", "AUL", 12, _IDF_LANG, (
        _c("Tri et propreté 2024", ("déchets", "propreté"), "2024-05-13", 8, 0.15),
        _c("Santé 2025", ("santé", "mutuelle"), "2025-02-10", 10, 0.17),
        _c("Énergie 2026", ("énergie", "chèque énergie"), "2026-01-26", 10, 0.18),
    )),
    DemoSite("93048", "Montreuil", "site", "MTR", 10, _IDF_LANG, (
        _c("Eau 2024", ("eau", "énergie"), "2024-06-03", 6, 0.14),
        _c("Rentrée scolaire 2025", ("école", "numérique"), "2025-09-01", 6, 0.15),
        _c("Énergie 2026", ("énergie", "logement"), "2026-02-16", 10, 0.18),
    )),
    DemoSite("95680", "Villiers-le-Bel", "site", "VLB", 10, _IDF_LANG, (
        _c("Accès aux droits 2024", ("droits", "caf"), "2024-09-09", 8, 0.17),
        _c("Santé et dépistage 2025", ("santé", "dépistage"), "2025-04-07", 8, 0.16),
        _c("Renouvellement urbain 2026", ("logement", "relogement"), "2026-03-02", 10, 0.2),
    )),
    DemoSite("13213", "Marseille 13e", "site", "M13", 10, _SUD_LANG, (
        _c("Énergie 2024", ("énergie", "chèque énergie"), "2024-02-12", 8, 0.16),
        _c("Accès aux droits 2025", ("droits", "caf"), "2025-03-10", 8, 0.17),
        _c("Eau 2026", ("eau", "énergie"), "2026-01-19", 10, 0.19),
    ), max_qpv=1),
    DemoSite("69266", "Villeurbanne", "site", "VIL", 10, _SUD_LANG, (
        _c("Énergie 2024", ("énergie", "logement"), "2024-04-15", 8, 0.16),
        _c("Santé 2025", ("santé", "mutuelle"), "2025-05-05", 8, 0.17),
        _c("Transports 2026", ("transport", "tarification"), "2026-02-02", 10, 0.19),
    ), max_qpv=1),
    DemoSite("200042190", "CA de la Porte du Hainaut (l'Établi)", "essaimage", "CAPH", 8, _NORD_LANG, (
        _c("Premiers pas 2024", ("eau", "énergie"), "2024-10-07", 8, 0.17),
        _c("Accès aux droits 2025", ("droits", "caf"), "2025-04-14", 8, 0.17),
        _c("Énergie 2026", ("énergie", "logement"), "2026-01-19", 10, 0.19),
    ), max_qpv=6),
)

#: site code -> display name.
SITE_NAMES: dict[str, str] = {s.code: s.name for s in SITES}

# first knock and revisit outcome probabilities, in schema.OUTCOMES order
_FIRST = np.array([0.40, 0.36, 0.09, 0.11, 0.04])
_REVISIT_AFTER_ABSENT = np.array([0.38, 0.45, 0.08, 0.07, 0.02])
_REVISIT_AFTER_LATER = np.array([0.62, 0.18, 0.08, 0.10, 0.02])


def _contains_code(codes: pd.Series, code: str) -> np.ndarray:
    return codes.astype("str").str.split(";").map(lambda parts: code in parts).to_numpy(dtype=bool)


def _rep_points(qpv: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    for lon, lat in (("rep_lon", "rep_lat"), ("lon", "lat")):
        if lon in qpv.columns and lat in qpv.columns:
            return qpv[lon].to_numpy(dtype=float), qpv[lat].to_numpy(dtype=float)
    pts = shapely.point_on_surface(np.asarray(qpv.geometry.values))
    return shapely.get_x(pts), shapely.get_y(pts)


def _plm_city(code: str) -> str | None:
    """The commune of a Paris, Lyon or Marseille arrondissement code (``75119`` -> ``75056``), else None."""
    if len(code) != 5:
        return None
    if code.startswith("751"):
        return "75056"
    if code.startswith("132"):
        return "13055"
    if code.startswith("6938"):
        return "69123"
    return None


def site_qpv(qpv: pd.DataFrame, site: DemoSite, *, arrondissements: pd.DataFrame | None = None) -> pd.DataFrame:
    """The QPV of a demo site (largest first, at most ``site.max_qpv``).

    Commune codes match the QPV's ``insee_com`` list; an EPCI SIREN matches ``siren_epci``; a Paris
    arrondissement code (Paris, Lyon, Marseille) takes the city's QPV whose representative point is nearest
    to that arrondissement's centre (``arrondissements`` with ``insee_com, lon, lat`` is then required).
    """
    city = _plm_city(site.code)
    if city is not None:
        if arrondissements is None:
            raise ValueError(f"arrondissements: expected the arrondissements layer to place site "
                             f"{site.code} (an arrondissement), got None")
        codes = arrondissements["insee_com"].astype("str")
        arr = arrondissements[codes.map(_plm_city) == city]
        in_city = qpv[_contains_code(qpv["insee_com"], city)]
        x, y = _rep_points(in_city)
        ax, ay = arr["lon"].to_numpy(dtype=float), arr["lat"].to_numpy(dtype=float)
        scale = np.cos(np.radians(float(np.mean(ay))))
        d2 = ((x[:, None] - ax[None, :]) * scale) ** 2 + (y[:, None] - ay[None, :]) ** 2
        nearest = arr["insee_com"].astype("str").to_numpy()[np.argmin(d2, axis=1)]
        chosen = in_city[nearest == site.code]
    elif len(site.code) == 9:
        chosen = qpv[qpv["siren_epci"].astype("str") == site.code]
    else:
        chosen = qpv[_contains_code(qpv["insee_com"], site.code)]
    households = pd.to_numeric(chosen["households"], errors="coerce") if "households" in chosen.columns else \
        pd.Series(np.nan, index=chosen.index)
    chosen = chosen.assign(_hh=households.fillna(1000.0))
    chosen = chosen.sort_values(["_hh", "code_qp"], ascending=[False, True]).head(site.max_qpv)
    return chosen.drop(columns="_hh")


def _points_in(polygon: object, n: int, rng: np.random.Generator) -> np.ndarray:
    x0, y0, x1, y1 = shapely.bounds(polygon)
    out = np.empty((0, 2))
    shapely.prepare(polygon)
    for _ in range(200):
        if len(out) >= n:
            break
        cand = np.column_stack([rng.uniform(x0, x1, 4 * n), rng.uniform(y0, y1, 4 * n)])
        inside = shapely.contains_xy(polygon, cand[:, 0], cand[:, 1])
        out = np.vstack([out, cand[inside]])
    if len(out) < n:  # a sliver: fall back on its representative point
        pt = shapely.point_on_surface(polygon)
        out = np.vstack([out, np.tile([shapely.get_x(pt), shapely.get_y(pt)], (n - len(out), 1))])
    return out[:n]


@dataclass
class _Building:
    ident: str
    lon: float
    lat: float
    doors: np.ndarray  # door marks "A-03-12"


#: Bounds of the modelled buildings: per QPV, and doors per building.
_MAX_BUILDINGS, _MIN_BUILDINGS, _MAX_DOORS = 40, 4, 160


def _door_marks(count: int, rng: np.random.Generator) -> np.ndarray:
    floors = int(rng.integers(4, 16))
    stairs = min(6, max(1, -(-count // (floors * 4))))
    per_floor = max(1, -(-count // (stairs * floors)))
    marks = [f"{s}-{f:02d}-{d:02d}" for s in "ABCDEF"[:stairs] for f in range(floors)
             for d in range(1, per_floor + 1)]
    return np.array(marks[:count], dtype=object)


def _buildings(site: DemoSite, qpv: pd.DataFrame, rng: np.random.Generator) -> list[_Building]:
    out: list[_Building] = []
    for row in qpv.itertuples(index=False):
        households = getattr(row, "households", np.nan)
        households = 1000.0 if households is None or households != households else float(households)
        n = int(np.clip(round(households / 45), _MIN_BUILDINGS, _MAX_BUILDINGS))
        sizes = np.clip(np.round(households / n * rng.lognormal(0.0, 0.35, n)), 6, _MAX_DOORS).astype(int)
        points = _points_in(row.geometry, n, rng)
        for i, ((x, y), size) in enumerate(zip(points, sizes, strict=True)):
            out.append(_Building(f"{row.code_qp}-B{i + 1:03d}", float(x), float(y), _door_marks(int(size), rng)))
    return out


def _day_and_time(week_start: dt.date, rng: np.random.Generator) -> dt.datetime:
    weekday = int(rng.choice(6, p=[0.14, 0.19, 0.19, 0.19, 0.14, 0.15]))
    day = week_start + dt.timedelta(days=weekday)
    if weekday == 5:
        start = dt.time(10, int(rng.integers(0, 50)))
    else:
        start = dt.time(17, int(rng.integers(0, 50))) if rng.random() < 0.8 else dt.time(14, int(rng.integers(0, 50)))
    return dt.datetime.combine(day, start)


def _knock_building(b: _Building, skip: set[str], campaign: DemoCampaign, monday: dt.date, week: int,
                    voisins: list[str], rng: np.random.Generator, end: dt.date) -> list[tuple]:
    """Visits of one building in one campaign: (when, door, outcome index, voisin) tuples."""
    doors = np.array([d for d in b.doors if d not in skip], dtype=object)
    if doors.size == 0:
        return []
    out: list[tuple] = []
    start = _day_and_time(monday + dt.timedelta(weeks=week), rng)
    offsets = np.cumsum(rng.integers(1, 4, size=doors.size))
    outcomes = rng.choice(5, size=doors.size, p=_FIRST)
    voisin = voisins[int(rng.integers(len(voisins)))]
    if start.date() <= end:
        out += [(start + dt.timedelta(minutes=int(m)), d, int(o), voisin)
                for d, m, o in zip(doors, offsets, outcomes, strict=True)]
    # revisits of doors found absent (1) or asked to come back (3), up to three rounds
    pending, last = doors, outcomes
    for round_ in range(1, 4):
        again = ((last == 1) & (rng.random(last.size) < 0.55)) | ((last == 3) & (rng.random(last.size) < 0.75))
        if not again.any():
            break
        pending, previous = pending[again], last[again]
        when = _day_and_time(monday + dt.timedelta(weeks=week + round_ + int(rng.integers(0, 2))), rng)
        if when.date() > end:
            break
        after_absent = rng.choice(5, size=pending.size, p=_REVISIT_AFTER_ABSENT)
        after_later = rng.choice(5, size=pending.size, p=_REVISIT_AFTER_LATER)
        last = np.where(previous == 1, after_absent, after_later)
        offsets = np.cumsum(rng.integers(1, 4, size=pending.size))
        voisin = voisins[int(rng.integers(len(voisins)))]
        out += [(when + dt.timedelta(minutes=int(m)), d, int(o), voisin)
                for d, m, o in zip(pending, offsets, last, strict=True)]
    return out


def _check_qpv(qpv: pd.DataFrame) -> None:
    for col in ("code_qp", "insee_com", "geometry"):
        if col not in qpv.columns:
            raise ValueError(f"qpv: expected a column {col!r} (geo.load.load_qpv()), got {list(qpv.columns)}")
    crs = getattr(qpv, "crs", None)
    if crs is not None and crs.to_epsg() != 4326:
        raise ValueError(f"qpv: expected EPSG:4326 (lon/lat), got {crs}")


def _site_records(site: DemoSite, chosen: pd.DataFrame, rng: np.random.Generator, end: dt.date) -> list[tuple]:
    """The visit records of one site's campaigns (time first, then the import columns)."""
    records: list[tuple] = []
    buildings = _buildings(site, chosen, rng)
    voisins = [f"{site.prefix}-V{k:02d}" for k in range(1, site.voisins + 1)]
    lang_names = [name for name, _ in site.languages]
    lang_p = np.array([p for _, p in site.languages])
    lang_p = lang_p / lang_p.sum()
    do_not_disturb: dict[int, set[str]] = {}
    for campaign in site.campaigns:
        monday = campaign.start - dt.timedelta(days=campaign.start.weekday())
        n_pick = max(1, int(round(campaign.share * len(buildings))))
        picked = rng.choice(len(buildings), size=n_pick, replace=False)
        weeks = rng.integers(0, campaign.weeks, size=n_pick)
        for b_idx, week in zip(picked.tolist(), weeks.tolist(), strict=True):
            b = buildings[b_idx]
            skip = do_not_disturb.setdefault(b_idx, set())
            visits = _knock_building(b, skip, campaign, monday, week, voisins, rng, end)
            if not visits:
                continue
            names = np.asarray(schema.OUTCOMES, dtype=object)[[v[2] for v in visits]]
            talked = np.isin(names, ("ouvert", "a_revoir"))
            langs = np.where(talked, np.asarray(lang_names, dtype=object)[
                rng.choice(len(lang_names), size=len(visits), p=lang_p)], "")
            for (when, door, _outcome, voisin), name, lang in zip(visits, names, langs, strict=True):
                topics = ""
                if name == "ouvert":
                    k = int(rng.integers(1, len(campaign.topics) + 1))
                    topics = "|".join(sorted(campaign.topics[:k]))
                if name == "ne_pas_deranger":
                    skip.add(door)
                records.append((when, campaign.name, site.code, when.strftime("%Y-%m-%d"),
                                when.strftime("%H:%M"), f"{b.lat:.6f}", f"{b.lon:.6f}", b.ident, door, name,
                                lang, topics, voisin))
    return records


def generate_demo(qpv: pd.DataFrame, *, arrondissements: pd.DataFrame | None = None, seed: int = DEFAULT_SEED,
                  sites: tuple[DemoSite, ...] = SITES, end: dt.date = DEMO_END) -> pd.DataFrame:
    """Generate the fictitious door-visit history of the demo sites.

    Parameters
    ----------
    qpv : geopandas.GeoDataFrame
        QPV polygons (EPSG:4326) with ``code_qp``, ``insee_com``, ``siren_epci`` and ``households``.
    arrondissements : pandas.DataFrame, optional
        Arrondissements with ``insee_com, lon, lat`` (needed for the Paris sites; without it they are
        skipped).
    seed : int
        Random seed: the same seed gives the same rows.
    sites : tuple of DemoSite
        Sites to generate (default: :data:`SITES`).
    end : datetime.date
        No visit after this day.

    Returns
    -------
    pandas.DataFrame
        Strings in the import schema (:data:`geo.coverage.schema.COLUMN_NAMES` minus the address columns),
        one row per visit, in time order.
    """
    _check_qpv(qpv)
    rng = np.random.default_rng(seed)
    records: list[tuple] = []
    for site in sites:
        if _plm_city(site.code) is not None and arrondissements is None:
            logger.warning("demo: no arrondissements layer, arrondissement site %s skipped", site.code)
            continue
        chosen = site_qpv(qpv, site, arrondissements=arrondissements)
        if chosen.empty:
            logger.warning("demo: no QPV found for site %s", site.code)
            continue
        records.extend(_site_records(site, chosen, rng, end))
    columns = ["campagne", "site", "date", "heure", "latitude", "longitude", "batiment", "porte", "resultat",
               "langue", "sujets", "voisin"]
    frame = pd.DataFrame.from_records(records, columns=["_when", *columns])
    frame = frame.sort_values("_when", kind="stable").drop(columns="_when").reset_index(drop=True)
    logger.info("demo: %d fictitious visits over %d sites", len(frame), len(sites))
    return frame.astype("str")
