"""Regional quotas: a minimum number of sites per région (network) and a cap on new sites per région."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from geo.siting.params import MAIN_URBAN_REGIONS

#: Alias usable in quota specs for the six main urban régions.
MAIN6 = "main6"


@dataclass(frozen=True)
class Quotas:
    """Regional constraints of the solver.

    Attributes
    ----------
    min_sites : mapping str -> int
        Région code -> minimum number of sites of the *network* (current + new) in that région.
        ``{"11": 1, ...}`` for "at least one site in each of the 6 main urban régions" is
        :meth:`Quotas.main_regions`.
    max_new : mapping str -> int
        Région code -> maximum number of *new* sites in that région.
    max_new_per_region : int or None
        Cap on new sites for every région not listed in ``max_new``.
    """

    min_sites: Mapping[str, int] = field(default_factory=dict)
    max_new: Mapping[str, int] = field(default_factory=dict)
    max_new_per_region: int | None = None

    def __post_init__(self) -> None:
        for name, mapping in (("min_sites", self.min_sites), ("max_new", self.max_new)):
            if not isinstance(mapping, Mapping):
                raise ValueError(f"quotas.{name}: expected a mapping région code -> int, got {type(mapping).__name__}")
            for reg, value in mapping.items():
                if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                    raise ValueError(f"quotas.{name}: expected a non-negative integer for région {reg!r}, got {value!r}")
        m = self.max_new_per_region
        if m is not None and (isinstance(m, bool) or not isinstance(m, int) or m < 0):
            raise ValueError(f"quotas.max_new_per_region: expected a non-negative integer or None, got {m!r}")

    @classmethod
    def main_regions(cls, min_sites: int = 1, **kwargs: object) -> Quotas:
        """At least ``min_sites`` sites in each of :data:`~geo.siting.params.MAIN_URBAN_REGIONS`."""
        return cls(min_sites={r: min_sites for r in MAIN_URBAN_REGIONS}, **kwargs)  # type: ignore[arg-type]

    @classmethod
    def parse(cls, specs: Iterable[str]) -> Quotas:
        """Build quotas from ``REG=MIN:MAX`` strings (the CLI's ``--quota``).

        ``REG`` is a région code (``11``), ``main6`` (the six main urban régions) or ``*`` (every
        région, cap only). ``MIN`` counts the network's sites (current + new), ``MAX`` the new ones;
        either may be left empty: ``11=1``, ``93=:2``, ``main6=1``, ``*=:3``.
        """
        min_sites: dict[str, int] = {}
        max_new: dict[str, int] = {}
        default_max: int | None = None
        for spec in specs:
            text = str(spec).strip()
            if "=" not in text:
                raise ValueError(f"quota: expected REG=MIN:MAX (e.g. 11=1:3, main6=1, '*=:2'), got {spec!r}")
            reg, value = (p.strip() for p in text.split("=", 1))
            lo, _, hi = value.partition(":")
            try:
                lo_i = int(lo) if lo.strip() else None
                hi_i = int(hi) if hi.strip() else None
            except ValueError as exc:
                raise ValueError(f"quota: expected integers in REG=MIN:MAX, got {spec!r}") from exc
            if (lo_i is not None and lo_i < 0) or (hi_i is not None and hi_i < 0):
                raise ValueError(f"quota: expected non-negative integers, got {spec!r}")
            if reg == "*":
                if lo_i is not None:
                    raise ValueError(f"quota: '*' takes a cap only ('*=:MAX'), got {spec!r}")
                default_max = hi_i
                continue
            regions = list(MAIN_URBAN_REGIONS) if reg.lower() == MAIN6 else [reg]
            if not reg:
                raise ValueError(f"quota: expected a région code before '=', got {spec!r}")
            for r in regions:
                if lo_i is not None:
                    min_sites[r] = lo_i
                if hi_i is not None:
                    max_new[r] = hi_i
        return cls(min_sites=min_sites, max_new=max_new, max_new_per_region=default_max)

    def cap(self, region: str) -> int | None:
        """Cap on new sites in ``region`` (None: no cap)."""
        return self.max_new.get(region, self.max_new_per_region)

    @property
    def is_empty(self) -> bool:
        """True when no constraint is set."""
        return not self.min_sites and not self.max_new and self.max_new_per_region is None
