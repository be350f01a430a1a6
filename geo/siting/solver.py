"""Maximal covering location with locked sites, regional quotas and spacing: greedy + swaps, and exact MILP.

The problem, on arrays: choose new candidates ``S`` (``|S| = k``) maximising the weight of QPV covered by
``S`` or by the current network, such that every chosen candidate is eligible, no two sites are closer
than the minimum spacing (``conflicts``), each région gets at least its minimum number of sites (current
+ new) and at most its cap of new ones. The target mode asks instead for the fewest new sites whose
coverage reaches a given value.

* :func:`solve_heuristic` — greedy (largest marginal gain, ties to the lowest candidate index, i.e. the
  lowest INSEE code) then 1-swap local search until no swap improves: milliseconds nationally.
* :func:`solve_exact` / :func:`solve_exact_target` — the same models as mixed-integer programmes
  (PuLP with HiGHS, or CBC), solved to proven optimality (relative gap 0).
* :func:`target_heuristic` — greedy until the target is met, then tries to do with one site fewer
  (greedy + swaps for k - 1) as long as it can; returns a lower bound too (the fewest sites whose
  individual gains could add up to the need, and the rounded-up linear relaxation), which proves
  minimality when it meets the count.
"""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
from scipy import sparse

from geo._errors import VoisinmapError
from geo.siting.params import TIE_RTOL
from geo.siting.quotas import Quotas

logger = logging.getLogger(__name__)

SOLVERS: tuple[str, ...] = ("highs", "cbc")


class InfeasibleError(VoisinmapError, ValueError):
    """No set of sites satisfies the constraints (quotas, spacing, k)."""


class SolverTimeoutError(VoisinmapError, RuntimeError):
    """The exact solver stopped at its time limit before finding any feasible solution."""


@dataclass(frozen=True, eq=False)
class Problem:
    """A covering problem on arrays.

    Attributes
    ----------
    coverage : scipy.sparse.csr_matrix of bool, shape (n_candidates, n_items)
    weight : numpy.ndarray, shape (n_items,)
        Objective weight of each item (QPV), >= 0.
    covered0 : numpy.ndarray of bool, shape (n_items,)
        Items already covered by the locked (current) sites.
    eligible : numpy.ndarray of bool, shape (n_candidates,)
        Candidates that may be chosen.
    region : numpy.ndarray of str, shape (n_candidates,)
        Région code of each candidate.
    locked_regions : dict
        Région code -> number of locked sites.
    conflicts : scipy.sparse.csr_matrix of bool or None, shape (n_candidates, n_candidates)
        Symmetric pairs of candidates too close to be both chosen (minimum spacing).
    """

    coverage: sparse.csr_matrix
    weight: np.ndarray
    covered0: np.ndarray
    eligible: np.ndarray
    region: np.ndarray
    locked_regions: dict[str, int] = field(default_factory=dict)
    conflicts: sparse.csr_matrix | None = None

    def __post_init__(self) -> None:
        n, m = self.coverage.shape
        checks = (("weight", self.weight, m), ("covered0", self.covered0, m), ("eligible", self.eligible, n),
                  ("region", self.region, n))
        for name, arr, size in checks:
            if len(arr) != size:
                raise ValueError(f"{name}: expected length {size}, got {len(arr)}")
        if np.any(np.asarray(self.weight) < 0):
            raise ValueError("weight: expected non-negative weights, got negative values")
        if self.conflicts is not None and self.conflicts.shape != (n, n):
            raise ValueError(f"conflicts: expected shape {(n, n)}, got {self.conflicts.shape}")

    @property
    def n_candidates(self) -> int:
        """Number of candidates."""
        return self.coverage.shape[0]

    @cached_property
    def cov(self) -> sparse.csr_matrix:
        """Coverage as a float CSR matrix (for fast products)."""
        c = sparse.csr_matrix(self.coverage, dtype=np.float64)
        c.sum_duplicates()
        c.data[:] = 1.0
        return c

    @cached_property
    def regions(self) -> tuple[np.ndarray, np.ndarray]:
        """(unique région codes, index of each candidate's région in them)."""
        codes, idx = np.unique(np.asarray(self.region, dtype=str), return_inverse=True)
        return codes, idx

    def row(self, i: int) -> np.ndarray:
        """Items covered by candidate ``i``."""
        c = self.cov
        return c.indices[c.indptr[i]:c.indptr[i + 1]]

    def conflict_row(self, i: int) -> np.ndarray:
        """Candidates in conflict with candidate ``i``."""
        c = self.conflicts
        if c is None:
            return np.zeros(0, dtype=np.int64)
        return c.indices[c.indptr[i]:c.indptr[i + 1]]


def objective(problem: Problem, selected: Sequence[int]) -> float:
    """Weight covered by the locked sites and ``selected``."""
    covered = problem.covered0.copy()
    for i in selected:
        covered[problem.row(int(i))] = True
    return float(problem.weight[covered].sum())


class _Rules:
    """Quota bookkeeping on région indices."""

    def __init__(self, problem: Problem, quotas: Quotas | None) -> None:
        quotas = quotas or Quotas()
        codes, self.reg = problem.regions
        pos = {c: i for i, c in enumerate(codes)}
        big = np.iinfo(np.int64).max // 4
        self.cap = np.array([quotas.cap(c) if quotas.cap(c) is not None else big for c in codes], dtype=np.int64)
        self.need = np.zeros(len(codes), dtype=np.int64)
        for reg, minimum in quotas.min_sites.items():
            deficit = minimum - problem.locked_regions.get(reg, 0)
            if deficit <= 0:
                continue
            if reg not in pos:
                raise InfeasibleError(f"quotas: région {reg} needs {deficit} new site(s) but has no candidate",
                                      msgid="siting.error.quota_candidates", fields={"region": reg, "n": deficit, "avail": 0})
            self.need[pos[reg]] = deficit
            avail = int((problem.eligible & (self.reg == pos[reg])).sum())
            if avail < deficit:
                raise InfeasibleError(f"quotas: région {reg} needs {deficit} new site(s) but has {avail} eligible candidate(s)",
                                      msgid="siting.error.quota_candidates", fields={"region": reg, "n": deficit, "avail": avail})
            if deficit > self.cap[pos[reg]]:
                raise InfeasibleError(f"quotas: région {reg} needs {deficit} new site(s) but its cap is {self.cap[pos[reg]]}",
                                      msgid="siting.error.quota_cap",
                                      fields={"region": reg, "n": deficit, "cap": int(self.cap[pos[reg]])})
        self.total_need = int(self.need.sum())


def _pick(gains: np.ndarray, feasible: np.ndarray) -> int:
    """Largest gain among feasible candidates; ties (relative TIE_RTOL) go to the lowest index."""
    g = np.where(feasible, gains, -np.inf)
    best = g.max()
    return int(np.flatnonzero(g >= best - TIE_RTOL * max(1.0, abs(best)))[0])


def _check_k(k: int | None, until: float | None) -> None:
    if k is None and until is None:
        raise ValueError("k: expected a number of sites or a target value (until=), got neither")
    if k is not None and (isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 0):
        raise ValueError(f"k: expected a non-negative integer, got {k!r}")


def _reached(value: float, until: float | None) -> bool:
    """Whether the covered weight ``value`` meets the target ``until`` (within the tie tolerance)."""
    return until is not None and value >= until - TIE_RTOL * max(1.0, abs(until))


def greedy(
    problem: Problem,
    k: int | None,
    *,
    quotas: Quotas | None = None,
    until: float | None = None,
    stop_without_gain: bool = False,
    start: Sequence[int] = (),
) -> tuple[list[int], list[float]]:
    """Greedy maximal covering.

    Parameters
    ----------
    problem : Problem
    k : int or None
        Number of new sites (``None`` only with ``until``).
    quotas : Quotas, optional
    until : float, optional
        Stop as soon as the covered weight reaches this value (and the minimum quotas are met).
    stop_without_gain : bool
        Stop when no candidate adds anything (the curve mode).
    start : sequence of int
        Candidates taken first, in this order, without checking them (e.g. a solution to extend);
        they count in ``k`` and in the caps.

    Returns
    -------
    selected : list of int
        Candidate indices in the order chosen (``start`` first).
    covered_after : list of float
        Covered weight after each choice.

    Raises
    ------
    InfeasibleError
        When the constraints leave no candidate before ``k`` sites are placed (or the target is met).
    """
    _check_k(k, until)
    rules = _Rules(problem, quotas)
    if k is not None and rules.total_need > k:
        raise InfeasibleError(f"quotas: the minimum quotas need {rules.total_need} new sites, more than k={k}",
                              msgid="siting.error.quota_k", fields={"n": rules.total_need, "k": k})
    w = np.asarray(problem.weight, dtype=float)
    covered = problem.covered0.copy()
    u = np.where(covered, 0.0, w)
    value = float(w[covered].sum())
    chosen = np.zeros(problem.n_candidates, dtype=bool)
    conflict = np.zeros(problem.n_candidates, dtype=np.int64)
    new_count = np.zeros(len(rules.cap), dtype=np.int64)
    selected: list[int] = []
    trace: list[float] = []

    def take(i: int) -> None:
        nonlocal value
        rows = problem.row(i)
        value += float(u[rows].sum())
        u[rows] = 0.0
        covered[rows] = True
        chosen[i] = True
        conflict[problem.conflict_row(i)] += 1
        new_count[rules.reg[i]] += 1
        selected.append(i)
        trace.append(value)

    for i in start:
        take(int(i))
    limit = k if k is not None else problem.n_candidates
    while len(selected) < limit:
        deficit = np.maximum(rules.need - new_count, 0)
        target_met = _reached(value, until)
        if target_met and not deficit.any():
            break
        gains = problem.cov @ u
        feas = problem.eligible & ~chosen & (conflict == 0) & (new_count[rules.reg] < rules.cap[rules.reg])
        if deficit.any() and (target_met or (k is not None and deficit.sum() >= k - len(selected))):
            feas &= deficit[rules.reg] > 0
        if not feas.any():
            if stop_without_gain:
                break
            raise InfeasibleError(
                f"constraints: only {len(selected)} new site(s) could be placed "
                f"(spacing, caps or quotas leave no eligible candidate); asked for {k if k is not None else 'the target'}"
            )
        i = _pick(gains, feas)
        if stop_without_gain and gains[i] <= 0:
            break
        if until is not None and not target_met and gains[i] <= 0 and not deficit.any():
            raise InfeasibleError(f"target: unreachable under the constraints, {len(selected)} sites cover "
                                  f"{value:,.0f} < {until:,.0f} and no candidate adds more")
        take(i)
    else:
        if k is None and not _reached(value, until):
            raise InfeasibleError(f"target: unreachable, all candidates cover {value:,.0f} < {until:,.0f}")
    return selected, trace


def local_search(
    problem: Problem, selected: Sequence[int], *, quotas: Quotas | None = None, max_passes: int = 50
) -> list[int]:
    """Improve a solution by single swaps (one chosen site out, one candidate in) until none improves.

    Each pass tries, for every chosen site in turn, the best feasible replacement (largest objective
    increase, ties to the lowest index) and applies it when it strictly improves the objective.
    Quotas and spacing stay satisfied. Returns the improved list (same length, positions kept).
    """
    sel = [int(i) for i in selected]
    if not sel:
        return sel
    rules = _Rules(problem, quotas)
    w = np.asarray(problem.weight, dtype=float)
    count = problem.covered0.astype(np.int64)
    chosen = np.zeros(problem.n_candidates, dtype=bool)
    conflict = np.zeros(problem.n_candidates, dtype=np.int64)
    new_count = np.zeros(len(rules.cap), dtype=np.int64)
    for i in sel:
        count[problem.row(i)] += 1
        chosen[i] = True
        conflict[problem.conflict_row(i)] += 1
        new_count[rules.reg[i]] += 1
    total = float(w[count > 0].sum())
    for _ in range(max_passes):
        improved = False
        for pos, s in enumerate(sel):
            rows_s = problem.row(s)
            count[rows_s] -= 1
            loss = float(w[rows_s][count[rows_s] == 0].sum())
            u = np.where(count == 0, w, 0.0)
            gains = problem.cov @ u
            conflict_wo = conflict.copy()
            conflict_wo[problem.conflict_row(s)] -= 1
            new_count[rules.reg[s]] -= 1
            feas = problem.eligible & ~chosen & (conflict_wo == 0) & (new_count[rules.reg] < rules.cap[rules.reg])
            if new_count[rules.reg[s]] < rules.need[rules.reg[s]]:
                feas &= rules.reg == rules.reg[s]
            c = _pick(gains, feas) if feas.any() else -1
            if c >= 0 and gains[c] - loss > TIE_RTOL * max(1.0, total):
                total += gains[c] - loss
                chosen[s], chosen[c] = False, True
                conflict = conflict_wo
                conflict[problem.conflict_row(c)] += 1
                new_count[rules.reg[c]] += 1
                count[problem.row(c)] += 1
                sel[pos] = c
                improved = True
            else:
                count[rows_s] += 1
                new_count[rules.reg[s]] += 1
        if not improved:
            break
    return sel


@dataclass(frozen=True)
class Solution:
    """Chosen candidates and how they were obtained."""

    selected: list[int]
    objective: float
    method: str
    optimal: bool
    elapsed_s: float
    status: str = ""


def solve_heuristic(problem: Problem, k: int, *, quotas: Quotas | None = None, lp_start: bool = True) -> Solution:
    """Greedy then swaps for ``k`` new sites (see module docstring).

    With ``lp_start`` (default), a second start is tried: the candidates the linear relaxation opens
    more than half, completed greedily, then swaps; the better of the two is returned (greedy + swaps
    alone can stop at 0.99 of the optimum with k >= 20 at 5 km).
    """
    t0 = time.perf_counter()
    sel, _ = greedy(problem, k, quotas=quotas)
    sel = local_search(problem, sel, quotas=quotas)
    best = objective(problem, sel)
    if lp_start and k > 0:
        start = _lp_rounding(problem, k, quotas)
        if start:
            try:
                alt, _ = greedy(problem, k, quotas=quotas, start=start)
                alt = local_search(problem, alt, quotas=quotas)
            except InfeasibleError:
                alt = []
            if alt and objective(problem, alt) > best * (1 + TIE_RTOL):
                sel, best = alt, objective(problem, alt)
    return Solution(sel, best, "heuristic", False, time.perf_counter() - t0, "heuristic")


def _lp_rounding(problem: Problem, k: int, quotas: Quotas | None) -> list[int]:
    """Candidates the LP relaxation of the k-site MILP opens more than half (largest first), if they form a
    feasible start (caps and spacing); else []."""
    from scipy.optimize import linprog

    items, a_ub, b_ub, nx = _relaxation(problem, quotas)
    w = np.asarray(problem.weight, dtype=float)
    a_eq = sparse.hstack([sparse.csr_matrix(np.ones((1, nx))), sparse.csr_matrix((1, len(items)))]).tocsr()
    res = linprog(np.r_[np.zeros(nx), -w[items]], A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=[float(k)], bounds=(0, 1),
                  method="highs")
    if res.status != 0:
        return []
    cand = np.flatnonzero(problem.eligible)
    x = res.x[:nx]
    firm = np.flatnonzero(x > 0.5)
    start = [int(cand[i]) for i in firm[np.argsort(-x[firm], kind="stable")][:k]]
    rules = _Rules(problem, quotas)
    counts = np.bincount(rules.reg[start], minlength=len(rules.cap)) if start else np.zeros(len(rules.cap))
    if np.any(counts > rules.cap):
        return []
    chosen = set(start)
    if any(set(problem.conflict_row(i).tolist()) & chosen for i in start):
        return []
    return start


def order_by_gain(problem: Problem, selected: Sequence[int]) -> list[int]:
    """Rank chosen sites: greedily, by marginal gain among themselves (ties to the lowest index)."""
    sub = np.zeros(problem.n_candidates, dtype=bool)
    sub[list(selected)] = True
    p = Problem(problem.coverage, problem.weight, problem.covered0, sub, problem.region, problem.locked_regions, None)
    p.__dict__["cov"] = problem.cov
    order, _ = greedy(p, len(selected))
    return order


def target_lower_bound(problem: Problem, need: float, *, quotas: Quotas | None = None) -> int:
    """A lower bound on the number of new sites whose coverage can reach ``need``.

    Coverage is subadditive, so ``m`` sites add at most the sum of the ``m`` largest individual gains:
    the bound is the smallest such ``m`` (and at least the minimum quotas' deficit).
    """
    rules = _Rules(problem, quotas)
    w = np.asarray(problem.weight, dtype=float)
    missing = need - float(w[problem.covered0].sum())
    if missing <= TIE_RTOL * max(1.0, abs(need)):
        return rules.total_need
    gains = problem.cov @ np.where(problem.covered0, 0.0, w)
    gains = np.sort(gains[problem.eligible])[::-1]
    csum = np.cumsum(gains)
    hit = np.flatnonzero(csum >= missing - TIE_RTOL * max(1.0, abs(need)))
    if not len(hit):
        raise InfeasibleError(f"target: unreachable, all candidates together add {csum[-1] if len(csum) else 0:,.0f} "
                              f"< {missing:,.0f} needed")
    return max(int(hit[0]) + 1, rules.total_need)


def _relaxation(problem: Problem, quotas: Quotas | None) -> tuple[np.ndarray, sparse.csr_matrix, np.ndarray, int]:
    """Shared rows of the linear relaxations, over variables ``[x (eligible candidates), y (items)]``.

    Returns the items (uncovered, weighted, coverable), ``A_ub`` and ``b_ub`` for ``y_j <= sum x_i``,
    the région minimums and caps and the spacing pairs, and the number of ``x`` variables.
    """
    rules = _Rules(problem, quotas)
    w = np.asarray(problem.weight, dtype=float)
    cand = np.flatnonzero(problem.eligible)
    sub = problem.cov[cand]
    items = np.flatnonzero(~problem.covered0 & (w > 0) & (np.asarray(sub.sum(axis=0)).ravel() > 0))
    nx, ny = len(cand), len(items)
    blocks = [sparse.hstack([-sub[:, items].T, sparse.identity(ny)])]  # y_j <= sum x_i
    rhs = [np.zeros(ny)]
    reg = rules.reg[cand]
    for r in range(len(rules.cap)):
        member = sparse.csr_matrix((reg == r).astype(float)[None, :])
        if not member.nnz:
            continue
        if rules.need[r] > 0:
            blocks.append(sparse.hstack([-member, sparse.csr_matrix((1, ny))]))
            rhs.append(np.array([-float(rules.need[r])]))
        if rules.cap[r] < member.nnz:
            blocks.append(sparse.hstack([member, sparse.csr_matrix((1, ny))]))
            rhs.append(np.array([float(rules.cap[r])]))
    if problem.conflicts is not None:
        pairs = sparse.triu(problem.conflicts[cand][:, cand], k=1).tocoo()
        if pairs.nnz:
            rows = np.repeat(np.arange(pairs.nnz), 2)
            cols = np.column_stack([pairs.row, pairs.col]).ravel()
            blocks.append(sparse.hstack([sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(pairs.nnz, nx)),
                                         sparse.csr_matrix((pairs.nnz, ny))]))
            rhs.append(np.ones(pairs.nnz))
    return items, sparse.vstack(blocks).tocsr(), np.concatenate(rhs), nx


def target_lp_bound(problem: Problem, need: float, *, quotas: Quotas | None = None) -> int:
    """Lower bound from the linear relaxation of the target MILP (HiGHS through SciPy): ceil(LP optimum).

    Same constraints as :func:`solve_exact_target` with ``x`` and ``y`` continuous in [0, 1]; a few
    tens of milliseconds nationally. Returns 0 when the relaxation is infeasible or fails (no bound).
    """
    from scipy.optimize import linprog

    w = np.asarray(problem.weight, dtype=float)
    missing = need - float(w[problem.covered0].sum())
    if missing <= TIE_RTOL * max(1.0, abs(need)):
        return _Rules(problem, quotas).total_need
    items, a_ub, b_ub, nx = _relaxation(problem, quotas)
    target_row = sparse.hstack([sparse.csr_matrix((1, nx)), sparse.csr_matrix(-w[items][None, :])])  # coverage >= need
    res = linprog(np.r_[np.ones(nx), np.zeros(len(items))], A_ub=sparse.vstack([a_ub, target_row]).tocsr(),
                  b_ub=np.r_[b_ub, -missing], bounds=(0, 1), method="highs")
    if res.status != 0:
        logger.debug("target LP relaxation: status %s (%s)", res.status, res.message)
        return 0
    return int(np.ceil(res.fun - 1e-6))


def coverage_upper_bound(problem: Problem, k: int, *, quotas: Quotas | None = None) -> float | None:
    """Upper bound on the weight ``k`` new sites can cover: the linear relaxation of :func:`solve_exact`.

    Same constraints as the MILP with ``x`` and ``y`` continuous in [0, 1] (HiGHS through SciPy, tens
    of milliseconds nationally). Returns the covered weight, locked sites included, or None when the
    relaxation is infeasible or fails. A heuristic objective divided by it is a certified ratio.
    """
    from scipy.optimize import linprog

    w = np.asarray(problem.weight, dtype=float)
    base = float(w[problem.covered0].sum())
    items, a_ub, b_ub, nx = _relaxation(problem, quotas)
    a_eq = sparse.hstack([sparse.csr_matrix(np.ones((1, nx))), sparse.csr_matrix((1, len(items)))]).tocsr()
    res = linprog(np.r_[np.zeros(nx), -w[items]], A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=[float(k)], bounds=(0, 1),
                  method="highs")
    if res.status != 0:
        logger.debug("coverage LP relaxation: status %s (%s)", res.status, res.message)
        return None
    return base - float(res.fun)


def target_heuristic(
    problem: Problem, need: float, *, quotas: Quotas | None = None, lp_bound: bool = True
) -> tuple[Solution, int]:
    """Fewest new sites reaching covered weight ``need`` (heuristic), and a lower bound.

    Parameters
    ----------
    problem : Problem
    need : float
        Covered weight to reach (current network included).
    quotas : Quotas, optional
    lp_bound : bool
        Also compute the linear-relaxation bound (:func:`target_lp_bound`), usually tight enough to
        prove minimality.

    Returns
    -------
    solution : Solution
        ``optimal`` is True when the count equals the lower bound (minimality proven).
    lower_bound : int
    """
    t0 = time.perf_counter()
    bound = target_lower_bound(problem, need, quotas=quotas)
    best, _ = greedy(problem, None, quotas=quotas, until=need)
    tol = TIE_RTOL * max(1.0, abs(need))
    while len(best) > bound:
        m = len(best) - 1
        try:
            sel, _ = greedy(problem, m, quotas=quotas)
        except InfeasibleError:
            break
        sel = local_search(problem, sel, quotas=quotas)
        if objective(problem, sel) >= need - tol:
            best = sel
        else:
            break
    if lp_bound and len(best) > bound:
        bound = max(bound, target_lp_bound(problem, need, quotas=quotas))
    return (Solution(best, objective(problem, best), "heuristic", len(best) == bound, time.perf_counter() - t0,
                     "proven minimal" if len(best) == bound else "upper bound"), bound)


# ---------------------------------------------------------------------------------------------- exact


def _pulp_solver(solver: str, time_limit_s: float):  # noqa: ANN202
    import pulp

    if solver not in SOLVERS:
        raise ValueError(f"solver: expected one of {list(SOLVERS)}, got {solver!r}")
    if solver == "highs" and "HiGHS" in pulp.listSolvers(onlyAvailable=True):
        return pulp.HiGHS(msg=False, timeLimit=time_limit_s, gapRel=0.0, gapAbs=0.0, threads=1)
    with warnings.catch_warnings():  # the bundled CBC binary is what PuLP ships today
        warnings.simplefilter("ignore", DeprecationWarning)
        return pulp.PULP_CBC_CMD(msg=False, timeLimit=time_limit_s, gapRel=0.0, gapAbs=0.0)


def _build_model(problem: Problem, quotas: Quotas | None, *, sense: str, k: int | None, need: float | None):  # noqa: ANN202
    import pulp

    rules = _Rules(problem, quotas)
    w = np.asarray(problem.weight, dtype=float)
    cand = np.flatnonzero(problem.eligible)
    sub = problem.cov[cand].tocsc()
    items = np.flatnonzero(~problem.covered0 & (w > 0) & (np.diff(sub.indptr) > 0))
    model = pulp.LpProblem("mclp", pulp.LpMaximize if sense == "max" else pulp.LpMinimize)
    x = {int(i): model.add_variable(f"x_{i}", 0, 1, cat="Binary") for i in cand}
    y = {int(j): model.add_variable(f"y_{j}", 0, 1) for j in items}
    base = float(w[problem.covered0].sum())
    covered_expr = pulp.lpSum(float(w[j]) * y[j] for j in y)
    if sense == "max":
        model += covered_expr
        model += pulp.lpSum(x.values()) == k, "k"
    else:
        model += pulp.lpSum(x.values())
        model += covered_expr >= need - base, "target"
    for j in items:
        rows = cand[sub.indices[sub.indptr[j]:sub.indptr[j + 1]]]
        model += y[int(j)] <= pulp.lpSum(x[int(i)] for i in rows), f"c_{j}"
    codes, reg = problem.regions
    for r, code in enumerate(codes):
        members = [x[int(i)] for i in cand if reg[i] == r]
        if rules.need[r] > 0:
            model += pulp.lpSum(members) >= int(rules.need[r]), f"min_{code}"
        if rules.cap[r] < len(members):
            model += pulp.lpSum(members) <= int(rules.cap[r]), f"max_{code}"
    if problem.conflicts is not None:
        pairs = sparse.triu(problem.conflicts, k=1).tocoo()
        for a, b in zip(pairs.row, pairs.col, strict=True):
            if int(a) in x and int(b) in x:
                model += x[int(a)] + x[int(b)] <= 1, f"sp_{a}_{b}"
    return model, x


def _run(model, x: dict, solver: str, time_limit_s: float) -> tuple[list[int], str, bool]:  # noqa: ANN001
    import pulp

    model.solve(_pulp_solver(solver, time_limit_s))
    status = pulp.LpStatus[model.status]
    if status == "Infeasible":
        raise InfeasibleError("exact: the MILP is infeasible (quotas, spacing or target)")
    selected = sorted(i for i, v in x.items() if v.value() is not None and v.value() > 0.5)
    sol_status = getattr(model, "sol_status", None)
    optimal = status == "Optimal" and sol_status in (None, pulp.LpSolutionOptimal)
    if sol_status in (pulp.LpSolutionNoSolutionFound, pulp.LpSolutionInfeasible, pulp.LpSolutionUnbounded) \
            or status in ("Not Solved", "Undefined") and not selected:
        raise SolverTimeoutError(
            f"time_limit_s: the exact solver ({solver}) found no feasible solution within time_limit_s={time_limit_s:g} s "
            f"(status {status!r}); expected a longer time limit, or use the heuristic"
        )
    return selected, status, optimal


def _check_time_limit(time_limit_s: object) -> float:
    if isinstance(time_limit_s, bool) or not isinstance(time_limit_s, int | float) or not np.isfinite(time_limit_s) \
            or time_limit_s <= 0:
        raise ValueError(f"time_limit_s: expected a positive number of seconds, got {time_limit_s!r}")
    return float(time_limit_s)


def solve_exact(
    problem: Problem, k: int, *, quotas: Quotas | None = None, time_limit_s: float = 120.0, solver: str = "highs"
) -> Solution:
    """Optimal ``k`` new sites by mixed-integer programming (PuLP + HiGHS, or CBC).

    Model: binary ``x_i`` per eligible candidate, ``0 <= y_j <= 1`` per coverable uncovered QPV;
    maximise ``sum w_j y_j`` s.t. ``y_j <= sum_{i covers j} x_i``, ``sum x_i = k``, région minimums and
    caps, and ``x_a + x_b <= 1`` for every pair closer than the spacing.

    Raises
    ------
    SolverTimeoutError
        When the time limit passes before any feasible solution is found (a solution found but not
        proven optimal is returned with ``optimal=False``).
    """
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 0:
        raise ValueError(f"k: expected a non-negative integer, got {k!r}")
    time_limit_s = _check_time_limit(time_limit_s)
    if k > int(problem.eligible.sum()):
        raise InfeasibleError(f"k: asked for {k} new sites, only {int(problem.eligible.sum())} eligible candidates")
    t0 = time.perf_counter()
    model, x = _build_model(problem, quotas, sense="max", k=int(k), need=None)
    selected, status, optimal = _run(model, x, solver, time_limit_s)
    if len(selected) != k:
        raise SolverTimeoutError(f"time_limit_s: the exact solver ({solver}) stopped with {len(selected)} sites instead "
                                 f"of k={k} within time_limit_s={time_limit_s:g} s (status {status!r}); expected a "
                                 "longer time limit, or use the heuristic")
    return Solution(selected, objective(problem, selected), f"exact-{solver}", optimal, time.perf_counter() - t0, status)


def solve_exact_target(
    problem: Problem, need: float, *, quotas: Quotas | None = None, time_limit_s: float = 120.0, solver: str = "highs"
) -> Solution:
    """Fewest new sites whose coverage reaches ``need``, by mixed-integer programming.

    Raises
    ------
    SolverTimeoutError
        When the time limit passes before any solution reaching ``need`` is found.
    """
    time_limit_s = _check_time_limit(time_limit_s)
    t0 = time.perf_counter()
    target_lower_bound(problem, need, quotas=quotas)  # raises when unreachable
    if float(problem.weight[problem.covered0].sum()) >= need and _Rules(problem, quotas).total_need == 0:
        return Solution([], objective(problem, []), f"exact-{solver}", True, time.perf_counter() - t0, "Optimal")
    model, x = _build_model(problem, quotas, sense="min", k=None, need=need)
    selected, status, optimal = _run(model, x, solver, time_limit_s)
    reached = objective(problem, selected)
    if reached < need - TIE_RTOL * max(1.0, abs(need)):
        raise SolverTimeoutError(f"time_limit_s: the exact solver ({solver}) found no set of sites reaching the target "
                                 f"within time_limit_s={time_limit_s:g} s (status {status!r}); expected a longer time "
                                 "limit, or use the heuristic")
    return Solution(selected, reached, f"exact-{solver}", optimal, time.perf_counter() - t0, status)
