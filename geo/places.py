"""A small place index to find a commune or a QPV by name or code, with the bounds to zoom to.

>>> index = place_index(load_qpv(), load_communes())
>>> search_places(index, "grigny", limit=3)      # accent- and case-insensitive
"""

from __future__ import annotations

import logging
import re
import unicodedata

import numpy as np
import pandas as pd

logger = logging.getLogger(__name__)

INDEX_COLUMNS: tuple[str, ...] = ("kind", "code", "label", "key", "n_qpv", "west", "south", "east", "north")
#: half-size in degrees of the box around a commune without QPV (about 4 km)
COMMUNE_HALF_BOX_DEG = 0.04


def normalise(text: str) -> str:
    """Lower case, no accents, punctuation and hyphens as single spaces (``"Saint-Étienne"`` -> ``"saint etienne"``)."""
    folded = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode("ascii").lower()
    return re.sub(r"[^a-z0-9]+", " ", folded).strip()


def place_index(qpv: pd.DataFrame, communes: pd.DataFrame) -> pd.DataFrame:
    """Index of QPV and communes with their bounds.

    Parameters
    ----------
    qpv : geopandas.GeoDataFrame
        The QPV layer (``code_qp``, ``lib_qp``, ``lib_com``, ``insee_com``, geometry).
    communes : pandas.DataFrame
        The communes layer (``insee_com``, ``name``, ``lib_dep``, ``lon``, ``lat``).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`INDEX_COLUMNS`; ``kind`` is ``"qpv"`` or ``"commune"``. A commune's bounds are those
        of its QPV when it has some, else a small box around its centroid.

    Raises
    ------
    ValueError
        When a required column is missing.
    """
    for name, frame, cols in (("qpv", qpv, ("code_qp", "lib_qp", "lib_com", "insee_com", "geometry")),
                              ("communes", communes, ("insee_com", "name", "lib_dep", "lon", "lat"))):
        missing = [c for c in cols if c not in frame.columns]
        if missing:
            raise ValueError(f"{name}: expected columns {list(cols)}, missing {missing}")
    bounds = qpv.geometry.bounds
    q = pd.DataFrame({
        "kind": "qpv",
        "code": qpv["code_qp"].astype(str).to_numpy(),
        "label": (qpv["lib_qp"].astype(str) + " (" + qpv["lib_com"].astype(str) + ")").to_numpy(),
        "n_qpv": 1,
        "west": bounds["minx"].to_numpy(), "south": bounds["miny"].to_numpy(),
        "east": bounds["maxx"].to_numpy(), "north": bounds["maxy"].to_numpy(),
    })
    # each commune of a QPV (a QPV may span several communes)
    per_commune = pd.DataFrame({
        "insee_com": qpv["insee_com"].astype(str).str.split(";").to_numpy(),
        "west": q["west"], "south": q["south"], "east": q["east"], "north": q["north"],
    }).explode("insee_com")
    agg = per_commune.groupby("insee_com").agg(
        west=("west", "min"), south=("south", "min"), east=("east", "max"), north=("north", "max"),
        n_qpv=("west", "size"),
    )
    c = pd.DataFrame({
        "kind": "commune",
        "code": communes["insee_com"].astype(str).to_numpy(),
        "label": (communes["name"].astype(str) + " (" + communes["lib_dep"].astype(str) + ")").to_numpy(),
    })
    lon, lat = communes["lon"].to_numpy(float), communes["lat"].to_numpy(float)
    c = c.join(agg, on="code")
    has = c["n_qpv"].notna().to_numpy()
    d = COMMUNE_HALF_BOX_DEG
    c["west"] = np.where(has, c["west"], lon - d)
    c["east"] = np.where(has, c["east"], lon + d)
    c["south"] = np.where(has, c["south"], lat - d)
    c["north"] = np.where(has, c["north"], lat + d)
    c["n_qpv"] = c["n_qpv"].fillna(0).astype(int)
    out = pd.concat([c, q], ignore_index=True)
    out["key"] = [normalise(f"{label} {code}") for label, code in zip(out["label"], out["code"], strict=True)]
    return out[list(INDEX_COLUMNS)]


def search_places(index: pd.DataFrame, query: str, *, limit: int = 12) -> pd.DataFrame:
    """Places whose name or code matches ``query``.

    Every word of the query must start a word of the place (``"st den"`` finds Saint-Denis only if spelled
    ``"saint den"``; codes match by prefix). Exact code matches come first, then names that start with the
    query, then communes with more QPV, then shorter labels.

    Parameters
    ----------
    index : pandas.DataFrame
        From :func:`place_index`.
    query : str
        Text typed by the user (at least 2 characters after normalisation).
    limit : int, default 12
        Maximum rows returned (positive).

    Returns
    -------
    pandas.DataFrame
        The matching rows of ``index``, best first (empty when the query is too short).

    Raises
    ------
    ValueError
        When ``limit`` is not a positive integer.
    """
    if not (isinstance(limit, int) and limit > 0):
        raise ValueError(f"limit: expected a positive integer, got {limit!r}")
    q = normalise(query or "")
    if len(q) < 2:
        return index.iloc[0:0]
    words = q.split()
    keys = index["key"]
    mask = np.ones(len(index), dtype=bool)
    for w in words:
        mask &= keys.str.contains(r"(?:^| )" + re.escape(w), regex=True).to_numpy()
    hits = index[mask]
    if hits.empty:
        return hits
    code_exact = hits["code"].str.lower() == q.replace(" ", "")
    starts = hits["key"].str.startswith(q)
    order = pd.DataFrame({
        "exact": ~code_exact.to_numpy(), "starts": ~starts.to_numpy(), "nq": -hits["n_qpv"].to_numpy(),
        "len": hits["label"].str.len().to_numpy(),
    }, index=hits.index).sort_values(["exact", "starts", "nq", "len"], kind="stable")
    return hits.loc[order.index[:limit]]
