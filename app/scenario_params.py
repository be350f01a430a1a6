"""The Stratégie page's scenario: every control's value in one frozen record, and its URL form.

A scenario travels in the page's query string (``/?k=10&radius=3&capacity=50000…``) so that a copied
link reopens the same scenario, and it is what a saved scenario stores (:mod:`geo.auth.scenarios`).
The query string is the standard ``application/x-www-form-urlencoded`` form (:mod:`urllib.parse`);
unknown keys are ignored and a value that does not parse falls back to the default (a shared link
never breaks the page). A scenario run on an uploaded sites file says so in its address
(``network=custom-<digest>``, :func:`network_id` of the validated sites): the page restores that network
from the user's saved scenarios, or says it is missing rather than silently using the shipped one.

>>> s = Scenario.from_query({"k": "5", "radius": "2.5", "capacity": "40000"})
>>> (s.k, s.radius_km, s.capacity)
(5, 2.5, 40000)
>>> Scenario.from_query(Scenario.from_query({"k": "5"}).to_query()) == Scenario.from_query({"k": "5"})
True
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any
from urllib.parse import parse_qsl, urlencode

from geo import siting
from geo.siting.params import DEFAULT_CAPACITY

logger = logging.getLogger(__name__)

MODES: tuple[str, ...] = ("k", "plan")
DEFAULT_K = 10
DEFAULT_CITIES = 20
DEFAULT_REGIONS = 6
DEFAULT_PACE = 2.0
#: Prefix of the ``network`` value of a scenario run on an uploaded sites file.
CUSTOM_NETWORK = "custom-"
_NETWORK = re.compile(r"^custom-[0-9a-f]{12}$")
#: Bounds of the numeric controls: (lowest, highest).
LIMITS: dict[str, tuple[float, float]] = {
    "k": (1, 30), "cities": (1, 60), "regions": (1, 30), "radius_km": (1.0, 10.0),
    "capacity": (5_000, 200_000), "pace": (1.0, 10.0), "target_pct": (5, 50), "max_per_region": (0, 30),
}


def _default_weights() -> tuple[tuple[str, float], ...]:
    return tuple((key, float(siting.DEFAULT_WEIGHTS.get(key, 0.0))) for key in siting.INDICATORS)


@dataclass(frozen=True)
class Scenario:
    """The values of the Stratégie page's controls.

    Attributes
    ----------
    mode : {"k", "plan"}
        ``"k"``: exactly ``k`` new sites; ``"plan"``: at most ``cities`` cities in all (current included).
    k, cities, regions : int
        New sites; cities in all; urban regions at most (the network's included).
    radius_km : float
        Reach of a site.
    capacity : int
        Residents a team serves.
    pace : float
        Openings per year in the roadmap.
    target_pct : int
        Presence goal, % of QPV residents.
    weights : tuple of (indicator, weight)
        Need weights (all 0: plain population).
    main6 : bool
        At least one site in each of the six main urban régions.
    max_per_region : int or None
        Cap of new sites per région.
    quota_regions : tuple of str
        Région codes that must hold at least one site (picked by name on the page).
    network : str or None
        None: the association's sites (``data/sites.csv``); ``"custom-<digest>"``: an uploaded sites
        file (:func:`network_id`).
    """

    mode: str = "k"
    k: int = DEFAULT_K
    cities: int = DEFAULT_CITIES
    regions: int = DEFAULT_REGIONS
    radius_km: float = siting.DEFAULT_RADIUS_KM
    capacity: int = int(DEFAULT_CAPACITY)
    pace: float = DEFAULT_PACE
    target_pct: int = round(100 * siting.DEFAULT_TARGET)
    weights: tuple[tuple[str, float], ...] = field(default_factory=_default_weights)
    main6: bool = False
    max_per_region: int | None = None
    quota_regions: tuple[str, ...] = ()
    network: str | None = None

    # ------------------------------------------------------------------------------ from the controls

    @classmethod
    def from_controls(cls, values: Mapping[str, Any]) -> Scenario:
        """A scenario from raw control values (None or out-of-range values take the default or the bound)."""
        base = cls()
        out: dict[str, Any] = {}
        out["mode"] = values.get("mode") if values.get("mode") in MODES else base.mode
        for name, cast in (("k", int), ("cities", int), ("regions", int), ("capacity", int), ("target_pct", int),
                           ("radius_km", float), ("pace", float)):
            out[name] = _number(values.get(name), cast, getattr(base, name), LIMITS[name])
        weights = values.get("weights") or {}
        out["weights"] = tuple((key, _number(weights.get(key), float, dict(base.weights)[key], (0.0, 1.0)))
                               for key in siting.INDICATORS)
        out["main6"] = bool(values.get("main6"))
        cap = values.get("max_per_region")
        out["max_per_region"] = None if cap in (None, "") else _number(cap, int, None, LIMITS["max_per_region"])
        out["quota_regions"] = tuple(sorted({str(r) for r in (values.get("quota_regions") or []) if str(r).strip()}))
        network = str(values.get("network") or "")
        out["network"] = network if _NETWORK.match(network) else None
        return cls(**out)

    # ---------------------------------------------------------------------------------- URL round trip

    def to_query(self) -> str:
        """The query string (without ``?``) holding every control, defaults included."""
        pairs: list[tuple[str, str]] = [
            ("mode", self.mode), ("k", str(self.k)), ("cities", str(self.cities)), ("regions", str(self.regions)),
            ("radius", _short(self.radius_km)), ("capacity", str(self.capacity)), ("pace", _short(self.pace)),
            ("target", str(self.target_pct)),
        ]
        pairs += [(f"w_{key}", _short(value)) for key, value in self.weights]
        if self.main6:
            pairs.append(("main6", "1"))
        if self.max_per_region is not None:
            pairs.append(("maxreg", str(self.max_per_region)))
        if self.quota_regions:
            pairs.append(("quota", ",".join(self.quota_regions)))
        if self.network:
            pairs.append(("network", self.network))
        return urlencode(pairs)

    @classmethod
    def from_query(cls, query: str | Mapping[str, Any] | None) -> Scenario:
        """A scenario from a query string (``"k=5&radius=2"``, a leading ``?`` allowed) or its parsed mapping."""
        if query is None:
            params: dict[str, Any] = {}
        elif isinstance(query, str):
            params = dict(parse_qsl(query.lstrip("?"), keep_blank_values=False))
        else:
            params = {str(k): v for k, v in query.items()}
        weights = {key: params.get(f"w_{key}") for key in siting.INDICATORS}
        return cls.from_controls({
            "mode": params.get("mode"), "k": params.get("k"), "cities": params.get("cities"),
            "regions": params.get("regions"), "radius_km": params.get("radius"), "capacity": params.get("capacity"),
            "pace": params.get("pace"), "target_pct": params.get("target"), "weights": weights,
            "main6": params.get("main6") in ("1", "true", "on", True),
            "max_per_region": params.get("maxreg"),
            "quota_regions": [r for r in str(params.get("quota") or "").split(",") if r],
            "network": params.get("network"),
        })

    # ------------------------------------------------------------------------------------------ engine

    def weight_map(self) -> dict[str, float] | None:
        """Need weights for :func:`geo.siting.build_instance` (None when all are 0: plain population)."""
        clean = dict(self.weights)
        return None if sum(clean.values()) <= 0 else clean

    def quota_specs(self) -> list[str]:
        """``REG=MIN:MAX`` specs of :meth:`geo.siting.Quotas.parse`."""
        specs = ["main6=1"] if self.main6 else []
        if self.max_per_region is not None:
            specs.append(f"*=:{self.max_per_region}")
        specs += [f"{code}=1" for code in self.quota_regions]
        return specs

    def as_record(self) -> dict[str, Any]:
        """A JSON-ready dict (saved scenarios, export header)."""
        out = asdict(self)
        out["weights"] = dict(self.weights)
        out["quota_regions"] = list(self.quota_regions)
        return out

    def with_(self, **changes: Any) -> Scenario:
        """A copy with some values changed."""
        return replace(self, **changes)

    def with_sites(self, records: Sequence[Mapping[str, Any]] | None) -> Scenario:
        """A copy whose ``network`` names these validated sites records (None: the association's sites)."""
        return replace(self, network=network_id(records))


def network_id(records: Sequence[Mapping[str, Any]] | None) -> str | None:
    """``"custom-<12 hex>"``: a digest of validated sites records (the same sites give the same id in
    every browser and process), or None for the association's own sites (``records`` None).

    >>> network_id([{"code": "59350", "name": "Lille", "opening_year": 2016, "kind": "site"}])
    'custom-df59d4fd9ce2'
    """
    if records is None:
        return None
    canonical = json.dumps([{str(k): v for k, v in r.items()} for r in records], sort_keys=True,
                           ensure_ascii=False, separators=(",", ":"), default=str)
    return CUSTOM_NETWORK + hashlib.sha256(canonical.encode()).hexdigest()[:12]


def _number(value: Any, cast: type, default: Any, bounds: tuple[float, float]) -> Any:
    if value is None or value == "" or isinstance(value, bool):
        return default
    try:
        number = cast(float(value))
    except (TypeError, ValueError):
        logger.info("scenario: ignored value %r (expected a number)", value)
        return default
    lo, hi = bounds
    return cast(min(max(number, lo), hi))


def _short(value: float) -> str:
    return f"{value:g}"
