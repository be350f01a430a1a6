"""A small place index to find a commune, an arrondissement or a QPV by name or code, with bounds to zoom to.

Written here rather than with a fuzzy-matching library: the needs are French-specific (arrondissement
ordinals « 19e », « 1er », « 19ème »; « st » for « saint »; the association's own quartier names such as
« Lille-Sud » for the QPV « Secteur Sud ») and the ranking must be explainable (exact code, then exact
name, then names that start with the query, then word prefixes), which a word-prefix match over a
normalised key gives in a few lines of pandas.

>>> index = place_index(load_qpv(), load_communes(), load_arrondissements())   # doctest: +SKIP
>>> search_places(index, "Paris 19e", limit=3)                                    # doctest: +SKIP
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


#: Common abbreviations of place names, expanded in queries and keys.
ABBREVIATIONS: dict[str, str] = {"st": "saint", "ste": "sainte", "sts": "saints", "stes": "saintes", "mt": "mont",
                                 "arr": "arrondissement", "arrdt": "arrondissement"}
_ORDINAL = re.compile(r"\b(\d{1,2})\s*(?:e|er|eme|ieme|re)\b")


def normalise(text: str) -> str:
    """Lower case, no accents, punctuation as spaces, abbreviations expanded, ordinals as ``19e``.

    >>> normalise("Saint-Étienne"), normalise("St-Denis"), normalise("Paris 19ème"), normalise("Marseille 1er")
    ('saint etienne', 'saint denis', 'paris 19e', 'marseille 1e')
    """
    folded = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode("ascii").lower()
    words = re.sub(r"[^a-z0-9]+", " ", folded).split()
    text = " ".join(ABBREVIATIONS.get(w, w) for w in words)
    return _ORDINAL.sub(r"\1e", text)


def place_index(qpv: pd.DataFrame, communes: pd.DataFrame, arrondissements: pd.DataFrame | None = None, *,
                aliases: dict[str, str] | None = None) -> pd.DataFrame:
    """Index of QPV, communes and arrondissements with their bounds.

    Parameters
    ----------
    qpv : geopandas.GeoDataFrame
        The QPV layer (``code_qp``, ``lib_qp``, ``lib_com``, ``insee_com``, geometry).
    communes : pandas.DataFrame
        The communes layer (``insee_com``, ``name``, ``lib_dep``, ``lon``, ``lat``).
    arrondissements : pandas.DataFrame, optional
        Paris, Lyon and Marseille arrondissements (``insee_com``, ``name``, ``lon``, ``lat``): indexed as
        communes (« Paris 19e Arrondissement », code 75119).
    aliases : dict, optional
        QPV code -> other names of the quartier (e.g. the association's « Lille-Sud » for QN05972M),
        searchable but not shown.

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
    if arrondissements is not None and len(arrondissements):
        arr = pd.DataFrame({"kind": "commune", "code": arrondissements["insee_com"].astype(str).to_numpy(),
                            "label": arrondissements["name"].astype(str).to_numpy()})
        c = pd.concat([c, arr], ignore_index=True)
        lon = np.concatenate([lon, arrondissements["lon"].to_numpy(float)])
        lat = np.concatenate([lat, arrondissements["lat"].to_numpy(float)])
    c = c.join(agg, on="code")
    has = c["n_qpv"].notna().to_numpy()
    d = COMMUNE_HALF_BOX_DEG
    c["west"] = np.where(has, c["west"], lon - d)
    c["east"] = np.where(has, c["east"], lon + d)
    c["south"] = np.where(has, c["south"], lat - d)
    c["north"] = np.where(has, c["north"], lat + d)
    c["n_qpv"] = c["n_qpv"].fillna(0).astype(int)
    out = pd.concat([c, q], ignore_index=True)
    extra = aliases or {}
    out["key"] = [normalise(f"{label} {extra.get(code, '')} {code}")
                  for label, code in zip(out["label"], out["code"], strict=True)]
    out["name_key"] = [normalise(label.split(" (")[0]) for label in out["label"]]
    return out[[*INDEX_COLUMNS, "name_key"]]


def search_places(index: pd.DataFrame, query: str, *, limit: int = 12) -> pd.DataFrame:
    """Places whose name, alias or code matches ``query``, best match first.

    Every word of the query must start a word of the place (``"st den"`` finds Saint-Denis: « st » is read
    « saint »; ``"paris 19"`` finds Paris 19e); codes match by prefix. Order: exact code, exact name,
    names that start with the query, then communes before quartiers, more QPV first, shorter labels.

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
    keys = index["key"]
    mask = np.ones(len(index), dtype=bool)
    for w in q.split():
        mask &= keys.str.contains(r"(?:^| )" + re.escape(w), regex=True).to_numpy()
    hits = index[mask]
    if hits.empty:
        return hits
    names = hits["name_key"] if "name_key" in hits else hits["key"]
    order = pd.DataFrame({
        "exact": ~(hits["code"].str.lower() == q.replace(" ", "")).to_numpy(),
        "name": ~(names == q).to_numpy(),
        "starts": ~names.str.startswith(q).to_numpy(),
        "kind": (hits["kind"] != "commune").to_numpy(),
        "nq": -hits["n_qpv"].to_numpy(),
        "len": hits["label"].str.len().to_numpy(),
    }, index=hits.index).sort_values(["exact", "name", "starts", "kind", "nq", "len"], kind="stable")
    return hits.loc[order.index[:limit]]


def site_aliases(sites: pd.DataFrame) -> dict[str, str]:
    """QPV code -> the quartier names the association uses, from a sites table (``name``, ``qpv_codes``).

    A site named « Lille (Lille-Sud) » working in QN05972M gives ``{"QN05972M": "Lille-Sud"}``; with as
    many names as codes (« Grigny (Grigny 2; La Grande Borne) »), each code gets its own name.

    >>> site_aliases(pd.DataFrame({"name": ["Lille (Lille-Sud)"], "qpv_codes": ["QN05972M"]}))
    {'QN05972M': 'Lille-Sud'}
    """
    out: dict[str, str] = {}
    if "qpv_codes" not in sites.columns:
        return out
    for name, codes in zip(sites["name"].astype(str), sites["qpv_codes"].fillna("").astype(str), strict=True):
        match = re.search(r"\(([^)]*)\)", name)
        codes_list = [c.strip() for c in codes.split(";") if c.strip()]
        if not match or not codes_list:
            continue
        names = [n.strip() for n in match.group(1).split(";") if n.strip()]
        for i, code in enumerate(codes_list):
            picked = [names[i]] if len(names) == len(codes_list) else names
            out[code] = " ".join([out.get(code, ""), *picked]).strip()
    return out
