"""Skeleton noise of PROSE: equation skeletons with a term dropped or a spurious term added."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np
import sympy

from sciml.prose.tokenizer import PLACEHOLDER, ExpressionTokenizer, variables


@lru_cache(maxsize=8)
def _tokenizer(max_dim: int) -> ExpressionTokenizer:
    return ExpressionTokenizer(max_dim=max_dim)


def _sum_terms(expr: sympy.Expr) -> list[sympy.Expr]:
    if expr.is_Add:
        return [t for a in expr.args for t in _sum_terms(a)]
    return [expr]


def _denominator(expr: sympy.Expr) -> sympy.Expr | None:
    """``D`` when ``expr`` is an unevaluated quotient ``N/D`` whose numerator is a sum."""
    if expr.is_Mul and len(expr.args) == 2:
        num, den = expr.args
        if den.is_Pow and den.exp is sympy.S.NegativeOne and len(_sum_terms(num)) > 1:
            return den
    return None


def terms(expr: sympy.Expr) -> list[sympy.Expr]:
    """The additive terms of one component, in order: of its sum (nested unevaluated sums
    flattened), or, for a quotient whose numerator is a sum, of that numerator."""
    if _denominator(expr) is not None:
        return _sum_terms(expr.args[0])
    return _sum_terms(expr)


def _rebuild(expr: sympy.Expr, new_terms: list[sympy.Expr]) -> sympy.Expr:
    """``expr`` with its :func:`terms` replaced by ``new_terms`` (unevaluated)."""
    total = new_terms[0] if len(new_terms) == 1 else sympy.Add(*new_terms, evaluate=False)
    den = _denominator(expr)
    return total if den is None else sympy.Mul(total, den, evaluate=False)


def candidate_terms(dim: int) -> list[sympy.Expr]:
    """The terms skeleton noise may add: ``c``, ``c*u_i`` and ``c*u_i*u_j`` (i <= j < dim),
    ``c`` being :data:`PLACEHOLDER`; unevaluated products."""
    u = variables(dim)
    out: list[sympy.Expr] = [PLACEHOLDER]
    for i in range(dim):
        out.append(sympy.Mul(PLACEHOLDER, u[i], evaluate=False))
        out += [sympy.Mul(PLACEHOLDER, u[i], u[j], evaluate=False) for j in range(i, dim)]
    return out


def skeleton_noise(
    exprs: Sequence[sympy.Expr],
    rng: np.random.Generator | int,
    p_drop: float = 0.15,
    p_add: float = 0.15,
    dim: int | None = None,
) -> list[sympy.Expr]:
    """A noisy skeleton of a system, as the PROSE reference code makes them for training.

    The skeleton (every float-written constant replaced by :data:`PLACEHOLDER`, see
    :meth:`ExpressionTokenizer.skeleton`) is left as it is, or with probability ``p_add`` one
    term drawn uniformly from :func:`candidate_terms` is inserted at a uniformly drawn place
    (any position among the :func:`terms` of any component), or with probability ``p_drop``
    one term, drawn uniformly among the terms of the components that have at least two, is
    removed. As in the reference code the two are exclusive: at most one term changes per
    system; the terms of a quotient such as the double pendulum's are those of its numerator.

    Args:
        exprs: the system, one sympy expression per component (constants or placeholders).
        rng: a numpy Generator or an int seed.
        p_drop: probability of removing a term.
        p_add: probability of adding a term; ``p_drop + p_add <= 1``.
        dim: number of state variables the added terms may use (default ``len(exprs)``).

    Returns:
        One unevaluated sympy expression per component, with placeholders for constants.
    """
    exprs = list(exprs)
    if not exprs:
        raise ValueError("exprs is empty; give one expression per component")
    dim = len(exprs) if dim is None else dim
    if not isinstance(dim, int) or isinstance(dim, bool) or dim < 1:
        raise ValueError(f"dim must be an int >= 1, got {dim!r}")
    for label, p in (("p_drop", p_drop), ("p_add", p_add)):
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"{label} must be in [0, 1], got {p}")
    if p_drop + p_add > 1.0 + 1e-12:
        raise ValueError(f"p_drop + p_add must be <= 1, got {p_drop} + {p_add}")
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)

    skel = _tokenizer(max(8, dim)).skeleton(exprs)
    parts = [terms(e) for e in skel]
    r = rng.random()
    if r < p_add:
        new = candidate_terms(dim)
        term = new[int(rng.integers(len(new)))]
        places = [(i, j) for i, ts in enumerate(parts) for j in range(len(ts) + 1)]
        i, j = places[int(rng.integers(len(places)))]
        parts[i].insert(j, term)
    elif r < p_add + p_drop:
        places = [(i, j) for i, ts in enumerate(parts) if len(ts) > 1 for j in range(len(ts))]
        if places:
            i, j = places[int(rng.integers(len(places)))]
            parts[i].pop(j)
    return [_rebuild(e, ts) for e, ts in zip(skel, parts, strict=True)]
