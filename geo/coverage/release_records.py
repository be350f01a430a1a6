"""What a release is computed from: one row per household met, read from the door-visit store.

A release (:mod:`geo.coverage.releases`) perturbs each published count with the cell-key method, whose
keys come from a *stable id* per household. Here a household is a door -- a (site, building, door mark)
triple; a visit without a door mark is its own door (its visit id) -- counted once, in the quarter, site
and QPV of its *first* opening, as in the funders' report (:mod:`geo.coverage.impact`). Its arrival time
is the time of the import that brought that first opening, so late data waits for the next release.

:func:`household_records` is pure (visits in, households out); :func:`store_records` is the I/O edge
(reads the store and the processed data). Neither keeps nor logs a door, building or coordinate beyond
the id that the cell key hashes with the secret.
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


def household_records(visits: pd.DataFrame, *, region_of: dict[str, str]) -> pd.DataFrame:
    """One row per household met (first ``ouvert`` visit of each door), with its group and arrival.

    Parameters
    ----------
    visits : pandas.DataFrame
        Visits with ``id, site, visited_at, outcome, building, door, code_qp, imported_at``.
    region_of : dict
        Site code -> région code (:func:`geo.coverage.impact.site_places`); unknown sites go to
        :data:`geo.coverage.impact.UNKNOWN_REGION`.

    Returns
    -------
    pandas.DataFrame
        :data:`RECORD_COLUMNS`. Each QPV is attached to the site that met most of its households, so
        that the groups form a tree (as in the funders' report).
    """
    needed = ("id", "site", "visited_at", "outcome", "building", "door", "code_qp", "imported_at")
    missing = [c for c in needed if c not in visits.columns]
    if missing:
        raise ValueError(f"visits: expected the columns {missing}, got {list(visits.columns)}")
    opened = visits[visits["outcome"].astype(str) == "ouvert"].copy()
    if opened.empty:
        return pd.DataFrame({c: pd.Series([], dtype=object) for c in RECORD_COLUMNS})
    mark = opened["door"].fillna("").astype(str)
    site = opened["site"].astype(str)
    opened["id"] = ("door|" + site + "|" + opened["building"].fillna("").astype(str) + "|" + mark).where(
        mark != "", "visit|" + opened["id"].astype(str))
    opened = opened.sort_values(["visited_at", "id"], kind="stable").drop_duplicates("id", keep="first")
    code_qp = opened["code_qp"].where(opened["code_qp"].notna() & (opened["code_qp"].astype(str) != ""),
                                      impact.OUTSIDE).astype(str)
    records = pd.DataFrame({"site": site.loc[opened.index], "code_qp": code_qp,
                            "period": impact.quarter_label(opened["visited_at"].to_numpy(dtype="datetime64[D]")),
                            "arrived_at": pd.to_datetime(opened["imported_at"]), "id": opened["id"]})
    records = _attach_home_sites(records)
    records["region"] = records["site"].map(region_of).fillna(impact.UNKNOWN_REGION).astype(str)
    return records[list(RECORD_COLUMNS)].reset_index(drop=True)


def _attach_home_sites(records: pd.DataFrame) -> pd.DataFrame:
    inside = records["code_qp"] != impact.OUTSIDE
    if not inside.any():
        return records
    per = records[inside].groupby(["code_qp", "site"]).size().rename("n").reset_index()
    per = per.sort_values(["code_qp", "n", "site"], ascending=[True, False, True])
    home = per.drop_duplicates("code_qp").set_index("code_qp")["site"]
    out = records.copy()
    out.loc[inside, "site"] = out.loc[inside, "code_qp"].map(home)
    return out


def read_visits(engine: sa.Engine) -> pd.DataFrame:
    """The located ``ouvert`` visits of the store with the time of their import (the I/O edge)."""
    from geo.coverage.store import IMPORTS, VISITS

    v, i = VISITS.c, IMPORTS.c
    query = (sa.select(v.id, v.site, v.visited_at, v.outcome, v.building, v.door, v.code_qp, i.imported_at)
             .join(IMPORTS, v.import_id == i.id).where(v.outcome == "ouvert").where(v.lat.is_not(None)))
    with engine.connect() as conn:
        result = conn.execute(query)
        return pd.DataFrame(result.all(), columns=list(result.keys()))


def store_records(*, db: str | None = None, data_dir: str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """:func:`household_records` of the store at ``db`` (default :func:`geo.config.database_url`)."""
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
    records = household_records(visits, region_of=dict(zip(places["site"], places["region"], strict=True)))
    logger.info("release records: %d household(s) met in %d site(s)", len(records), len(sites))
    return records
