"""What the door-knocking was about: topics and languages of the conversations, protected.

Each household met (a door with at least one ``ouvert`` visit) counts once per topic (or language)
mentioned in any of its opened visits. A value is shown only when it covers at least 11 households (the
secrecy rule of :mod:`geo.privacy`), and only as a **share of the households met, rounded to the nearest
5 %** (shares of 5 % or less read « ≤ 5 % »). Values below the threshold are left out and named nowhere.
A topic is not a partition (a household may talk of several), so no subtraction recovers a left-out
value from the shown ones; rounding to 5 points means that two readings before and after an import of a
few households show the same figures.

:func:`theme_shares` is pure; :func:`read_themes` reads the opened visits of the store;
:func:`value_label` names a value in the reader's language (message ids ``vocab.topic.<key>`` and
``vocab.language.<key>`` of the closed lists of :mod:`geo.coverage.vocabulary`, ``<key>`` being
:func:`value_key`).
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Sequence

import numpy as np
import pandas as pd
import sqlalchemy as sa

from geo import i18n, privacy
from geo.coverage import vocabulary

logger = logging.getLogger(__name__)

KINDS: tuple[str, ...] = ("topics", "language")
#: Shares are rounded to this many percentage points.
ROUNDING_POINTS = 5
#: Values shown at most, per kind.
TOP = 6
#: Area of the message ids of each kind's values.
PREFIXES: dict[str, str] = {"topics": "vocab.topic", "language": "vocab.language"}
_VALUES: dict[str, tuple[str, ...]] = {"topics": vocabulary.TOPICS, "language": vocabulary.LANGUAGES}


def value_key(value: str) -> str:
    """The key of a value in its message id: ASCII, lower case, words joined by ``_`` (``chèque énergie``
    -> ``cheque_energie``)."""
    plain = unicodedata.normalize("NFKD", str(value)).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "_", plain).strip("_")


_LABELS = {kind: i18n.per_language(PREFIXES[kind], [value_key(v) for v in values]) for kind, values in _VALUES.items()}


def value_label(value: str, *, kind: str, lang: str) -> str:
    """A topic or language of the closed lists in ``lang`` (a value outside the lists is shown as stored).

    Parameters
    ----------
    value : str
        A canonical value of :data:`geo.coverage.vocabulary.TOPICS` or :data:`~geo.coverage.vocabulary.LANGUAGES`.
    kind : {"topics", "language"}
    lang : {"fr", "en"}
    """
    if kind not in KINDS:
        raise ValueError(f"kind: expected one of {KINDS}, got {kind!r}")
    view = _LABELS[kind][i18n.normalise_lang(lang)]
    key = value_key(value)
    return view[key] if key in view.keys_ else str(value)


def theme_shares(visits: pd.DataFrame, *, kind: str, threshold: int = privacy.THRESHOLD,
                 top: int = TOP) -> pd.DataFrame:
    """Shares of households met per topic or language, protected.

    Parameters
    ----------
    visits : pandas.DataFrame
        Opened visits: ``household`` (a stable door id) and ``kind`` (``'|'``-joined values, may be empty).
    kind : {"topics", "language"}
    threshold : int
        Households a shown value covers at least.
    top : int
        Values kept, the most frequent first.

    Returns
    -------
    pandas.DataFrame
        ``value`` and ``share_points`` (an integer multiple of 5, at least 5), most frequent first; empty
        when fewer than ``threshold`` households were met.
    """
    if kind not in KINDS:
        raise ValueError(f"kind: expected one of {KINDS}, got {kind!r}")
    missing = [c for c in ("household", kind) if c not in visits.columns]
    if missing:
        raise ValueError(f"visits: expected the columns {missing}, got {list(visits.columns)}")
    empty = pd.DataFrame({"value": pd.Series([], dtype=str), "share_points": pd.Series([], dtype=int)})
    met = visits["household"].nunique()
    if met < threshold:
        return empty
    pairs = visits[["household", kind]].copy()
    pairs[kind] = pairs[kind].fillna("").astype(str).str.split("|")
    pairs = pairs.explode(kind)
    pairs = pairs[pairs[kind].str.strip() != ""].drop_duplicates()
    counts = pairs.groupby(kind)["household"].nunique().sort_values(ascending=False, kind="stable")
    counts = counts[counts >= threshold].head(top)
    if counts.empty:
        return empty
    points = np.maximum(ROUNDING_POINTS, np.round(100 * counts.to_numpy() / met / ROUNDING_POINTS) * ROUNDING_POINTS)
    return pd.DataFrame({"value": counts.index.astype(str), "share_points": points.astype(int)})


def read_themes(engine: sa.Engine, *, sites: Sequence[str] | None = None) -> pd.DataFrame:
    """Opened visits of the store as ``household, topics, language`` (``sites``: only those)."""
    from geo.coverage.store import VISITS

    v = VISITS.c
    door = sa.case((v.door != "", v.site + "|" + v.building + "|" + v.door), else_=sa.cast(v.id, sa.String))
    query = sa.select(door.label("household"), v.topics, v.language).where(v.outcome == "ouvert")
    if sites is not None:
        query = query.where(v.site.in_(list(sites)))
    with engine.connect() as conn:
        result = conn.execute(query)
        return pd.DataFrame(result.all(), columns=["household", "topics", "language"])
