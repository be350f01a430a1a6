"""Builders of small hand-made siting inputs (imported by the siting tests)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import sparse

KM_LON = 78.85  # km per degree of longitude near 45° N
KM_LAT = 111.2


def at(x_km: float, y_km: float, *, lon0: float = 4.0, lat0: float = 45.0) -> tuple[float, float]:
    """lon/lat of a point x km east and y km north of (lon0, lat0)."""
    return lon0 + x_km / KM_LON, lat0 + y_km / KM_LAT


def qpv_row(code: str, com: str, x: float, y: float, pop: float, *, dep: str = "42", reg: str = "84",
            lib_reg: str = "Auvergne-Rhône-Alpes", epci: str = "200000001", poverty: float | None = 40.0,
            npnru: bool = False, households: float | None = None, lon0: float = 4.0, lat0: float = 45.0) -> dict:
    lon, lat = at(x, y, lon0=lon0, lat0=lat0)
    return {
        "code_qp": code, "lib_qp": f"Quartier {code}", "insee_com": com, "lib_com": f"Commune {com.split(';')[0]}",
        "insee_com_main": com.split(";")[0], "insee_dep": dep, "insee_reg": reg, "lib_reg": lib_reg,
        "siren_epci": epci, "lib_epci": f"EPCI {epci}", "zone": "metro", "population": pop,
        "households": households if households is not None else pop / 2.5,
        "poverty_rate": np.nan if poverty is None else poverty, "employment_rate": 50.0,
        "social_housing": pop / 5, "npnru": npnru, "rep_lon": lon, "rep_lat": lat,
    }


def commune_row(code: str, x: float, y: float, *, dep: str = "42", reg: str = "84",
                lib_reg: str = "Auvergne-Rhône-Alpes", epci: str = "200000001", lon0: float = 4.0,
                lat0: float = 45.0) -> dict:
    lon, lat = at(x, y, lon0=lon0, lat0=lat0)
    return {"insee_com": code, "name": f"Commune {code}", "insee_dep": dep, "lib_dep": "Loire", "insee_reg": reg,
            "lib_reg": lib_reg, "siren_epci": epci, "lib_epci": f"EPCI {epci}", "zone": "metro",
            "population": 10_000, "lon": lon, "lat": lat}


def make_problem(rows: list[list[int]], weight: list[float], *, covered0: list[int] = (), eligible=None,
                 region=None, locked_regions=None, conflicts: list[tuple[int, int]] = ()):
    """A :class:`Problem` from candidate -> covered items lists."""
    from geo.siting.solver import Problem

    n, m = len(rows), len(weight)
    r = [i for i, items in enumerate(rows) for _ in items]
    c = [j for items in rows for j in items]
    cov = sparse.csr_matrix((np.ones(len(r), dtype=bool), (r, c)), shape=(n, m), dtype=bool)
    cov0 = np.zeros(m, dtype=bool)
    cov0[list(covered0)] = True
    conf = None
    if conflicts:
        a = [p for p, q in conflicts] + [q for p, q in conflicts]
        b = [q for p, q in conflicts] + [p for p, q in conflicts]
        conf = sparse.csr_matrix((np.ones(len(a), dtype=bool), (a, b)), shape=(n, n), dtype=bool)
    return Problem(cov, np.asarray(weight, dtype=float), cov0,
                   np.ones(n, dtype=bool) if eligible is None else np.asarray(eligible, dtype=bool),
                   np.array(["R"] * n) if region is None else np.asarray(region), dict(locked_regions or {}), conf)


def toy_frames_data() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """A line of communes 10 km apart (A=42001 at 0 km, B=42002 at 10, C=42003 at 20, D=42004 at 40),
    E=42005 without QPV at 45 km, and Paris with two arrondissements.

    QPV (population): A1 1,000 and A2 500 in A; B1 2,000 in B (at 9 km, i.e. 1 km from A? no: 1 km west of
    B); C1 800 in C; D1 3,000 in D (poverty unknown); P1 4,000 near Paris 19e; P2 1,000 near Paris 1er.
    """
    q = [
        qpv_row("QN04201A", "42001", 0.0, 0.5, 1000, npnru=True),
        qpv_row("QN04202A", "42001", 0.5, -0.5, 500),
        qpv_row("QN04203B", "42002", 9.0, 0.0, 2000),
        qpv_row("QN04204C", "42003", 20.0, 0.0, 800, epci="200000002"),
        qpv_row("QN04205D", "42004", 40.0, 0.0, 3000, poverty=None, npnru=True, epci="200000002"),
        qpv_row("QN07501P", "75056", 0.3, 0.2, 4000, dep="75", reg="11", lib_reg="Île-de-France",
                epci="200054781", lon0=2.3878, lat0=48.8871),
        qpv_row("QN07502P", "75056", 0.1, -0.2, 1000, dep="75", reg="11", lib_reg="Île-de-France",
                epci="200054781", lon0=2.3410, lat0=48.8626),
    ]
    c = [
        commune_row("42001", 0, 0), commune_row("42002", 10, 0), commune_row("42003", 20, 0, epci="200000002"),
        commune_row("42004", 40, 0, epci="200000002"), commune_row("42005", 45, 0, epci="200000002"),
        commune_row("75056", 0, 0, dep="75", reg="11", lib_reg="Île-de-France", epci="200054781", lon0=2.3522,
                    lat0=48.8566),
    ]
    a = pd.DataFrame([
        {"insee_com": "75119", "name": "Paris 19e Arrondissement", "parent_com": "75056", "insee_dep": "75",
         "insee_reg": "11", "lib_reg": "Île-de-France", "population": 178_691, "lon": 2.3878, "lat": 48.8871},
        {"insee_com": "75101", "name": "Paris 1er Arrondissement", "parent_com": "75056", "insee_dep": "75",
         "insee_reg": "11", "lib_reg": "Île-de-France", "population": 15_000, "lon": 2.3410, "lat": 48.8626},
    ])
    return pd.DataFrame(q), pd.DataFrame(c), a
