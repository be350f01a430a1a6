"""Capacitated coverage with split quartiers: a team serves residents up to its capacity, nobody twice.

The model (``x_i`` binary for each eligible candidate, ``z_ij`` the residents of QPV ``j`` served by site
``i``; current sites are locked in with their own ``z``)::

    max  Σ_ij w_j z_ij                      (w_j: need weight per resident, 1 without weights)
    s.t. 0 <= z_ij <= pop_j,   z_ij = 0 outside the reach of i
         Σ_j z_ij <= cap_i · x_i            (a team's capacity, residents)
         Σ_i z_ij <= pop_j                  (a quartier may be split, nobody is counted twice)
         z_ij <= min(pop_j, cap_i) · x_i    (valid inequality: a tighter relaxation)
         Σ_i x_i = k   (or <= k, or the fewest x reaching a target)
         région minimums / caps, spacing pairs x_a + x_b <= 1
         at most R urban regions: x_i <= u_g(i), Σ_g u_g <= R - (regions the network already holds)

With an infinite capacity it is the maximal covering model of :mod:`geo.siting.solver`. The MILP is
solved by HiGHS through :func:`scipy.optimize.milp` (SciPy ships HiGHS; PuLP would only add model
building time here, the model is assembled directly as sparse matrices).

The heuristic (:func:`solve_capacitated_heuristic`) is a greedy on "fill" gains (a site takes the
neediest residual residents in its reach up to its capacity), then 1-swap local search on the same
measure; the chosen set's assignment is then made optimal by the transport LP, and the result carries
the LP relaxation bound of the full MILP, so its gap is certified. No library offers this capacitated,
locked, quota-constrained variant (spopt's MCLP has neither capacities nor split demand), hence this
module.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numpy as np
from scipy import sparse

from geo.siting.params import TIE_RTOL
from geo.siting.quotas import Quotas
from geo.siting.solver import InfeasibleError, Problem, SolverTimeoutError, _Rules

logger = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class CapacitatedProblem:
    """A capacitated coverage problem on arrays (rows: current sites first, then candidates).

    Attributes
    ----------
    reach : scipy.sparse.csr_matrix of bool, shape (n_locked + n_candidates, n_qpv)
        QPV each current site (first ``n_locked`` rows) or candidate may serve.
    population : numpy.ndarray
        Residents per QPV (>= 0).
    unit_weight : numpy.ndarray
        Objective weight of one resident of each QPV (1 for plain residents, demand / population
        with need weights).
    capacity : numpy.ndarray
        Residents each row may serve (``inf``: uncapacitated).
    n_locked : int
        Number of current sites (rows always open).
    base : Problem
        The candidates' covering problem (eligibility, régions, locked régions, spacing conflicts),
        shared with :mod:`geo.siting.solver` for the quota rules.
    group : numpy.ndarray of int or None
        Urban region index of each candidate (for the region limit), -1 for none.
    locked_groups : frozenset of int
        Urban regions where the network already is.
    """

    reach: sparse.csr_matrix
    population: np.ndarray
    unit_weight: np.ndarray
    capacity: np.ndarray
    n_locked: int
    base: Problem
    group: np.ndarray | None = None
    locked_groups: frozenset[int] = frozenset()

    def __post_init__(self) -> None:
        rows, m = self.reach.shape
        if rows != self.n_locked + self.base.n_candidates:
            raise ValueError(f"reach: expected {self.n_locked + self.base.n_candidates} rows, got {rows}")
        for name, arr, size in (("population", self.population, m), ("unit_weight", self.unit_weight, m),
                                ("capacity", self.capacity, rows)):
            if len(arr) != size:
                raise ValueError(f"{name}: expected length {size}, got {len(arr)}")
        if self.group is not None and len(self.group) != self.base.n_candidates:
            raise ValueError(f"group: expected length {self.base.n_candidates}, got {len(self.group)}")

    @property
    def n_candidates(self) -> int:
        """Number of candidates."""
        return self.base.n_candidates


@dataclass(frozen=True)
class CapacitatedSolution:
    """Chosen candidates, the residents each open site serves, and how good it is.

    Attributes
    ----------
    selected : list of int
        Candidate indices (0-based among candidates), in the order chosen.
    rows, qpv, residents : numpy.ndarray
        The assignment: row (current site, then ``n_locked + candidate``), QPV index, residents.
    objective : float
        Weighted residents served (current + new).
    bound : float or None
        Upper bound on the objective (LP relaxation, or the MILP's own bound).
    method : str
        ``exact-highs`` or ``heuristic``.
    optimal : bool
    elapsed_s : float
    """

    selected: list[int]
    rows: np.ndarray
    qpv: np.ndarray
    residents: np.ndarray
    objective: float
    bound: float | None
    method: str
    optimal: bool
    elapsed_s: float

    @property
    def ratio(self) -> float | None:
        """objective / bound (1 = proven optimal), None without a bound."""
        if self.bound is None or self.bound <= 0:
            return None
        return min(1.0, self.objective / self.bound)


# ---------------------------------------------------------------------------------------------- MILP


@dataclass(frozen=True)
class _Model:
    c: np.ndarray
    a: sparse.csr_matrix
    lo: np.ndarray
    hi: np.ndarray
    upper: np.ndarray
    integrality: np.ndarray
    cand: np.ndarray  # eligible candidate of each x
    pair_row: np.ndarray
    pair_qpv: np.ndarray
    nx: int


def _pairs(problem: CapacitatedProblem, cand: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(row, qpv) of every allowed pair: current sites' and eligible candidates' reach, populated QPV."""
    rows = np.r_[np.arange(problem.n_locked), problem.n_locked + cand].astype(np.int64)
    sub = problem.reach[rows].tocoo()
    keep = problem.population[sub.col] > 0
    return rows[sub.row[keep]], sub.col[keep].astype(np.int64)


def _quota_rows(problem: CapacitatedProblem, quotas: Quotas | None, cand: np.ndarray) -> list[tuple[np.ndarray, float, float]]:
    rules = _Rules(problem.base, quotas)
    reg = rules.reg[cand]
    out = []
    for r in range(len(rules.cap)):
        member = (reg == r).astype(float)
        if not member.any():
            continue
        hi = float(rules.cap[r]) if rules.cap[r] < member.sum() else np.inf
        if rules.need[r] > 0 or np.isfinite(hi):
            out.append((member, float(rules.need[r]), hi))
    return out


def _group_block(problem: CapacitatedProblem, cand: np.ndarray, max_regions: int | None):
    """Rows ``x_i - u_g <= 0`` and ``Σ u <= R - locked``; returns (matrix over [x, u], lo, hi, n_u)."""
    if max_regions is None or problem.group is None:
        return None
    g = problem.group[cand]
    free = sorted({int(v) for v in g if v >= 0} - set(problem.locked_groups))
    pos = {v: n for n, v in enumerate(free)}
    nx, nu = len(cand), len(free)
    left = max_regions - len(problem.locked_groups)
    outside = [i for i, v in enumerate(g) if v < 0]
    rows_x, rows_u = [], []
    for i, v in enumerate(g):
        if int(v) in pos:
            rows_x.append(i)
            rows_u.append(pos[int(v)])
    n_link = len(rows_x)
    link = sparse.csr_matrix((np.r_[np.ones(n_link), -np.ones(n_link)],
                              (np.r_[np.arange(n_link), np.arange(n_link)], np.r_[rows_x, np.add(rows_u, nx)])),
                             shape=(n_link, nx + nu))
    total = sparse.csr_matrix(np.r_[np.zeros(nx), np.ones(nu)][None, :])
    blocks = [link, total]
    lo, hi = [np.full(n_link, -np.inf), [-np.inf]], [np.zeros(n_link), [float(max(left, 0))]]
    if outside:  # candidates without an urban region cannot open under a region limit
        blocks.append(sparse.csr_matrix((np.ones(len(outside)), (np.arange(len(outside)), outside)),
                                        shape=(len(outside), nx + nu)))
        lo.append(np.zeros(len(outside)))
        hi.append(np.zeros(len(outside)))
    return sparse.vstack(blocks).tocsr(), np.concatenate(lo), np.concatenate(hi), nu


def _build(problem: CapacitatedProblem, *, k: int | None, quotas: Quotas | None, max_regions: int | None,
           need: float | None, weighted: bool = True) -> _Model:
    cand = np.flatnonzero(problem.base.eligible)
    nx = len(cand)
    pair_row, pair_qpv = _pairs(problem, cand)
    npair = len(pair_row)
    pop = problem.population
    w = problem.unit_weight if weighted else np.ones_like(pop)
    cap = problem.capacity
    xpos = np.full(problem.n_locked + problem.n_candidates, -1, dtype=np.int64)
    xpos[problem.n_locked + cand] = np.arange(nx)
    group = _group_block(problem, cand, max_regions)
    nu = group[3] if group else 0
    nvar = nx + npair + nu
    pair_cols = nx + np.arange(npair)
    blocks, lo, hi = [], [], []

    def add(mat: sparse.spmatrix, lower: np.ndarray, upper: np.ndarray) -> None:
        blocks.append(sparse.csr_matrix(mat, shape=(mat.shape[0], nvar)))
        lo.append(np.asarray(lower, float))
        hi.append(np.asarray(upper, float))

    n_rows = problem.n_locked + problem.n_candidates
    # capacity: Σ_j z_ij - cap_i x_i <= 0 (candidates), Σ_j z_lj <= cap_l (current sites)
    is_x = xpos[pair_row] >= 0
    cap_rows = sparse.csr_matrix((np.ones(npair), (pair_row, pair_cols)), shape=(n_rows, nvar))
    finite = np.isfinite(cap)
    xr = problem.n_locked + cand
    cap_x = sparse.csr_matrix((-np.where(finite[xr], cap[xr], 0.0), (xr, np.arange(nx))), shape=(n_rows, nvar))
    rows_used = np.unique(pair_row[finite[pair_row]])
    if len(rows_used):
        add((cap_rows + cap_x)[rows_used], np.full(len(rows_used), -np.inf),
            np.where(xpos[rows_used] >= 0, 0.0, cap[rows_used]))
    # each quartier at most its population
    qpv_used = np.unique(pair_qpv)
    qrows = sparse.csr_matrix((np.ones(npair), (pair_qpv, pair_cols)), shape=(len(pop), nvar))[qpv_used]
    add(qrows, np.full(len(qpv_used), -np.inf), pop[qpv_used])
    # valid inequalities z_ij <= min(pop_j, cap_i) x_i
    idx = np.flatnonzero(is_x)
    coef = np.minimum(pop[pair_qpv[idx]], np.where(finite[pair_row[idx]], cap[pair_row[idx]], np.inf))
    add(sparse.csr_matrix((np.r_[np.ones(len(idx)), -coef], (np.r_[np.arange(len(idx)), np.arange(len(idx))],
                                                              np.r_[pair_cols[idx], xpos[pair_row[idx]]])),
                          shape=(len(idx), nvar)), np.full(len(idx), -np.inf), np.zeros(len(idx)))
    if k is not None:
        add(sparse.csr_matrix(np.r_[np.ones(nx), np.zeros(npair + nu)][None, :]), [k if need is None else -np.inf], [k])
    if need is not None:
        served = sparse.csr_matrix(np.r_[np.zeros(nx), np.ones(npair), np.zeros(nu)][None, :])
        add(served, [need], [np.inf])
    for member, low, up in _quota_rows(problem, quotas, cand):
        add(sparse.csr_matrix(np.r_[member, np.zeros(npair + nu)][None, :]), [low], [up])
    if problem.base.conflicts is not None:
        pairs = sparse.triu(problem.base.conflicts[cand][:, cand], k=1).tocoo()
        if pairs.nnz:
            r = np.repeat(np.arange(pairs.nnz), 2)
            add(sparse.csr_matrix((np.ones(len(r)), (r, np.column_stack([pairs.row, pairs.col]).ravel())),
                                  shape=(pairs.nnz, nvar)), np.full(pairs.nnz, -np.inf), np.ones(pairs.nnz))
    if group:
        mat, glo, ghi, _ = group
        full = sparse.hstack([mat[:, :nx], sparse.csr_matrix((mat.shape[0], npair)), mat[:, nx:]]).tocsr()
        add(full, glo, ghi)
    if need is None:
        c = np.r_[np.zeros(nx), -w[pair_qpv], np.zeros(nu)]
    else:  # fewest sites; tiny reward for serving more breaks ties toward the larger coverage
        c = np.r_[np.ones(nx), -1e-9 * w[pair_qpv], np.zeros(nu)]
    upper = np.r_[np.ones(nx), pop[pair_qpv], np.ones(nu)]
    integrality = np.r_[np.ones(nx), np.zeros(npair), np.ones(nu)]
    return _Model(c, sparse.vstack(blocks).tocsr(), np.concatenate(lo), np.concatenate(hi), upper, integrality,
                  cand, pair_row, pair_qpv, nx)


def _solve_model(model: _Model, *, relax: bool, time_limit_s: float):  # noqa: ANN202
    from scipy.optimize import Bounds, LinearConstraint, milp

    lower = np.zeros(len(model.c))
    upper = model.upper.copy()
    options = {"time_limit": float(time_limit_s), "presolve": True}
    if not relax:
        options["mip_rel_gap"] = 0.0
    return milp(model.c, constraints=LinearConstraint(model.a, model.lo, model.hi),
                integrality=None if relax else model.integrality, bounds=Bounds(lower, upper), options=options)


def _solution(problem: CapacitatedProblem, model: _Model, values: np.ndarray, *, selected: list[int], bound: float | None,
              method: str, optimal: bool, t0: float) -> CapacitatedSolution:
    z = values[model.nx:model.nx + len(model.pair_row)]
    keep = z > 1e-6
    rows, qpv, res = model.pair_row[keep], model.pair_qpv[keep], z[keep]
    obj = float((problem.unit_weight[qpv] * res).sum())
    return CapacitatedSolution(selected, rows, qpv, res, obj, bound, method, optimal, time.perf_counter() - t0)


def lp_relaxation(problem: CapacitatedProblem, *, k: int | None, quotas: Quotas | None = None,
                  max_regions: int | None = None, time_limit_s: float = 60.0) -> tuple[float | None, np.ndarray]:
    """The LP relaxation: (upper bound on the weighted residents served, fractional ``x`` per candidate).

    The bound is None (and ``x`` zeros) when the relaxation fails or is infeasible.
    """
    model = _build(problem, k=k, quotas=quotas, max_regions=max_regions, need=None)
    res = _solve_model(model, relax=True, time_limit_s=time_limit_s)
    x = np.zeros(problem.n_candidates)
    if res.x is None:
        return None, x
    x[model.cand] = res.x[:model.nx]
    return -float(res.fun), x


def lp_bound(problem: CapacitatedProblem, *, k: int | None, quotas: Quotas | None = None,
             max_regions: int | None = None, time_limit_s: float = 60.0) -> float | None:
    """Upper bound on the weighted residents ``k`` new sites (and the network) can serve: the LP relaxation."""
    return lp_relaxation(problem, k=k, quotas=quotas, max_regions=max_regions, time_limit_s=time_limit_s)[0]


def solve_capacitated_exact(
    problem: CapacitatedProblem, *, k: int | None, quotas: Quotas | None = None, max_regions: int | None = None,
    need: float | None = None, time_limit_s: float = 120.0,
) -> CapacitatedSolution:
    """Optimal new sites of the capacitated model (MILP, HiGHS through :func:`scipy.optimize.milp`).

    Parameters
    ----------
    problem : CapacitatedProblem
    k : int or None
        Exactly ``k`` new sites; with ``need``, at most ``k`` (None: no limit).
    quotas : Quotas, optional
        Région minimums (network) and caps (new sites).
    max_regions : int, optional
        At most this many urban regions in the plan, those of the network included.
    need : float, optional
        Target mode: the fewest new sites serving at least ``need`` residents (unweighted).
    time_limit_s : float

    Returns
    -------
    CapacitatedSolution

    Raises
    ------
    InfeasibleError
        When no choice satisfies the constraints.
    SolverTimeoutError
        When the time limit passes before any feasible solution.
    """
    t0 = time.perf_counter()
    model = _build(problem, k=k, quotas=quotas, max_regions=max_regions, need=need)
    res = _solve_model(model, relax=False, time_limit_s=time_limit_s)
    if res.status == 2:
        raise InfeasibleError("capacity: the capacitated MILP is infeasible (k, quotas, spacing, regions or target)",
                              msgid="siting.error.infeasible")
    if res.x is None:
        raise SolverTimeoutError(f"time_limit_s: HiGHS found no feasible solution within time_limit_s={time_limit_s:g} s "
                                 f"({res.message}); expected a longer time limit, or use the heuristic")
    x = res.x[:model.nx] > 0.5
    selected = [int(i) for i in model.cand[x]]
    bound = getattr(res, "mip_dual_bound", None)
    bound = -float(bound) if bound is not None and need is None else None
    sol = _solution(problem, model, res.x, selected=selected, bound=bound, method="exact-highs",
                    optimal=res.status == 0, t0=t0)
    if need is None and sol.optimal:
        return CapacitatedSolution(sol.selected, sol.rows, sol.qpv, sol.residents, sol.objective, sol.objective,
                                   sol.method, True, sol.elapsed_s)
    return sol


def assign(problem: CapacitatedProblem, selected: list[int], *, time_limit_s: float = 60.0) -> CapacitatedSolution:
    """The best assignment (transport LP) of residents to the network and the ``selected`` candidates.

    Only the pairs of the open rows enter the LP (a few hundred variables, where the full model holds every
    candidate's): the same optimum, about four times faster, which the heuristic's swaps and the robustness
    grid pay several times per plan.
    """
    from scipy.optimize import Bounds, LinearConstraint, milp

    t0 = time.perf_counter()
    open_rows = np.r_[np.arange(problem.n_locked), problem.n_locked + np.asarray(selected, dtype=np.int64)]
    sub = problem.reach[open_rows.astype(np.int64)].tocoo()
    keep = problem.population[sub.col] > 0
    pair_row, pair_qpv = open_rows[sub.row[keep]].astype(np.int64), sub.col[keep].astype(np.int64)
    n = len(pair_row)
    rows, row_of = np.unique(pair_row, return_inverse=True)
    qpv, qpv_of = np.unique(pair_qpv, return_inverse=True)
    cap = problem.capacity[rows]
    a = sparse.vstack([sparse.csr_matrix((np.ones(n), (row_of, np.arange(n))), shape=(len(rows), n)),
                       sparse.csr_matrix((np.ones(n), (qpv_of, np.arange(n))), shape=(len(qpv), n))]).tocsr()
    hi = np.r_[np.where(np.isfinite(cap), cap, problem.population.sum() + 1.0), problem.population[qpv]]
    upper = np.minimum(problem.population[pair_qpv], problem.capacity[pair_row])
    res = milp(-problem.unit_weight[pair_qpv], constraints=LinearConstraint(a, np.full(len(hi), -np.inf), hi),
               bounds=Bounds(np.zeros(n), upper), options={"time_limit": float(time_limit_s), "presolve": True})
    if res.x is None:
        raise InfeasibleError(f"selected: the assignment LP failed ({res.message})")
    z = res.x
    served = z > 1e-6
    rows_out, qpv_out, residents = pair_row[served], pair_qpv[served], z[served]
    objective = float((problem.unit_weight[qpv_out] * residents).sum())
    return CapacitatedSolution(list(selected), rows_out, qpv_out, residents, objective, None, "assignment", False,
                               time.perf_counter() - t0)


# ----------------------------------------------------------------------------------------- heuristic


class _Fill:
    """Vectorised "fill" gains: each row takes the neediest residual residents in its reach up to its capacity."""

    def __init__(self, problem: CapacitatedProblem) -> None:
        coo = problem.reach.tocoo()
        keep = problem.population[coo.col] > 0
        row, col = coo.row[keep].astype(np.int64), coo.col[keep].astype(np.int64)
        order = np.lexsort((-problem.unit_weight[col], row))
        self.row, self.col = row[order], col[order]
        self.n_rows = problem.reach.shape[0]
        starts = np.searchsorted(self.row, np.arange(self.n_rows))
        self.start = starts
        self.w = problem.unit_weight
        self.cap = problem.capacity

    def takes(self, residual: np.ndarray) -> np.ndarray:
        """Residents each pair would take if its row were opened alone on ``residual``."""
        vals = residual[self.col]
        cum = np.cumsum(vals)
        offset = np.r_[0.0, cum][self.start[self.row]]
        before = cum - vals - offset
        return np.clip(self.cap[self.row] - before, 0.0, vals)

    def gains(self, residual: np.ndarray) -> np.ndarray:
        """Weighted residents each row would add."""
        return np.bincount(self.row, weights=self.w[self.col] * self.takes(residual), minlength=self.n_rows)

    def open(self, row: int, residual: np.ndarray) -> np.ndarray:
        """Residents taken by ``row`` (per pair of that row); ``residual`` is decreased in place."""
        sl = slice(self.start[row], self.start[row + 1] if row + 1 < self.n_rows else len(self.row))
        vals = residual[self.col[sl]]
        before = np.cumsum(vals) - vals
        take = np.clip(self.cap[row] - before, 0.0, vals)
        residual[self.col[sl]] -= take
        return take

    def release(self, row: int, take: np.ndarray, residual: np.ndarray) -> None:
        """Give back what ``row`` took."""
        sl = slice(self.start[row], self.start[row + 1] if row + 1 < self.n_rows else len(self.row))
        residual[self.col[sl]] += take


class _Feasible:
    """Which candidates may still be added: eligibility, région caps, spacing and the region limit."""

    def __init__(self, problem: CapacitatedProblem, quotas: Quotas | None, max_regions: int | None) -> None:
        self.p = problem
        self.rules = _Rules(problem.base, quotas)
        self.max_regions = max_regions if problem.group is not None else None

    def mask(self, chosen: list[int]) -> np.ndarray:
        base = self.p.base
        ok = base.eligible.copy()
        ok[chosen] = False
        counts = np.bincount(self.rules.reg[chosen], minlength=len(self.rules.cap)) if chosen else \
            np.zeros(len(self.rules.cap), dtype=np.int64)
        ok &= counts[self.rules.reg] < self.rules.cap[self.rules.reg]
        for i in chosen:
            ok[base.conflict_row(i)] = False
        if self.max_regions is not None:
            open_groups = set(self.p.locked_groups) | {int(self.p.group[i]) for i in chosen}
            if len(open_groups) >= self.max_regions:
                ok &= np.isin(self.p.group, list(open_groups))
            ok &= self.p.group >= 0
        return ok

    def deficit(self, chosen: list[int]) -> np.ndarray:
        counts = np.bincount(self.rules.reg[chosen], minlength=len(self.rules.cap)) if chosen else \
            np.zeros(len(self.rules.cap), dtype=np.int64)
        return np.maximum(self.rules.need - counts, 0)


def _best(gains: np.ndarray, ok: np.ndarray) -> int | None:
    g = np.where(ok, gains, -np.inf)
    if not np.isfinite(g.max()):
        return None
    top = g.max()
    return int(np.flatnonzero(g >= top - TIE_RTOL * max(1.0, abs(top)))[0])


def _greedy(problem: CapacitatedProblem, fill: _Fill, feas: _Feasible, k: int | None, need: float | None,
            residual: np.ndarray, start: list[int] = ()) -> tuple[list[int], dict[int, np.ndarray]]:
    chosen: list[int] = []
    takes: dict[int, np.ndarray] = {}
    nl = problem.n_locked
    for i in start:
        if feas.mask(chosen)[i]:
            chosen.append(int(i))
            takes[int(i)] = fill.open(nl + int(i), residual)
    limit = k if k is not None else problem.n_candidates
    served0 = float(problem.population.sum())
    while len(chosen) < limit:
        if need is not None and served0 - residual.sum() >= need and not feas.deficit(chosen).any():
            break
        ok = feas.mask(chosen)
        deficit = feas.deficit(chosen)
        if deficit.any() and limit - len(chosen) <= int(deficit.sum()):
            ok &= deficit[feas.rules.reg] > 0
        weights_gain = fill.gains(residual)[nl:] if need is None else \
            np.bincount(fill.row, weights=fill.takes(residual), minlength=fill.n_rows)[nl:]
        i = _best(weights_gain, ok)
        if i is None:
            if k is not None or need is not None:
                raise InfeasibleError(f"k: only {len(chosen)} candidates could be placed under the constraints",
                                      msgid="siting.error.k_placed", fields={"n": len(chosen)})
            break
        chosen.append(i)
        takes[i] = fill.open(nl + i, residual)
    return chosen, takes


def _swaps(problem: CapacitatedProblem, fill: _Fill, feas: _Feasible, chosen: list[int],
           takes: dict[int, np.ndarray], residual: np.ndarray, *, max_passes: int = 5) -> list[int]:
    nl = problem.n_locked
    for _ in range(max_passes):
        improved = False
        for pos in range(len(chosen)):
            s = chosen[pos]
            fill.release(nl + s, takes[s], residual)
            others = chosen[:pos] + chosen[pos + 1:]
            gains = fill.gains(residual)[nl:]
            ok = feas.mask(others)
            deficit = feas.deficit(others)
            if deficit.any():
                ok &= deficit[feas.rules.reg] > 0
            b = _best(gains, ok)
            if b is not None and b != s and gains[b] > gains[s] * (1 + 1e-9) + 1e-9:
                chosen[pos] = b
                improved = True
                del takes[s]
                s = b
            takes[s] = fill.open(nl + s, residual)
        if not improved:
            break
    return chosen


def _from_assignment(problem: CapacitatedProblem, fill: _Fill,
                     sol: CapacitatedSolution) -> tuple[np.ndarray, dict[int, np.ndarray]]:
    """Residual residents and each chosen site's takes (aligned on the fill pairs) of an assignment."""
    residual = problem.population.astype(float) - np.bincount(sol.qpv, weights=sol.residents,
                                                              minlength=len(problem.population))
    residual = np.maximum(residual, 0.0)
    nl = problem.n_locked
    takes = {}
    for i in sol.selected:
        row = nl + i
        end = fill.start[row + 1] if row + 1 < fill.n_rows else len(fill.row)
        cols = fill.col[fill.start[row]:end]
        got = dict(zip(sol.qpv[sol.rows == row].tolist(), sol.residents[sol.rows == row].tolist(), strict=True))
        takes[i] = np.array([got.get(int(c), 0.0) for c in cols])
    return residual, takes


def solve_capacitated_heuristic(
    problem: CapacitatedProblem, *, k: int | None, quotas: Quotas | None = None, max_regions: int | None = None,
    need: float | None = None, with_bound: bool = True,
) -> CapacitatedSolution:
    """Greedy fill + swaps, then the optimal assignment of the chosen set, with the LP bound (k mode).

    Same arguments as :func:`solve_capacitated_exact`; with ``need`` the greedy stops once the
    residents served reach it. ``bound`` is the LP relaxation of the MILP (k mode, ``with_bound``).
    """
    t0 = time.perf_counter()
    fill = _Fill(problem)
    feas = _Feasible(problem, quotas, max_regions)
    bound, x_lp = (lp_relaxation(problem, k=k, quotas=quotas, max_regions=max_regions)
                   if with_bound and need is None else (None, None))
    starts: list[list[int]] = [[]]
    if x_lp is not None and k is not None:  # LP-guided start: the candidates the relaxation opens (almost) fully
        firm = np.flatnonzero(x_lp > 0.5)
        starts.append([int(i) for i in firm[np.argsort(-x_lp[firm], kind="stable")][:k]])
    best: CapacitatedSolution | None = None
    for start in starts:
        residual = problem.population.astype(float).copy()
        for row in range(problem.n_locked):
            fill.open(row, residual)
        chosen, takes = _greedy(problem, fill, feas, k, need, residual, start)
        sol = assign(problem, chosen)
        for _ in range(4 if need is None else 0):  # swaps against the optimal assignment of the current set
            residual, takes = _from_assignment(problem, fill, sol)
            chosen = _swaps(problem, fill, feas, list(sol.selected), takes, residual)
            if set(chosen) == set(sol.selected):
                break
            new = assign(problem, chosen)
            if new.objective <= sol.objective * (1 + 1e-12):
                break
            sol = new
        if best is None or sol.objective > best.objective * (1 + 1e-12):
            best = sol
    assert best is not None
    return CapacitatedSolution(best.selected, best.rows, best.qpv, best.residents, best.objective, bound, "heuristic",
                               False, time.perf_counter() - t0)
