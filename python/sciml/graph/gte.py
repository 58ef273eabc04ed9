"""GTE: training-free collaborative filtering by propagation on the user-item graph.

Cai, Xia, Ren and Huang, "Graph-less Collaborative Filtering? ... Training-free Embedding"
(GTE, CIKM 2023; code HKUDS/GTE). With R (n_users, n_items) the training interactions,
the authors' ``main.py`` starts from item representations ``I_0 = Id`` (n_items, n_items)
and user representations ``U_0 = 0`` (n_users, n_items) and runs, per layer,

    U_{l+1} = R I_l + U_l,        I_{l+1} = R^T U_l + I_l        (both from layer l)

then scores user u's items with row u of ``U_L`` and masks the training items. That needs
two dense matrices of n_items columns (40 GB of scores for 200,000 x 50,000).

Closed form (by induction on l): with G = R^T R, ``U_l = R q_l(G)`` and ``I_l = p_l(G)``,

    p_0 = 1, q_0 = 0,   q_{l+1} = p_l + q_l,   p_{l+1} = x q_l + p_l

(L = 1: q = 1; 2: q = 2; 3: q = x + 3; 4: q = 4x + 4; 5: q = x^2 + 10x + 5;
:func:`gte_polynomial`). So ``S = R q(G)``: the default three layers score
``S = R R^T R + 3 R``. sciml evaluates it exactly, by blocks of item columns, without
the dense scores: for columns C, ``S[:, C] = R M`` with ``M = q(G)[:, C]`` (n_items, ``|C|``)
computed by Horner from the right (``M <- R^T (R M) + c_j E_C``, the first product
sparse). Work ``nnz(R[users]) * n_items`` plus ``sum_v deg(v)^2`` for L <= 4 (the
user-block form ``R_b q(G)`` costs ``2 nnz`` per user instead), memory ``O(nnz + (n_items
+ n_users) * chunk)`` plus the top-k lists (Rust kernel ``sciml._core.gte_topk``, on
sciml's threads).

Ranking: scores descending, ties broken by the lower item id. With ``exclude_seen`` a
user's training items are never recommended before an unseen one; they are returned
only when the user has fewer than k unseen items, at the end, lower ids first (the
authors' code multiplies their scores by 0, which ties them with unreachable items).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import scipy.sparse as sp
from tqdm.auto import tqdm

from sciml import _core
from sciml._checks import NotFittedError, check_int

CHUNK = 64
"""Item columns computed together inside the kernel (at most)."""
BUFFER_BYTES = 256 << 20
"""The kernel's per-chunk buffers stay below this (the chunk narrows for huge graphs)."""


def gte_polynomial(layers: int) -> np.ndarray:
    """The coefficients c_0..c_d (int64, lowest degree first) of q_L with GTE's scores
    ``U_L = R q_L(R^T R)`` after L = ``layers`` >= 1 layers (see the module docstring)."""
    layers = check_int(layers, "layers", 1)
    p, q = [1], [0]
    for _ in range(layers):
        new_q = [a + b for a, b in zip(p + [0] * len(q), q + [0] * len(p), strict=True)]
        shifted = [0, *q]
        new_p = [a + b for a, b in zip(p + [0] * len(shifted), shifted + [0] * len(p), strict=True)]
        p, q = new_p, new_q
    while len(q) > 1 and q[-1] == 0:
        q.pop()
    return np.array(q, dtype=np.int64)


def check_interactions(interactions: Any, dtype: Any = np.float32) -> sp.csr_array:
    """A users x items interaction matrix as a canonical csr_array of ``dtype``.

    Raises:
        TypeError: not scipy.sparse, or weights that are not real numbers.
        ValueError: not 2-d, no users, items or interactions, NaN, infinite or negative
            weights.
    """
    if not sp.issparse(interactions):
        raise TypeError(
            "interactions must be a scipy.sparse users x items matrix, got "
            f"{type(interactions).__name__}"
        )
    if interactions.ndim != 2:
        raise ValueError(f"interactions must be 2-d (n_users, n_items), got {interactions.shape}")
    r = sp.csr_array(interactions)
    if not (
        r.dtype == np.bool_
        or np.issubdtype(r.dtype, np.integer)
        or np.issubdtype(r.dtype, np.floating)
    ):
        raise TypeError(f"interactions must hold real numbers, got dtype {r.dtype}")
    if min(r.shape) == 0:
        raise ValueError(f"interactions must have users and items, got shape {r.shape}")
    r = r.astype(np.float64) if r.dtype != np.float64 else r.copy()
    if r.data.size and not np.isfinite(r.data).all():
        raise ValueError("interactions must be finite; found NaN or infinite weights")
    if (r.data < 0).any():
        raise ValueError("interaction weights must be >= 0")
    r.sum_duplicates()
    r.eliminate_zeros()
    if r.nnz == 0:
        raise ValueError(f"interactions are empty: no nonzero entry in shape {r.shape}")
    if dtype == np.float32 and r.data.max() > np.finfo(np.float32).max:
        raise ValueError(f"interaction weights must fit in float32; max {r.data.max()}")
    out = r.astype(dtype)
    out.sort_indices()
    return out


def check_users(users: Any, n_users: int) -> np.ndarray:
    """User indices (m,) as int64, checked to lie in [0, n_users); None: all users.

    Raises:
        TypeError: indices that are not integers.
        ValueError: a scalar, or indices out of range.
    """
    if users is None:
        return np.arange(n_users, dtype=np.int64)
    u = np.asarray(users)
    if u.ndim == 0:
        raise ValueError("users must be a 1-d sequence of user indices, got a scalar")
    if u.size and not np.issubdtype(u.dtype, np.integer):
        raise TypeError(f"users must be integer indices, got dtype {u.dtype}")
    u = np.ascontiguousarray(u.ravel(), dtype=np.int64)
    if u.size and (u.min() < 0 or u.max() >= n_users):
        raise ValueError(f"users must be in [0, n_users = {n_users}); got [{u.min()}, {u.max()}]")
    return u


def check_top_k(k: Any, exclude_seen: Any, n_items: int) -> int:
    """``k`` checked to lie in [1, n_items] and ``exclude_seen`` to be a bool; returns k.

    Raises:
        TypeError: a k that is not an int, an exclude_seen that is not a bool.
        ValueError: k out of range.
    """
    k = check_int(k, "k", 1)
    if k > n_items:
        raise ValueError(f"k must be <= n_items = {n_items}, got {k}")
    if not isinstance(exclude_seen, bool | np.bool_):
        raise TypeError(f"exclude_seen must be a bool, got {type(exclude_seen).__name__}")
    return k


class GTE:
    """GTE recommendations: exact, training-free, in blocks of item columns.

    Args:
        layers: number of propagation layers L >= 1 (the paper's k; 3 by default).
        block_size: item columns per kernel call and progress step; None: about 1/50 of
            the items, at least 64. Memory does not grow with it beyond the returned
            scores of :meth:`scores`.
        progress: show a tqdm bar over the item blocks; None: when n_users * n_items is
            at least 10^9.
        dtype: np.float32 (default) or np.float64, the type of the scores and sums.

    Attributes:
        interactions_: the training matrix (set by :meth:`fit`), canonical csr_array
            (n_users, n_items).
        coefficients_: q's coefficients, :func:`gte_polynomial`.
        n_users_: the number of users.
        n_items_: the number of items.

    Example:
        >>> from sciml.data import implicit_feedback, split_per_user
        >>> train, test = split_per_user(implicit_feedback(300, 200, 3000, seed=0))
        >>> GTE(layers=3).fit(train).recommend([0, 1], k=5).shape
        (2, 5)
    """

    def __init__(
        self,
        layers: int = 3,
        *,
        block_size: int | None = None,
        progress: bool | None = None,
        dtype: Any = np.float32,
    ) -> None:
        self.layers = layers
        self.block_size = block_size
        self.progress = progress
        self.dtype = dtype

    def fit(self, interactions: Any, y: Any = None) -> GTE:
        """Stores the training interactions (GTE has nothing to train).

        Args:
            interactions: scipy.sparse (n_users, n_items), weights >= 0 (binary for
                implicit feedback; bool, int or float).
            y: ignored (scikit-learn's signature).

        Returns:
            self.
        """
        self.coefficients_ = gte_polynomial(self.layers)
        if self.dtype not in (np.float32, np.float64):
            raise ValueError(f"dtype must be np.float32 or np.float64, got {self.dtype!r}")
        if self.block_size is not None:
            check_int(self.block_size, "block_size", 1)
        r = check_interactions(interactions, self.dtype)
        self.interactions_ = r
        self.n_users_, self.n_items_ = (int(x) for x in r.shape)
        rt = sp.csr_array(r.T)
        rt.sort_indices()
        index = np.int32 if max(r.shape) < 2**31 - 1 else np.int64
        self._arrays = (
            r.indptr.astype(np.int64),
            r.indices.astype(index),
            np.ascontiguousarray(r.data),
            rt.indptr.astype(np.int64),
            rt.indices.astype(index),
            np.ascontiguousarray(rt.data),
            self.n_items_,
            [float(c) for c in self.coefficients_],
        )
        return self

    # --- helpers ------------------------------------------------------------------------

    def _check_fitted(self) -> None:
        if not hasattr(self, "interactions_"):
            raise NotFittedError("this GTE is not fitted yet: call fit(interactions) first")

    def _chunk(self) -> int:
        per_column = np.dtype(self.dtype).itemsize * (
            2 * self.n_items_ + (self.n_users_ if len(self.coefficients_) >= 3 else 0)
        )
        return int(max(1, min(CHUNK, BUFFER_BYTES // per_column)))

    def _blocks(self, what: str) -> Any:
        chunk = self._chunk()
        if self.block_size is None:
            size = max(CHUNK, math.ceil(self.n_items_ / 50))
        else:
            size = check_int(self.block_size, "block_size", 1)
        size = max(chunk, size // chunk * chunk) if size >= chunk else size
        starts = range(0, self.n_items_, size)
        show = self.n_users_ * self.n_items_ >= 10**9 if self.progress is None else self.progress
        bar = tqdm(starts, desc=what, unit="block", disable=not show or len(starts) < 2)
        return ((s, min(s + size, self.n_items_), min(chunk, size)) for s in bar)

    # --- public -------------------------------------------------------------------------

    def scores(self, users: Any = None) -> np.ndarray:
        """Raw scores ``U_L[users]`` (training items not masked).

        Args:
            users: (m,) user indices (default: all users).

        Returns:
            (m, n_items) float32 (``dtype``): row i scores the items of ``users[i]``.

        Raises:
            NotFittedError: before :meth:`fit`.
            ValueError: users out of range; MemoryError: the output does not fit.
        """
        self._check_fitted()
        u = check_users(users, self.n_users_)
        out = np.empty((u.size, self.n_items_), dtype=self.dtype)
        for start, stop, chunk in self._blocks("GTE scores"):
            out[:, start:stop] = _core.gte_scores(*self._arrays, u, start, stop, chunk)
        return out

    def recommend(self, users: Any = None, k: int = 20, exclude_seen: bool = True) -> np.ndarray:
        """The top-k items of each user, best first.

        Args:
            users: (m,) user indices (default: all users).
            k: list length, 1 <= k <= n_items.
            exclude_seen: leave out each user's training items (they appear only when a
                user has fewer than k other items, at the end, lower ids first).

        Returns:
            (m, k) int64 item ids, sorted by score descending, ties by lower item id.

        Raises:
            NotFittedError: before :meth:`fit`.
            ValueError: k out of [1, n_items], users out of range.
        """
        self._check_fitted()
        k = check_top_k(k, exclude_seen, self.n_items_)
        u = check_users(users, self.n_users_)
        ids = np.full((u.size, k), -1, dtype=np.int64)
        vals = np.zeros((u.size, k), dtype=self.dtype)
        for start, stop, chunk in self._blocks("GTE top-k"):
            ids, vals = _core.gte_topk(
                *self._arrays,
                u,
                start,
                stop,
                ids,
                vals,
                exclude_seen=bool(exclude_seen),
                chunk=chunk,
            )
        short = np.flatnonzero(ids[:, -1] < 0)
        r = self.interactions_
        for row in short:  # fewer than k unseen items: end with seen ones, lower ids first
            filled = int((ids[row] >= 0).sum())
            seen = r.indices[r.indptr[u[row]] : r.indptr[u[row] + 1]]
            ids[row, filled:] = np.sort(seen)[: k - filled]
        return ids
