"""Statistical secrecy: primary suppression below 11 households, secondary suppression against differencing.

The attacker in these tests knows every published cell of every view, the additivity of the table and
that counts are non-negative; they solve for hidden cells by subtraction and by linear programming
(an LP written here, independently of :func:`geo.privacy.audit`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from geo import privacy

DIMS = (("region", "site", "qpv"), ("quarter",))
DEPTHS = ((0, 0), (1, 0), (2, 0), (3, 0), (0, 1), (1, 1))


def _cube(rows: list[tuple], *, depths=DEPTHS) -> privacy.Cube:
    frame = pd.DataFrame(rows, columns=["region", "site", "qpv", "quarter", "households"])
    frame["doors"] = frame["households"] * 2 + 1
    return privacy.protect(privacy.build_cube(frame, dims=DIMS, count="households", measures=("doors",),
                                              depths=depths))


def _attacker_bounds(cube: privacy.Cube, measure: str = "households") -> pd.DataFrame:
    """Min and max of each hidden cell given what is published (independent LP)."""
    cells = cube.cells
    hidden = np.flatnonzero(cells["suppressed"].to_numpy())
    known = ~cells["suppressed"].to_numpy()
    values = cells[measure].to_numpy(float)
    a = cube.relations.toarray()
    a_h, rhs = a[:, hidden], -(a[:, known] @ values[known])
    keep = np.abs(a_h).sum(axis=1) > 0
    a_h, rhs = a_h[keep], rhs[keep]
    out = []
    for j, cell in enumerate(hidden):
        c = np.zeros(len(hidden))
        c[j] = 1
        lo = linprog(c, A_eq=a_h, b_eq=rhs, bounds=(0, None), method="highs")
        hi = linprog(-c, A_eq=a_h, b_eq=rhs, bounds=(0, None), method="highs")
        out.append((cell, values[cell], lo.fun, -hi.fun if hi.status == 0 else np.inf))
    return pd.DataFrame(out or None, columns=["cell", "value", "lower", "upper"]).set_index("cell")


def test_primary_mask() -> None:
    assert privacy.primary_mask([0, 10, 11, 250, np.nan]).tolist() == [True, True, False, False, True]
    assert privacy.primary_mask([4, 5], threshold=5).tolist() == [True, False]
    with pytest.raises(ValueError, match="threshold: expected a positive integer, got 0"):
        privacy.primary_mask([1], threshold=0)
    with pytest.raises(ValueError, match="counts: expected non-negative counts"):
        privacy.primary_mask([-1])


def test_single_small_site_gets_a_complement() -> None:
    rows = [("11", "A", "q1", "T1", 5), ("11", "B", "q2", "T1", 30), ("11", "C", "q3", "T1", 40)]
    cube = _cube(rows, depths=((0, 0), (2, 0)))
    sites = privacy.view(cube, (2, 0))
    assert sites.loc[sites["secret"], "site"].tolist() == ["A", "B"]
    national = privacy.view(cube, (0, 0))["households"].iat[0]
    visible = sites["households"].sum()
    assert national - visible == 35  # the difference mixes A with its complement: A is not recovered


def test_no_relation_has_a_single_hidden_cell() -> None:
    rows = [("11", "A", "q1", "T1", 3), ("11", "A", "q2", "T2", 60), ("11", "B", "q3", "T1", 25),
            ("11", "B", "q3", "T2", 7), ("32", "C", "q4", "T1", 50), ("32", "C", "hors_qpv", "T2", 2),
            ("32", "D", "q5", "T2", 44)]
    cube = _cube(rows)
    rel = cube.relations.tocsr()
    hidden = cube.cells["suppressed"].to_numpy()
    per_relation = np.array([hidden[rel.indices[rel.indptr[r]:rel.indptr[r + 1]]].sum() for r in range(rel.shape[0])])
    assert (per_relation != 1).all()
    assert cube.cells.loc[cube.cells["primary"], "suppressed"].all()


def test_differencing_between_views_reveals_no_small_cell() -> None:
    """Région view, national view, site view, QPV view and quarterly views put side by side."""
    rng = np.random.default_rng(7)
    rows = []
    for r in ("11", "32", "84"):
        for s in range(3):
            for q in range(4):
                for t in ("2025-T1", "2025-T2", "2025-T3", "2025-T4"):
                    n = int(rng.choice([0, 1, 3, 8, 40, 120]))
                    if n:
                        rows.append((r, f"{r}-{s}", f"q{r}{s}{q}" if q else "hors_qpv", t, n))
    cube = _cube(rows)
    assert cube.cells["primary"].any(), "the fixture must hold small cells"
    views = {d: privacy.view(cube, d) for d in DEPTHS}
    # naive differencing: a parent minus its visible children never gives a small hidden value alone
    for (gdepth, tdepth), frame in views.items():
        if gdepth == 3 or tdepth == 1:
            continue
        keys = ["region", "site"][:gdepth]
        children = views[(gdepth + 1, tdepth)]
        for _, parent in frame.iterrows():
            if parent["secret"]:
                continue
            mask = np.ones(len(children), dtype=bool)
            for k in keys:
                mask &= (children[k] == parent[k]).to_numpy()
            kids = children[mask]
            assert kids["secret"].sum() != 1, f"one hidden child under {parent[keys].to_dict()}"
    # linear-programming attacker over everything published
    bounds = _attacker_bounds(cube)
    primary = cube.cells["primary"].to_numpy()
    small = bounds.loc[np.array([primary[i] for i in bounds.index], dtype=bool)]
    assert len(small) > 0
    assert ((small["upper"] - small["lower"]) >= privacy.THRESHOLD).all()
    # the package's own audit agrees with the attacker
    audit = privacy.audit(cube)
    np.testing.assert_allclose(audit["upper"].to_numpy(), small["upper"].to_numpy())
    # the other measures share the pattern and are protected too
    doors = _attacker_bounds(cube, "doors")
    assert ((doors.loc[small.index, "upper"] - doors.loc[small.index, "lower"]) > 0).all()


def test_filtered_view_is_a_subset_of_the_full_view() -> None:
    rows = [("11", "A", "q1", "T1", 3), ("11", "B", "q2", "T1", 30), ("11", "C", "q3", "T1", 40),
            ("32", "D", "q4", "T1", 90)]
    cube = _cube(rows)
    full = privacy.view(cube, (2, 0))
    filtered = privacy.view(cube, (2, 0), where={"region": "11"})
    merged = filtered.merge(full, on=["region", "site"], suffixes=("", "_full"))
    assert len(merged) == len(filtered) == 3
    assert (merged["secret"] == merged["secret_full"]).all()
    pd.testing.assert_series_equal(merged["households"], merged["households_full"], check_names=False)


def test_view_errors() -> None:
    cube = _cube([("11", "A", "q1", "T1", 30)], depths=((0, 0), (1, 0)))
    with pytest.raises(ValueError, match="depth: expected a combination of depths published"):
        privacy.view(cube, (3, 1))
    with pytest.raises(ValueError, match="where: expected level columns"):
        privacy.view(cube, (1, 0), where={"commune": "x"})
    bad = pd.DataFrame({"region": ["11"], "site": ["A"], "qpv": ["q"], "quarter": ["T1"], "households": [-1]})
    with pytest.raises(ValueError, match=r"frame\['households'\]: expected non-negative numbers"):
        privacy.build_cube(bad, dims=DIMS, count="households")
    with pytest.raises(ValueError, match="frame: expected columns"):
        privacy.build_cube(bad.drop(columns="site"), dims=DIMS, count="households")
    with pytest.raises(ValueError, match="protection: expected a non-negative width"):
        privacy.protect(cube, protection=-1)


def test_suppress_rows_standalone() -> None:
    frame = pd.DataFrame({"name": ["a", "b"], "households": [4, 12], "rate": [0.1, 0.2]})
    out = privacy.suppress_rows(frame, count="households")
    assert out["secret"].tolist() == [True, False]
    assert out["households"].isna().tolist() == [True, False] and out["rate"].isna().tolist() == [True, False]
    assert out["name"].tolist() == ["a", "b"]


@st.composite
def _trees(draw: st.DrawFn) -> list[tuple]:
    rows = []
    for r in range(draw(st.integers(1, 3))):
        for s in range(draw(st.integers(1, 3))):
            for q in range(draw(st.integers(1, 3))):
                for t in range(draw(st.integers(1, 3))):
                    n = draw(st.sampled_from([0, 1, 2, 5, 9, 10, 11, 12, 30, 200]))
                    if n:
                        rows.append((f"R{r}", f"S{r}{s}", f"Q{r}{s}{q}", f"T{t}", n))
    return rows or [("R0", "S00", "Q000", "T0", 1)]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_trees())
def test_property_every_small_cell_keeps_an_11_wide_range(rows: list[tuple]) -> None:
    cube = _cube(rows)
    primary = cube.cells["primary"].to_numpy()
    assert (cube.cells.loc[primary, "suppressed"]).all()
    bounds = _attacker_bounds(cube)
    small = bounds.loc[np.array([primary[i] for i in bounds.index], dtype=bool)]
    assert ((small["upper"] - small["lower"]) >= privacy.THRESHOLD).all()
    visible = privacy.view(cube, (1, 0))
    assert (visible.loc[~visible["secret"], "households"] >= privacy.THRESHOLD).all()
