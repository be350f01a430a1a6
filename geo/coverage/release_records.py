"""What a release is computed from: one row per household met, read from the door-visit store.

A release (:mod:`geo.coverage.releases`) perturbs each published count with the cell-key method, whose
keys come from a *stable id* per household. Here a household is a door -- a (site, building, door mark)
triple; a visit without a door mark is its own door (its visit id) -- counted once, in the quarter, site
and QPV of its *first* opening, as in the funders' report (:mod:`geo.coverage.impact`). Its arrival time
is the time of the import that brought that first opening, so late data waits for the next release.

:func:`household_records` is pure (visits in, households out); :func:`store_records` is the I/O edge
(reads the store and the processed data). Neither keeps nor logs a door, building or coordinate beyond
the id that the cell key hashes with the secret.

**Doors opened** (:func:`door_records`): one row per ``ouvert`` visit (a household met twice counts
twice), in the quarter of that visit, with the time of its import and the site its QPV is attached to
(the same attachment as the households', so both measures share one tree of groups). The release
publishes it in the households' bins and hides it wherever they are hidden.
"""

from __future__ import annotations

import logging
import os

import pandas as pd
import sqlalchemy as sa

from geo.coverage import impact

logger = logging.getLogger(__name__)

#: Group levels of the releases, coarsest first: région > site > QPV (or « hors QPV »).
LEVELS: tuple[str, ...] = ("region", "site", "code_qp")
#: Columns of :func:`household_records`.
RECORD_COLUMNS: tuple[str, ...] = (*LEVELS, "period", "arrived_at", "id")


def _openings(visits: pd.DataFrame) -> pd.DataFrame:
    """The ``ouvert`` visits with their door id, QPV (or « hors QPV »), quarter and arrival, oldest first."""
    needed = ("id", "site", "visited_at", "outcome", "building", "door", "code_qp", "imported_at")
    missing = [c for c in needed if c not in visits.columns]
    if missing:
        raise ValueError(f"visits: expected the columns {missing}, got {list(visits.columns)}")
    opened = visits[visits["outcome"].astype(str) == "ouvert"].copy()
    mark = opened["door"].fillna("").astype(str)
    site = opened["site"].astype(str)
    door = ("door|" + site + "|" + opened["building"].fillna("").astype(str) + "|" + mark).where(
        mark != "", "visit|" + opened["id"].astype(str))
    code_qp = opened["code_qp"].where(opened["code_qp"].notna() & (opened["code_qp"].astype(str) != ""),
                                      impact.OUTSIDE).astype(str)
    frame = pd.DataFrame({"site": site, "code_qp": code_qp, "visited_at": opened["visited_at"],
                          "arrived_at": pd.to_datetime(opened["imported_at"]), "door": door,
                          "visit": "opening|" + opened["id"].astype(str)})
    frame = frame.sort_values(["visited_at", "door"], kind="stable")
    frame["period"] = impact.quarter_label(frame["visited_at"].to_numpy(dtype="datetime64[D]")) if len(frame) \
        else pd.Series([], dtype=object)
    return frame


def _grouped(records: pd.DataFrame, *, home: pd.Series, region_of: dict[str, str]) -> pd.DataFrame:
    out = records.copy()
    inside = out["code_qp"] != impact.OUTSIDE
    out.loc[inside, "site"] = out.loc[inside, "code_qp"].map(home)
    out["region"] = out["site"].map(region_of).fillna(impact.UNKNOWN_REGION).astype(str)
    return out[list(RECORD_COLUMNS)].reset_index(drop=True)


def _empty() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series([], dtype=object) for c in RECORD_COLUMNS})


def opening_records(visits: pd.DataFrame, *, region_of: dict[str, str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Households met and doors opened, as the two record sets of a release.

    Parameters
    ----------
    visits : pandas.DataFrame
        Visits with ``id, site, visited_at, outcome, building, door, code_qp, imported_at``.
    region_of : dict
        Site code -> région code (:func:`geo.coverage.impact.site_places`); unknown sites go to
        :data:`geo.coverage.impact.UNKNOWN_REGION`.

    Returns
    -------
    households, doors : pandas.DataFrame
        :data:`RECORD_COLUMNS` each: one row per household (its first opening) and one row per ``ouvert``
        visit. Each QPV is attached to the site that met most of its households, in both, so that the
        groups form one tree (as in the funders' report).
    """
    opened = _openings(visits)
    if opened.empty:
        return _empty(), _empty()
    households = opened.drop_duplicates("door", keep="first").rename(columns={"door": "id"})
    home = _home_sites(households)
    doors = opened.rename(columns={"visit": "id"})
    return (_grouped(households, home=home, region_of=region_of),
            _grouped(doors, home=home, region_of=region_of))


def household_records(visits: pd.DataFrame, *, region_of: dict[str, str]) -> pd.DataFrame:
    """One row per household met (first ``ouvert`` visit of each door), with its group and arrival:
    the households of :func:`opening_records` (same parameters), :data:`RECORD_COLUMNS`."""
    return opening_records(visits, region_of=region_of)[0]


def door_records(visits: pd.DataFrame, *, region_of: dict[str, str]) -> pd.DataFrame:
    """One row per door opened (``ouvert`` visit), grouped as the households (see :func:`opening_records`)."""
    return opening_records(visits, region_of=region_of)[1]


def _home_sites(households: pd.DataFrame) -> pd.Series:
    """QPV code -> the site that met most of its households (ties: the smallest code)."""
    inside = households["code_qp"] != impact.OUTSIDE
    per = households[inside].groupby(["code_qp", "site"]).size().rename("n").reset_index()
    per = per.sort_values(["code_qp", "n", "site"], ascending=[True, False, True])
    return per.drop_duplicates("code_qp").set_index("code_qp")["site"]


def read_visits(engine: sa.Engine) -> pd.DataFrame:
    """The located ``ouvert`` visits of the store with the time of their import (the I/O edge)."""
    from geo.coverage.store import IMPORTS, VISITS

    v, i = VISITS.c, IMPORTS.c
    query = (sa.select(v.id, v.site, v.visited_at, v.outcome, v.building, v.door, v.code_qp, i.imported_at)
             .join(IMPORTS, v.import_id == i.id).where(v.outcome == "ouvert").where(v.lat.is_not(None)))
    with engine.connect() as conn:
        result = conn.execute(query)
        return pd.DataFrame(result.all(), columns=list(result.keys()))


def store_openings(*, db: str | None = None,
                   data_dir: str | os.PathLike[str] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`opening_records` (households, doors) of the store at ``db`` (default
    :func:`geo.config.database_url`)."""
    from geo.coverage.store import open_store
    from geo.load import load_arrondissements, load_communes

    engine = open_store(db)
    try:
        visits = read_visits(engine)
    finally:
        engine.dispose()
    sites = sorted({str(s) for s in visits["site"]})
    places = impact.site_places(sites, communes=load_communes(data_dir=data_dir),
                                arrondissements=load_arrondissements(data_dir=data_dir))
    households, doors = opening_records(visits, region_of=dict(zip(places["site"], places["region"], strict=True)))
    logger.info("release records: %d household(s) met, %d door(s) opened in %d site(s)", len(households),
                len(doors), len(sites))
    return households, doors


def store_records(*, db: str | None = None, data_dir: str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """:func:`household_records` of the store at ``db`` (default :func:`geo.config.database_url`)."""
    return store_openings(db=db, data_dir=data_dir)[0]
