"""Statistical secrecy for published aggregates: primary and secondary (complementary) suppression.

The rule
--------
A published figure about door visits describes households. Following INSEE's statistical-secrecy rule,
**no published cell may cover fewer than 11 households** (:data:`THRESHOLD`): a cell whose household
count is below 11 -- including a cell where doors were knocked but no household was met -- is
*primarily* suppressed, and every figure of that cell (households, doors opened, visits, rates) is
replaced by « non disponible (secret statistique) ».

Differencing
------------
Hiding small cells is not enough: published totals would give a hidden cell back by subtraction
(national total minus the published regions, a site minus its published QPV, a year minus its published
quarters...). All the figures a funder can see -- whatever the view, the filter or the export -- are
therefore cells of **one** hierarchical table (:class:`Cube`), built and protected once:

* each dimension is a hierarchy (geography: national > région > site > QPV or « hors QPV »; time:
  whole period > quarter) and every parent cell is the sum of its children (additive measures only:
  households are counted in the quarter they were *first* met, so quarters add up);
* the cube holds only the combinations of levels that some view publishes; the other combinations are
  unknown to a reader and, the measures being non-negative counts, add no constraint on the published
  ones (a table with given non-negative margins always has a non-negative interior);
* *secondary suppression* (:func:`protect`) hides complementary cells until, for every primarily
  suppressed cell, the range of values compatible with **all** published cells, all additivity
  relations and non-negativity -- computed exactly by linear programming (:func:`audit`) -- is at
  least :data:`THRESHOLD` wide. Complements are chosen among the smallest cells of the same
  relation (least information lost), children before totals.

Views (:func:`view`) only ever read cells of the protected cube, so two views -- or a view and an
export -- can be subtracted from each other without recovering a suppressed value. Views never offer a
free date range: two overlapping ranges would publish their difference, a cell outside the cube.

>>> import pandas as pd
>>> rows = pd.DataFrame({"region": ["11", "11", "11"], "site": ["A", "B", "C"],
...                      "households": [5, 30, 40]})
>>> cube = protect(build_cube(rows, dims=(("region", "site"),), count="households"))
>>> cube.cells.loc[cube.cells["suppressed"], "site"].tolist()   # A is small; B hides it from 75 - 40
['A', 'B']
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.optimize import linprog
from scipy.sparse.csgraph import connected_components

from geo.i18n import LanguageView

logger = logging.getLogger(__name__)

#: Minimum number of households a published cell covers.
THRESHOLD = 11
#: Marker of a dimension level above the cell's depth (the cell is a total over it).
TOTAL = "*"
#: Note shown next to suppressed figures, ``{lang: text}`` (the message ``privacy.note``).
NOTE = LanguageView("privacy.note")


def primary_mask(counts: Sequence[float] | np.ndarray, *, threshold: int = THRESHOLD) -> np.ndarray:
    """Cells that must be hidden because they cover fewer than ``threshold`` households.

    Parameters
    ----------
    counts : array-like of float
        Household count of each cell (NaN counts as 0).
    threshold : int
        Minimum households a published cell covers (default 11).

    Returns
    -------
    numpy.ndarray of bool

    Raises
    ------
    ValueError
        When ``threshold`` is not a positive integer or a count is negative.
    """
    if not isinstance(threshold, int | np.integer) or threshold < 1:
        raise ValueError(f"threshold: expected a positive integer, got {threshold!r}")
    values = np.nan_to_num(np.asarray(counts, dtype=float), nan=0.0)
    if (values < 0).any():
        raise ValueError(f"counts: expected non-negative counts, got a minimum of {values.min():g}")
    return values < threshold


@dataclass(frozen=True)
class Cube:
    """A hierarchical table of additive counts and its suppression pattern.

    Attributes
    ----------
    cells : pandas.DataFrame
        One row per cell: the level columns of every dimension (:data:`TOTAL` above the cell's depth),
        ``depth_<i>`` per dimension, the measures, ``primary`` and ``suppressed`` (bool).
    dims : tuple of tuple of str
        The dimensions, each a tuple of level columns from the coarsest to the finest.
    count : str
        The household-count measure deciding suppression.
    measures : tuple of str
        Every additive measure (``count`` first).
    relations : scipy.sparse.csr_matrix
        One row per additivity relation, one column per cell: +1 for the parent, -1 for each child
        (``relations @ values == 0`` for every measure).
    threshold : int
        Households a published cell must cover.
    """

    cells: pd.DataFrame
    dims: tuple[tuple[str, ...], ...]
    count: str
    measures: tuple[str, ...]
    relations: sparse.csr_matrix
    threshold: int = THRESHOLD

    @property
    def levels(self) -> list[str]:
        """Every level column, dimension by dimension."""
        return [lvl for dim in self.dims for lvl in dim]


def _check_dims(frame: pd.DataFrame, dims: Sequence[Sequence[str]], measures: Sequence[str]) -> None:
    if not dims or any(len(d) == 0 for d in dims):
        raise ValueError(f"dims: expected one or more non-empty tuples of level columns, got {dims!r}")
    levels = [lvl for d in dims for lvl in d]
    if len(set(levels)) != len(levels):
        raise ValueError(f"dims: expected each level column once, got {levels!r}")
    missing = [c for c in [*levels, *measures] if c not in frame.columns]
    if missing:
        raise ValueError(f"frame: expected columns {missing!r}, got {list(frame.columns)!r}")
    for m in measures:
        values = pd.to_numeric(frame[m], errors="coerce")
        if values.isna().any() or (values < 0).any():
            raise ValueError(f"frame[{m!r}]: expected non-negative numbers, got missing or negative values")
    for lvl in levels:
        if frame[lvl].isna().any() or (frame[lvl].astype(str) == TOTAL).any():
            raise ValueError(f"frame[{lvl!r}]: expected codes, got missing values or {TOTAL!r}")


def build_cube(
    frame: pd.DataFrame,
    *,
    dims: Sequence[Sequence[str]],
    count: str,
    measures: Sequence[str] = (),
    depths: Iterable[Sequence[int]] | None = None,
    threshold: int = THRESHOLD,
) -> Cube:
    """Aggregate finest-level rows into every published combination of levels.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per finest cell (or finer): the level columns and the additive measures.
    dims : sequence of sequence of str
        Dimensions, each a hierarchy of level columns from the coarsest to the finest, e.g.
        ``(("region", "site", "qpv"), ("quarter",))``. A child is always read with its parents
        (the cell ``("11", "A")`` is site A of région 11).
    count : str
        The household count that decides suppression.
    measures : sequence of str
        Other additive measures carried along (doors opened, visits...).
    depths : iterable of sequence of int, optional
        The combinations of depths published (depth 0 = total of the dimension), e.g.
        ``[(3, 0), (2, 0), (1, 0), (0, 0), (1, 1), (0, 1)]``. Default: every combination. Their
        ancestors (one level up in any dimension) are added and treated as published, so that every
        sum linking published cells is part of the protection (a reader could compute them).
    threshold : int
        Households a published cell must cover (default 11).

    Returns
    -------
    Cube
        With ``primary`` set and ``suppressed == primary`` (call :func:`protect` next).
    """
    dims = tuple(tuple(d) for d in dims)
    measures = (count, *[m for m in measures if m != count])
    _check_dims(frame, dims, measures)
    all_depths = [tuple(x) for x in np.ndindex(*[len(d) + 1 for d in dims])]
    chosen = all_depths if depths is None else sorted({tuple(int(v) for v in d) for d in depths})
    for d in chosen:
        if len(d) != len(dims) or any(not 0 <= v <= len(dim) for v, dim in zip(d, dims, strict=True)):
            raise ValueError(f"depths: expected tuples of {len(dims)} depths within the dimensions, got {d!r}")
    chosen = _ancestors(chosen)
    levels = [lvl for dim in dims for lvl in dim]
    base = frame[levels + list(measures)].copy()
    for lvl in levels:
        base[lvl] = base[lvl].astype(str)
    for m in measures:
        base[m] = pd.to_numeric(base[m]).astype(float)
    parts = []
    for combo in chosen:
        keys = [lvl for dim, k in zip(dims, combo, strict=True) for lvl in dim[:k]]
        if keys:
            agg = base.groupby(keys, observed=True, sort=True)[list(measures)].sum().reset_index()
        else:
            agg = pd.DataFrame([base[list(measures)].sum()])
        for dim_i, (dim, k) in enumerate(zip(dims, combo, strict=True)):
            for lvl in dim[k:]:
                agg[lvl] = TOTAL
            agg[f"depth_{dim_i}"] = k
        parts.append(agg)
    cells = pd.concat(parts, ignore_index=True)
    cells = cells[levels + [f"depth_{i}" for i in range(len(dims))] + list(measures)]
    cells["primary"] = primary_mask(cells[count].to_numpy(), threshold=threshold)
    cells["suppressed"] = cells["primary"].copy()
    relations = _relations(cells, dims)
    logger.debug("cube of %d cells, %d relations, %d primary", len(cells), relations.shape[0],
                 int(cells["primary"].sum()))
    return Cube(cells, dims, count, tuple(measures), relations, threshold)


def _ancestors(depths: list[tuple[int, ...]]) -> list[tuple[int, ...]]:
    """Close a set of depth combinations under "one level up in one dimension", so that every parent
    of a published cell is in the cube and the sums tying them hold (national = régions = sites...)."""
    out = set(depths)
    todo = list(depths)
    while todo:
        combo = todo.pop()
        for i, k in enumerate(combo):
            if k > 0:
                up = combo[:i] + (k - 1,) + combo[i + 1:]
                if up not in out:
                    out.add(up)
                    todo.append(up)
    return sorted(out)


def _relations(cells: pd.DataFrame, dims: tuple[tuple[str, ...], ...]) -> sparse.csr_matrix:
    levels = [lvl for dim in dims for lvl in dim]
    keys = list(map(tuple, cells[levels].to_numpy().tolist()))
    index = {key: i for i, key in enumerate(keys)}
    rows: list[int] = []
    cols: list[int] = []
    vals: list[float] = []
    parent_row: dict[tuple[int, int], int] = {}
    offset = 0
    for dim_i, dim in enumerate(dims):
        depth = cells[f"depth_{dim_i}"].to_numpy()
        for child, key in enumerate(keys):
            k = depth[child]
            if k == 0:
                continue
            lvl_pos = offset + k - 1
            parent_key = key[:lvl_pos] + (TOTAL,) + key[lvl_pos + 1:]
            parent = index.get(parent_key)
            if parent is None:
                continue
            rel = parent_row.get((dim_i, parent))
            if rel is None:
                rel = len(parent_row)
                parent_row[(dim_i, parent)] = rel
                rows.append(rel)
                cols.append(parent)
                vals.append(1.0)
            rows.append(rel)
            cols.append(child)
            vals.append(-1.0)
        offset += len(dim)
    return sparse.csr_matrix((vals, (rows, cols)), shape=(len(parent_row), len(cells)))


def audit(cube: Cube, *, measure: str | None = None, cells: np.ndarray | None = None) -> pd.DataFrame:
    """What a reader can infer about hidden cells from everything published.

    For each cell asked about, the smallest and largest value compatible with every published cell,
    every additivity relation of the cube and non-negativity (exact, by linear programming).

    Parameters
    ----------
    cube : Cube
    measure : str, optional
        The measure to audit (default: the household count).
    cells : numpy.ndarray of int, optional
        Positions of the cells to audit (default: every suppressed primary cell).

    Returns
    -------
    pandas.DataFrame
        Indexed by cell position, columns ``value`` (true), ``lower`` and ``upper`` (``inf`` when
        unbounded) and ``width``.
    """
    measure = measure or cube.count
    if measure not in cube.measures:
        raise ValueError(f"measure: expected one of {list(cube.measures)}, got {measure!r}")
    values = cube.cells[measure].to_numpy(dtype=float)
    unknown = cube.cells["suppressed"].to_numpy(dtype=bool)
    if cells is None:
        cells = np.flatnonzero(unknown & cube.cells["primary"].to_numpy(dtype=bool))
    cells = np.asarray(cells, dtype=int)
    lower, upper = _bounds(cube.relations, values, unknown, cells)
    out = pd.DataFrame({"value": values[cells], "lower": lower, "upper": upper}, index=cells)
    out["width"] = out["upper"] - out["lower"]
    return out


def _bounds(relations: sparse.csr_matrix, values: np.ndarray, unknown: np.ndarray,
            targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    lower = np.where(unknown[targets], 0.0, values[targets])
    upper = np.where(unknown[targets], np.inf, values[targets])
    unknown_idx = np.flatnonzero(unknown)
    if len(unknown_idx) == 0 or relations.shape[0] == 0:
        return lower, upper
    a_u = relations[:, unknown_idx].tocsr()
    a_k = relations[:, ~unknown]
    rhs = -(a_k @ values[~unknown])
    active = np.flatnonzero(np.diff(a_u.indptr) > 0)
    a_u, rhs = a_u[active], rhs[active]
    adjacency = (abs(a_u).T @ abs(a_u)).tocsr()
    n_comp, labels = connected_components(adjacency, directed=False)
    position = {cell: j for j, cell in enumerate(unknown_idx)}
    by_comp: dict[int, list[int]] = {}
    for t_i, cell in enumerate(targets):
        if unknown[cell]:
            by_comp.setdefault(labels[position[cell]], []).append(t_i)
    for comp, t_list in by_comp.items():
        members = np.flatnonzero(labels == comp)
        sub = a_u[:, members]
        rows = np.flatnonzero(np.diff(sub.tocsr().indptr) > 0)
        if len(rows) == 0:
            continue
        sub, b = sub[rows], rhs[rows]
        local = {m: j for j, m in enumerate(members)}
        for t_i in t_list:
            j = local[position[targets[t_i]]]
            c = np.zeros(len(members))
            c[j] = 1.0
            lo = linprog(c, A_eq=sub, b_eq=b, bounds=(0, None), method="highs")
            hi = linprog(-c, A_eq=sub, b_eq=b, bounds=(0, None), method="highs")
            if lo.status == 0:
                lower[t_i] = max(0.0, lo.fun)
            upper[t_i] = -hi.fun if hi.status == 0 else np.inf
    return lower, upper


def _pick_complement(members: np.ndarray, parent: int, cube_values: np.ndarray,
                     suppressed: np.ndarray) -> int | None:
    free = [m for m in members if not suppressed[m]]
    if not free:
        return None
    children = [m for m in free if m != parent]
    pool = children or free
    return int(min(pool, key=lambda m: (cube_values[m], m)))


def _unknown_components(relations: sparse.csr_matrix, unknown: np.ndarray) -> np.ndarray:
    """Label of the group of hidden cells linked through relations, per cell (-1 for visible cells)."""
    labels = np.full(relations.shape[1], -1, dtype=np.int64)
    idx = np.flatnonzero(unknown)
    if len(idx) == 0:
        return labels
    a_u = abs(relations[:, idx])
    _, comp = connected_components((a_u.T @ a_u).tocsr(), directed=False)
    labels[idx] = comp
    return labels


def _visible_neighbours(weak: np.ndarray, relations_of: dict[int, list[int]], members_of: list[np.ndarray],
                        parent_of: list[int], suppressed: np.ndarray) -> tuple[set[int], set[int]]:
    """Visible cells sharing a relation with the weak cells -- or, when those relations are already
    fully hidden, with the hidden cells linked to them (breadth first), as children and as totals."""
    children: set[int] = set()
    parents: set[int] = set()
    seen_cells = {int(c) for c in weak}
    frontier = list(seen_cells)
    seen_rel: set[int] = set()
    while frontier and not (children or parents):
        nxt: list[int] = []
        for cell in frontier:
            for r in relations_of.get(cell, []):
                if r in seen_rel:
                    continue
                seen_rel.add(r)
                for m in members_of[r]:
                    m = int(m)
                    if not suppressed[m]:
                        (parents if m == parent_of[r] else children).add(m)
                    elif m not in seen_cells:
                        seen_cells.add(m)
                        nxt.append(m)
        frontier = nxt
    return children, parents


def _relation_index(rel: sparse.csr_matrix) -> tuple[list[np.ndarray], list[int], dict[int, list[int]]]:
    """Members and total (parent) of each relation, and the relations of each cell."""
    members_of = [rel.indices[rel.indptr[r]: rel.indptr[r + 1]] for r in range(rel.shape[0])]
    parent_of = [m[rel.data[rel.indptr[r]: rel.indptr[r + 1]] > 0][0] for r, m in enumerate(members_of)]
    relations_of: dict[int, list[int]] = {}
    for r, members in enumerate(members_of):
        for m in members:
            relations_of.setdefault(int(m), []).append(r)
    return members_of, parent_of, relations_of


def _close_single_hidden(membership: sparse.csr_matrix, members_of: list[np.ndarray], parent_of: list[int],
                         values: np.ndarray, suppressed: np.ndarray) -> list[int]:
    """Hide complements until no relation holds exactly one hidden cell (``suppressed`` is updated)."""
    added: list[int] = []
    while True:
        single = np.flatnonzero(membership @ suppressed.astype(float) == 1)
        picks = {p for r in single
                 if (p := _pick_complement(members_of[r], parent_of[r], values, suppressed)) is not None}
        if not picks:
            return added
        suppressed[list(picks)] = True
        added.extend(picks)


def protect(cube: Cube, *, protection: float | None = None, max_rounds: int = 1000) -> Cube:
    """Secondary suppression: hide complementary cells until no hidden small cell can be inferred.

    Parameters
    ----------
    cube : Cube
        From :func:`build_cube` (its ``primary`` cells are hidden).
    protection : float, optional
        Width the feasible range of every primarily suppressed cell must reach (default: the cube's
        threshold, 11 households).
    max_rounds : int
        Upper bound on audit rounds (each hides one more cell; the loop ends as soon as the audit passes).

    Returns
    -------
    Cube
        A copy with ``suppressed`` set.

    Raises
    ------
    ValueError
        When ``protection`` is negative.
    """
    protection = float(cube.threshold if protection is None else protection)
    if protection < 0:
        raise ValueError(f"protection: expected a non-negative width, got {protection}")
    cells = cube.cells.copy()
    values = cells[cube.count].to_numpy(dtype=float)
    suppressed = cells["primary"].to_numpy(dtype=bool).copy()
    rel = cube.relations.tocsr()
    members_of, parent_of, relations_of = _relation_index(rel)
    primary = np.flatnonzero(suppressed)
    if len(primary) == 0:
        return replace(cube, cells=cells)
    membership = abs(rel).tocsr()
    width = np.full(len(values), np.nan)
    added: list[int] = list(primary)
    for _round in range(max_rounds):
        added.extend(_close_single_hidden(membership, members_of, parent_of, values, suppressed))
        # audit again only the components of hidden cells that changed (the others keep their ranges)
        labels = _unknown_components(rel, suppressed)
        touched = {labels[c] for c in added}
        dirty = primary[np.isin(labels[primary], list(touched))]
        if len(dirty):
            lower, upper = _bounds(rel, values, suppressed, dirty)
            width[dirty] = upper - lower
        added = []
        weak = primary[width[primary] < protection]
        if len(weak) == 0:
            break
        # one complement per group of linked hidden cells: the smallest visible cell sharing a relation
        # with a weak cell (children before totals), then audit again
        for label in np.unique(labels[weak]):
            group = weak[labels[weak] == label]
            children, parents = _visible_neighbours(group, relations_of, members_of, parent_of, suppressed)
            pool = children or parents
            if pool:
                pick = min(pool, key=lambda m: (values[m], m))
                suppressed[pick] = True
                added.append(pick)
        if not added:
            logger.warning("secondary suppression: %d cell(s) below the protection width with nothing "
                           "left to hide", len(weak))
            break
    cells["suppressed"] = suppressed
    logger.info("suppression: %d primary and %d complementary cell(s) of %d", len(primary),
                int(suppressed.sum()) - len(primary), len(cells))
    return replace(cube, cells=cells)


def view(cube: Cube, depth: Sequence[int], *, where: dict[str, str] | None = None) -> pd.DataFrame:
    """The published rows of one combination of depths, suppressed figures replaced by NaN.

    Parameters
    ----------
    cube : Cube
        A protected cube (:func:`protect`).
    depth : sequence of int
        One depth per dimension, e.g. ``(1, 0)`` for régions over the whole period.
    where : dict, optional
        Level column -> code filters (``{"region": "11"}``).

    Returns
    -------
    pandas.DataFrame
        Level columns down to the depth, the measures (NaN when hidden) and ``secret`` (bool).

    Raises
    ------
    ValueError
        When the combination of depths is not in the cube (it was not protected).
    """
    depth = tuple(int(d) for d in depth)
    mask = np.ones(len(cube.cells), dtype=bool)
    for i, k in enumerate(depth):
        mask &= cube.cells[f"depth_{i}"].to_numpy() == k
    if len(depth) != len(cube.dims) or not mask.any():
        raise ValueError(f"depth: expected a combination of depths published in the cube, got {depth!r}")
    rows = cube.cells[mask]
    for col, code in (where or {}).items():
        if col not in cube.levels:
            raise ValueError(f"where: expected level columns among {cube.levels}, got {col!r}")
        rows = rows[rows[col] == str(code)]
    keep = [lvl for dim, k in zip(cube.dims, depth, strict=True) for lvl in dim[:k]]
    out = rows[keep + list(cube.measures)].copy()
    secret = rows["suppressed"].to_numpy(dtype=bool)
    for m in cube.measures:
        out[m] = out[m].where(~secret)
    out["secret"] = secret
    return out.reset_index(drop=True)


def suppress_rows(frame: pd.DataFrame, *, count: str, columns: Sequence[str] | None = None,
                  threshold: int = THRESHOLD) -> pd.DataFrame:
    """Hide the figures of rows covering fewer than ``threshold`` households (primary suppression only).

    For a stand-alone table with no published total; tables linked by totals go through
    :func:`build_cube` and :func:`protect` instead.

    Parameters
    ----------
    frame : pandas.DataFrame
    count : str
        Household-count column.
    columns : sequence of str, optional
        Columns hidden with it (default: every numeric column).
    threshold : int

    Returns
    -------
    pandas.DataFrame
        A copy with the figures set to NaN and a ``secret`` column.
    """
    if count not in frame.columns:
        raise ValueError(f"count: expected a column of frame, got {count!r}")
    out = frame.copy()
    secret = primary_mask(pd.to_numeric(out[count]).to_numpy(dtype=float), threshold=threshold)
    cols = list(columns) if columns is not None else [c for c in out.columns
                                                        if pd.api.types.is_numeric_dtype(out[c])]
    for col in cols:
        out[col] = pd.to_numeric(out[col]).astype(float).where(~secret)
    out["secret"] = secret
    return out
