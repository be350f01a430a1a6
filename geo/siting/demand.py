"""Demand of each QPV: its population, optionally weighted by a need score built from its indicators.

The need score of a QPV is the weighted mean of indicator percentiles (0 = least need among QPV,
1 = most need), over the indicators it has: missing values (statistical secrecy, overseas gaps) are not
imputed, the weights are renormalised over what is known, and the QPV is flagged. A QPV with no
indicator at all gets the neutral score 0.5 and is flagged as such.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import numpy as np
import pandas as pd

from geo.siting.params import DEFAULT_NEED_STRENGTH

logger = logging.getLogger(__name__)

#: Indicator -> (how to compute it from the QPV columns, direction). +1: higher means more need.
INDICATORS: dict[str, str] = {
    "poverty_rate": "poverty rate at 60 % of median income (higher = more need)",
    "employment_rate": "employment rate of 15–64 (lower = more need)",
    "npnru": "NPNRU quartier (urban renewal: partners and missions)",
    "social_housing": "social housing per household, capped at 1 (higher = more need)",
    "household_size": "persons per household (larger households = more need)",
}

def indicator_label(name: str, lang: str = "fr") -> str:
    """Readable label of an indicator (message id ``siting.indicator.<name>``), or the name itself if unknown."""
    from geo.i18n import has_message, t

    key = f"siting.indicator.{name}"
    return t(key, lang) if has_message(key, lang) else name

NEUTRAL_NEED = 0.5


def check_weights(weights: Mapping[str, float] | None) -> dict[str, float] | None:
    """Validate need weights: known indicators, non-negative finite numbers, positive sum.

    Parameters
    ----------
    weights : mapping or None
        Indicator name -> weight; ``None`` means "no need weighting" (demand = population).

    Returns
    -------
    dict or None
        The weights normalised to sum to 1, or ``None``.
    """
    if weights is None:
        return None
    if not isinstance(weights, Mapping):
        raise ValueError(f"weights: expected a mapping indicator -> weight or None, got {type(weights).__name__}")
    unknown = sorted(set(weights) - set(INDICATORS))
    if unknown:
        raise ValueError(f"weights: expected indicators among {sorted(INDICATORS)}, got unknown {unknown}")
    out: dict[str, float] = {}
    for key, value in weights.items():
        try:
            v = float(value)
        except (TypeError, ValueError):
            v = float("nan")
        if not np.isfinite(v) or v < 0:
            raise ValueError(f"weights: expected a non-negative number for {key!r}, got {value!r}")
        out[key] = v
    total = sum(out.values())
    if total <= 0:
        raise ValueError(f"weights: expected at least one positive weight, got {weights!r}")
    return {k: v / total for k, v in out.items() if v > 0}


def parse_weights(text: str) -> dict[str, float] | None:
    """Parse ``"poverty_rate=0.5,npnru=0.5"`` (or ``"none"``) into weights for :func:`check_weights`."""
    text = (text or "").strip()
    if text.lower() in ("none", "population", ""):
        return None
    out: dict[str, float] = {}
    for part in text.split(","):
        if "=" not in part:
            raise ValueError(f"weights: expected 'indicator=weight' items separated by commas or 'none', got {part!r}")
        key, value = part.split("=", 1)
        try:
            out[key.strip()] = float(value)
        except ValueError as exc:
            raise ValueError(f"weights: expected a number for {key.strip()!r}, got {value.strip()!r}") from exc
    return check_weights(out)


def indicator_table(qpv: pd.DataFrame) -> pd.DataFrame:
    """Raw indicator values per QPV (NaN where unknown), from the contract's QPV columns."""
    pop = pd.to_numeric(qpv.get("population"), errors="coerce").to_numpy(dtype=float)
    hh = pd.to_numeric(qpv.get("households"), errors="coerce").to_numpy(dtype=float)
    sh = pd.to_numeric(qpv.get("social_housing"), errors="coerce").to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        size = np.where(hh > 0, pop / hh, np.nan)
        social = np.where(hh > 0, np.minimum(sh / hh, 1.0), np.nan)
    npnru = qpv["npnru"] if "npnru" in qpv else pd.Series(np.nan, index=qpv.index)
    npnru = npnru.map(lambda v: np.nan if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v))
                      else float(bool(v)))
    return pd.DataFrame(
        {
            "poverty_rate": pd.to_numeric(qpv.get("poverty_rate"), errors="coerce").to_numpy(dtype=float),
            "employment_rate": pd.to_numeric(qpv.get("employment_rate"), errors="coerce").to_numpy(dtype=float),
            "npnru": npnru.to_numpy(dtype=float),
            "social_housing": social,
            "household_size": size,
        },
        index=qpv.index,
    )


def need_score(qpv: pd.DataFrame, *, weights: Mapping[str, float] | None) -> pd.DataFrame:
    """Need score in [0, 1] of each QPV and the indicators it lacks.

    Parameters
    ----------
    qpv : pandas.DataFrame
        QPV with the contract's indicator columns (missing columns count as unknown everywhere).
    weights : mapping
        Indicator weights (see :data:`geo.siting.params.DEFAULT_WEIGHTS`).

    Returns
    -------
    pandas.DataFrame
        ``need`` (float in [0, 1]), ``need_missing`` (';'-separated names of the weighted indicators
        that are unknown for the QPV, empty when complete) and ``need_known_weight`` (share of the
        weights that could be used).
    """
    w = check_weights(weights)
    if w is None:
        raise ValueError("weights: expected indicator weights to compute a need score, got None")
    raw = indicator_table(qpv)
    parts = np.zeros(len(raw))
    used = np.zeros(len(raw))
    missing = [[] for _ in range(len(raw))]
    for key, weight in w.items():
        col = raw[key]
        known = col.notna().to_numpy()
        if key == "npnru":
            pct = col.to_numpy(dtype=float)
        else:
            # percentile among QPV that have the value; the lowest employment rate gets 1
            pct = col.rank(pct=True, method="average", ascending=key != "employment_rate").to_numpy(dtype=float)
        pct = np.clip(np.nan_to_num(pct, nan=0.0), 0.0, 1.0)
        parts += np.where(known, weight * pct, 0.0)
        used += np.where(known, weight, 0.0)
        for i in np.flatnonzero(~known):
            missing[i].append(key)
    with np.errstate(invalid="ignore", divide="ignore"):
        need = np.where(used > 0, parts / np.where(used > 0, used, 1.0), NEUTRAL_NEED)
    return pd.DataFrame(
        {"need": need, "need_missing": [";".join(m) for m in missing], "need_known_weight": used},
        index=qpv.index,
    )


def demand_vector(
    population: np.ndarray, need: np.ndarray | None, *, strength: float = DEFAULT_NEED_STRENGTH
) -> np.ndarray:
    """Demand = population × (1 + strength × need); plain population when ``need`` is None.

    Parameters
    ----------
    population : numpy.ndarray
        Residents per QPV (NaN counts as 0).
    need : numpy.ndarray or None
        Need score in [0, 1] per QPV.
    strength : float
        How much need weighs (>= 0); see :data:`geo.siting.params.DEFAULT_NEED_STRENGTH`.
    """
    if not np.isfinite(strength) or strength < 0:
        raise ValueError(f"need_strength: expected a non-negative number, got {strength!r}")
    pop = np.nan_to_num(np.asarray(population, dtype=float), nan=0.0)
    if need is None:
        return pop
    return pop * (1.0 + strength * np.asarray(need, dtype=float))
