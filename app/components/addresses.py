"""Street addresses of the buildings of the page Terrain, as the door-visit logs give them.

A building of :class:`geo.coverage.aggregate.PreparedEvents` is known by its label (the file's building
id, else its address, else its coordinates). Its address is the one most of its visits carry (number,
street, postcode, city); buildings whose visits carry none have no address. Addresses are door-level data:
they are read for one site at a time, for a user the access layer lets see that site.
"""

from __future__ import annotations

import logging
import re
import unicodedata

import numpy as np
import pandas as pd

from app.data import VersionedCache
from geo.coverage import aggregate

logger = logging.getLogger(__name__)

ADDRESS_COLUMNS: tuple[str, ...] = ("street_number", "street", "postcode", "city")
_NUMBER = re.compile(r"^\s*(\d+)\s*(.*)$")
_CACHE: VersionedCache[pd.DataFrame] = VersionedCache("building addresses", maxsize=16)


def building_addresses(prep: aggregate.PreparedEvents, events: pd.DataFrame) -> pd.DataFrame:
    """The address of each building that has one.

    Parameters
    ----------
    prep : PreparedEvents
        Prepared visits (their ``event_id`` are the store's visit ids).
    events : pandas.DataFrame
        Visits with ``id`` and the :data:`ADDRESS_COLUMNS` (other rows and columns are ignored).

    Returns
    -------
    pandas.DataFrame
        Indexed by building label: ``street_number``, ``street``, ``postcode``, ``city``, ``address`` (one
        line, « 12 bis rue des Lilas, 91350 Grigny »).
    """
    missing = [c for c in ("id", *ADDRESS_COLUMNS) if c not in events.columns]
    if missing:
        raise ValueError(f"events: expected the columns id and {list(ADDRESS_COLUMNS)}, missing {missing}")
    text = events[list(ADDRESS_COLUMNS)].fillna("").astype(str).apply(lambda s: s.str.strip())
    has = text["street"] != ""
    position = pd.Index(prep.event_id).get_indexer(events.loc[has, "id"].to_numpy())
    found = position >= 0
    rows = text[has][found].copy()
    rows["label"] = prep.b_label[prep.building[position[found]]]
    columns = [*ADDRESS_COLUMNS, "address"]
    if rows.empty:
        return pd.DataFrame(columns=columns, index=pd.Index([], name="label"))
    counts = rows.groupby(["label", *ADDRESS_COLUMNS], sort=False).size().rename("n").reset_index()
    best = counts.sort_values("n", ascending=False, kind="stable").drop_duplicates("label").set_index("label")
    best["address"] = [one_line(*r) for r in best[list(ADDRESS_COLUMNS)].itertuples(index=False)]
    return best[columns]


def one_line(number: str, street: str, postcode: str, city: str) -> str:
    """« 12 bis rue des Lilas, 91350 Grigny » (missing parts left out)."""
    first = " ".join(p for p in (number, street) if p)
    second = " ".join(p for p in (postcode, city) if p)
    return ", ".join(p for p in (first, second) if p)


def street_key(street: str) -> str:
    """A street name for sorting: lower case, accents and punctuation removed."""
    plain = unicodedata.normalize("NFKD", street).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", " ", plain.lower()).strip()


def number_key(number: str) -> tuple[int, str]:
    """A house number for sorting: « 12 bis » -> (12, "bis"); no number sorts first."""
    match = _NUMBER.match(number or "")
    return (int(match.group(1)), match.group(2).strip().lower()) if match else (-1, (number or "").lower())


def labels_with_addresses(labels: np.ndarray, table: pd.DataFrame) -> list[str]:
    """The address of each building label, or the label itself when the logs give none."""
    known = table["address"].to_dict() if len(table) else {}
    return [known.get(label) or str(label) for label in labels.tolist()]


def _load(url: str, prep: aggregate.PreparedEvents, site: str) -> pd.DataFrame:
    from geo.coverage.store import load_events, open_store

    engine = open_store(url)
    try:
        events = load_events(engine, sites=[site])
    finally:
        engine.dispose()
    return building_addresses(prep, events)


def site_addresses(url: str, prep: aggregate.PreparedEvents, site: str) -> pd.DataFrame:
    """:func:`building_addresses` of one site's visits in the store at ``url``, cached for ``prep``.

    The caller checks that the user may see ``site``.
    """
    return _CACHE.get((url, id(prep)), lambda: _load(url, prep, site), key=site)



def with_addresses(frame: pd.DataFrame, known: pd.DataFrame, *, revisit: pd.DataFrame | None = None) -> pd.DataFrame:
    """Map points (buildings or « à revoir » rings) with their ``address`` ("" when the logs give none) and,
    when ``revisit`` is given, their doors « à revoir » (``to_revisit``)."""
    named = labels_with_addresses(frame["building"].to_numpy(), known)
    out = frame.assign(address=[a if a != str(b) else "" for a, b in zip(named, frame["building"], strict=True)])
    if revisit is not None:
        counts = dict(zip(revisit["building"], revisit["doors_to_revisit"], strict=True))
        out["to_revisit"] = [int(counts.get(b, 0)) for b in out["building"]]
    return out
