"""Field entry: door visits recorded on a Voisin's phone, checked and stored like the rows of a file.

A Voisin records each knock on the page ``/saisie`` (``app/saisie``), offline when need be. Each entry
carries an id made on the phone (a UUID) and is sent again until the server confirms it. This module
turns a batch of entries into the rows of the door-visit schema and stores them through the same steps
as an imported file: :func:`geo.coverage.validate.validate_rows` (same checks, same French messages),
:func:`geo.coverage.importer.locate` and :func:`geo.coverage.store.insert_visits`, in one transaction.

* **Idempotent on the phone's id.** The store already drops a visit whose *content key* it holds
  (``ON CONFLICT (content_key) DO NOTHING``). For a field entry the content key is made from the
  phone's id alone (:func:`entry_content_key`), not from the content and its rank among identical rows:
  a sync retried after a dropped connection stores nothing twice, and two identical knocks recorded as
  two entries stay two visits. No new column or migration is needed.
* **No free text.** The campaign must be one the site already has in the store, the building one of that
  campaign's buildings (the visit is placed at its known position and address), the outcome, language and
  topics come from the closed lists; the door mark goes through the file checks (no name, a digit).
* **The server decides who and where.** The site and the Voisin code come from the signed-in account,
  never from the phone.

The functions that read the store take an engine; the others are pure.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from geo._errors import VoisinmapError
from geo.coverage import schema, store
from geo.coverage.importer import locate, stored_file_name
from geo.coverage.territory import Territory
from geo.coverage.validate import validate_rows
from geo.i18n import t

logger = logging.getLogger(__name__)

#: Most entries one sync may carry (a phone sends its queue in batches of this size).
MAX_ENTRIES = 200
#: The phone's id of an entry: a UUID, as ``crypto.randomUUID()`` writes it.
ENTRY_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
#: Local date and time of a knock, to the minute, as the page writes it.
ENTRY_TIME = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}$")
#: Keys of an entry sent by the phone.
ENTRY_KEYS: tuple[str, ...] = ("id", "campaign", "building", "door", "outcome", "language", "topics", "at")
#: ``file_format`` of the import record of a sync.
SYNC_FORMAT = "saisie"


class EntryShapeError(VoisinmapError, ValueError):
    """A sync whose body is not a list of entries of the documented shape (answered 400, nothing stored)."""


@dataclass
class SyncResult:
    """What a sync did.

    Attributes
    ----------
    stored : list of str
        Ids of the entries now in the store (added now or already there): the phone may forget them.
    imported, duplicates : int
        Entries added by this sync, and entries the store already held (a retried sync).
    rejected : dict of str to list of str
        Id of each refused entry -> its reasons, in the language asked (French by default).
    """

    stored: list[str] = field(default_factory=list)
    imported: int = 0
    duplicates: int = 0
    rejected: dict[str, list[str]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready values."""
        return {"stored": list(self.stored), "imported": int(self.imported), "duplicates": int(self.duplicates),
                "rejected": {k: list(v) for k, v in self.rejected.items()}}


def entry_content_key(entry_id: str) -> str:
    """The content key of a field entry: 32 hex digits of the SHA-256 of its phone-made id.

    >>> entry_content_key("0b6f3c1e-9a2d-4c57-8e11-2f0d6a7b9c31") == entry_content_key("0B6F3C1E-9A2D-4C57-8E11-2F0D6A7B9C31")
    True
    """
    return hashlib.sha256(("saisie\x1f" + str(entry_id).strip().lower()).encode()).hexdigest()[:32]


def check_entries(payload: Any) -> list[dict[str, Any]]:
    """Check the shape of a sync body: a list of at most :data:`MAX_ENTRIES` entries with a UUID each.

    Parameters
    ----------
    payload : object
        The decoded JSON body's ``entries``.

    Returns
    -------
    list of dict
        The entries, one per distinct id (a repeated id is kept once), with string values (``topics`` a
        list of strings).

    Raises
    ------
    EntryShapeError
        Naming what was expected and what was received.
    """
    if not isinstance(payload, list):
        raise EntryShapeError(f"entries: expected a list, got {type(payload).__name__}")
    if len(payload) > MAX_ENTRIES:
        raise EntryShapeError(f"entries: expected at most {MAX_ENTRIES} entries, got {len(payload)}")
    out: dict[str, dict[str, Any]] = {}
    for k, item in enumerate(payload):
        if not isinstance(item, Mapping):
            raise EntryShapeError(f"entries[{k}]: expected an object, got {type(item).__name__}")
        entry_id = str(item.get("id", "")).strip().lower()
        if not ENTRY_ID.match(entry_id):
            raise EntryShapeError(f"entries[{k}].id: expected a UUID, got {len(entry_id)} character(s)")
        topics = item.get("topics") or []
        if not isinstance(topics, list) or not all(isinstance(x, str) for x in topics) or len(topics) > 10:
            raise EntryShapeError(f"entries[{k}].topics: expected a list of at most 10 texts")
        values = {key: item.get(key) for key in ENTRY_KEYS if key not in ("id", "topics")}
        bad = [key for key, value in values.items() if value is not None and not isinstance(value, str)]
        if bad:
            raise EntryShapeError(f"entries[{k}]: expected texts for {bad}")
        out.setdefault(entry_id, {**{key: (v or "").strip()[:200] for key, v in values.items()},
                                  "id": entry_id, "topics": [x.strip()[:40] for x in topics]})
    return list(out.values())


# ---------------------------------------------------------------------------------- reading the store
def site_campaigns(engine: Engine, *, site: str) -> list[str]:
    """The campaigns of ``site`` in the store, the most recently visited first."""
    v = store.VISITS.c
    query = (sa.select(v.campaign, sa.func.max(v.visited_at).label("last")).where(v.site == site)
             .group_by(v.campaign).order_by(sa.desc("last"), v.campaign))
    with engine.connect() as conn:
        return [r.campaign for r in conn.execute(query)]


def campaign_buildings(events: pd.DataFrame) -> pd.DataFrame:
    """The buildings of a campaign's visits, with their position and address (pure).

    Parameters
    ----------
    events : pandas.DataFrame
        Visits of one site and campaign (:func:`geo.coverage.store.load_events` with
        ``located_only=False``).

    Returns
    -------
    pandas.DataFrame
        One row per building id, sorted by street, number and building: ``building``, ``lat``, ``lon``
        (median of its located visits, NaN when none), ``street_number``, ``street``, ``postcode``,
        ``city`` (the address written most often).
    """
    columns = ["building", "lat", "lon", "street_number", "street", "postcode", "city"]
    named = events[events["building"].astype("str").str.strip() != ""]
    if named.empty:
        return pd.DataFrame({c: pd.Series([], dtype=float if c in ("lat", "lon") else "str") for c in columns})
    position = named.groupby("building")[["lat", "lon"]].median()
    address_cols = ["street_number", "street", "postcode", "city"]
    counted = named.groupby(["building", *address_cols], dropna=False).size().reset_index(name="n")
    counted = counted.sort_values(["building", "n"], ascending=[True, False], kind="stable")
    address = counted.drop_duplicates("building").set_index("building")[address_cols]
    out = position.join(address).reset_index()
    for name in address_cols:
        out[name] = out[name].fillna("").astype("str")
    number = pd.to_numeric(out["street_number"].str.extract(r"^([0-9]+)")[0], errors="coerce")
    out = out.assign(_n=number).sort_values(["street", "_n", "building"], kind="stable", na_position="last")
    return out[columns].reset_index(drop=True)


def read_campaign_buildings(engine: Engine, *, site: str, campaign: str) -> pd.DataFrame:
    """:func:`campaign_buildings` of the visits of ``site`` and ``campaign`` in the store."""
    events = store.load_events(engine, sites=[site], campaigns=[campaign], located_only=False)
    return campaign_buildings(events)


def voisin_entries_of_day(engine: Engine, *, site: str, voisin: str, campaign: str, day: dt.date,
                          ) -> pd.DataFrame:
    """The visits a Voisin recorded on ``day`` for ``site`` and ``campaign``: ``visited_at``,
    ``building``, ``door``, ``outcome``, latest first. Nobody else's."""
    v = store.VISITS.c
    start = dt.datetime.combine(day, dt.time())
    query = (sa.select(v.visited_at, v.building, v.door, v.outcome)
             .where(v.site == site, v.campaign == campaign, sa.func.upper(v.voisin) == voisin.upper(),
                    v.visited_at >= start, v.visited_at < start + dt.timedelta(days=1))
             .order_by(v.visited_at.desc(), v.id.desc()))
    with engine.connect() as conn:
        result = conn.execute(query)
        return pd.DataFrame(result.all(), columns=list(result.keys()))


# ------------------------------------------------------------------------------------------ writing
def _place(buildings: Mapping[str, pd.DataFrame], campaign: str, building: str) -> pd.Series | None:
    frame = buildings.get(campaign)
    if frame is None or not len(frame):
        return None
    found = frame[frame["building"] == building]
    return found.iloc[0] if len(found) else None


def entries_table(entries: Sequence[Mapping[str, Any]], *, site: str, voisin: str,
                  buildings: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """The entries as a table of strings of the door-visit schema, ready for
    :func:`~geo.coverage.validate.validate_rows` (pure).

    The site and Voisin code are the account's; the position and address come from the building
    (``buildings``: campaign -> the frame of :func:`campaign_buildings`). ``ligne`` numbers the entries
    from 1.
    """
    rows = []
    for k, entry in enumerate(entries, start=1):
        day, _, clock = str(entry.get("at", "")).partition("T")
        if not ENTRY_TIME.match(str(entry.get("at", ""))):
            day, clock = str(entry.get("at", "")), ""
        place = _place(buildings, entry["campaign"], entry["building"])
        located = place is not None and pd.notna(place["lat"]) and pd.notna(place["lon"])
        rows.append({
            "ligne": k, "campagne": entry["campaign"], "site": site, "date": day, "heure": clock,
            "numero": place["street_number"] if place is not None else "",
            "voie": place["street"] if place is not None else "",
            "code_postal": place["postcode"] if place is not None else "",
            "commune": place["city"] if place is not None else "",
            "latitude": f"{place['lat']:.6f}" if located else "",
            "longitude": f"{place['lon']:.6f}" if located else "",
            "batiment": entry["building"], "porte": entry["door"], "resultat": entry["outcome"],
            "langue": entry.get("language", ""), "sujets": "|".join(entry.get("topics") or []), "voisin": voisin,
        })
    frame = pd.DataFrame(rows, columns=["ligne", *schema.COLUMN_NAMES])
    return frame.astype({c: "str" for c in schema.COLUMN_NAMES})


def _scope_problems(entries: Sequence[Mapping[str, Any]], *, campaigns: Sequence[str],
                    buildings: Mapping[str, set[str]], lang: str) -> dict[int, list[str]]:
    """Entries (by line) whose campaign is not the site's, or whose building is not the campaign's."""
    out: dict[int, list[str]] = {}
    for k, entry in enumerate(entries, start=1):
        if entry["campaign"] not in campaigns:
            out.setdefault(k, []).append(t("saisie.row.campaign", lang))
        elif entry["building"] not in buildings.get(entry["campaign"], set()):
            out.setdefault(k, []).append(t("saisie.row.building", lang))
    return out


def sync_entries(entries: Sequence[Mapping[str, Any]], *, engine: Engine, site: str, voisin: str,
                 qpv: pd.DataFrame | None = None, territory: Territory | None = None,
                 today: dt.date | None = None, lang: str = "fr") -> SyncResult:
    """Store a batch of field entries of one Voisin, idempotently on their ids.

    Parameters
    ----------
    entries : sequence of mapping
        Entries as :func:`check_entries` returns them.
    engine : sqlalchemy.engine.Engine
        The store.
    site : str
        The Voisin's site (from the account).
    voisin : str
        The Voisin's pseudonymous code (from the account).
    qpv : geopandas.GeoDataFrame, optional
        QPV polygons, to record the QPV of each visit.
    territory : Territory, optional
        France's land, for the coordinate check of :func:`~geo.coverage.validate.validate_rows`.
    today : datetime.date, optional
        Latest accepted visit date (default today).
    lang : {"fr", "en"}
        Language of the reasons of refused entries.

    Returns
    -------
    SyncResult
    """
    if not entries:
        return SyncResult()
    campaigns = site_campaigns(engine, site=site)
    wanted = sorted({e["campaign"] for e in entries if e["campaign"] in campaigns})
    per_campaign = {c: read_campaign_buildings(engine, site=site, campaign=c) for c in wanted}
    scope = _scope_problems(entries, campaigns=campaigns, lang=lang,
                            buildings={c: set(b["building"]) for c, b in per_campaign.items()})
    table = entries_table(entries, site=site, voisin=voisin, buildings=per_campaign)
    checked = validate_rows(table, today=today, allowed_sites=[site], territory=territory, lang=lang)
    result = SyncResult()
    ids = {k: str(e["id"]) for k, e in enumerate(entries, start=1)}
    for line, motif in zip(checked.problems["ligne"].tolist(), checked.problems["motif"].tolist(), strict=True):
        scope.setdefault(int(line), []).append(motif)
    result.rejected = {ids[k]: list(dict.fromkeys(v)) for k, v in sorted(scope.items())}
    valid = checked.valid[~checked.valid["ligne"].isin(list(scope))].copy()
    valid["content_key"] = [entry_content_key(ids[int(k)]) for k in valid["ligne"]]
    rows, _notes = locate(valid, geocoder=None, qpv=qpv, lang=lang)
    digest = hashlib.sha256(json.dumps(list(entries), sort_keys=True, ensure_ascii=False).encode()).hexdigest()
    with store.write_transaction(engine) as conn:
        inserted = store.insert_visits(conn, rows, file_sha256=digest, file_format=SYNC_FORMAT,
                                       file_name=stored_file_name("saisie.json", digest), n_rows=len(entries),
                                       n_rejected=len(result.rejected))
    result.stored = [ids[int(k)] for k in np.asarray(rows["ligne"]).tolist()]
    result.imported, result.duplicates = inserted.imported, inserted.duplicates
    logger.info("field sync: %d entries, %d imported, %d already stored, %d refused", len(entries),
                result.imported, result.duplicates, len(result.rejected))
    return result


def walk_list(events: pd.DataFrame, buildings: pd.DataFrame) -> pd.DataFrame:
    """The campaign's walk list for a Voisin: buildings with doors to go back to, along the street (pure).

    Parameters
    ----------
    events : pandas.DataFrame
        Visits of one site and campaign (:func:`geo.coverage.store.load_events`).
    buildings : pandas.DataFrame
        :func:`campaign_buildings` of the same visits (gives the street order and the addresses).

    Returns
    -------
    pandas.DataFrame
        ``building``, ``street_number``, ``street``, ``doors`` (marks of the doors whose latest visit
        asked to come back, comma-separated), in the order of ``buildings``. No count and no Voisin:
        the list says where to go, not who did what.
    """
    from geo.coverage import aggregate

    columns = ["building", "street_number", "street", "doors"]
    located = events[events["lat"].notna()] if len(events) else events
    if not len(located):
        return pd.DataFrame({c: pd.Series([], dtype="str") for c in columns})
    revisit = aggregate.revisit_layer(aggregate.prepare_events(located))
    doors = dict(zip(revisit["building"].astype("str"), revisit["doors"].astype("str"), strict=True))
    out = buildings[buildings["building"].isin(list(doors))][["building", "street_number", "street"]].copy()
    out["doors"] = out["building"].map(doors)
    return out.reset_index(drop=True)
