"""Top-k recommendation metrics: Recall@k, NDCG@k and hit rate@k (LightGCN's conventions).

For a user u with test items T_u (|T_u| >= 1) and ranked recommendations r_1..r_k, with
hit_p = 1 if r_p is in T_u (p = 1..k):

- ``recall@k   = sum_p hit_p / |T_u|`` (LightGCN's and GTE's convention: divided by all of
  the user's test items, so it stays below 1 when |T_u| > k);
- ``ndcg@k     = DCG / IDCG`` with binary relevance, ``DCG = sum_p hit_p / log2(p + 1)`` and
  ``IDCG = sum_{p=1..min(k, |T_u|)} 1 / log2(p + 1)`` (the DCG of a perfect list);
- ``hit_rate@k = 1 if any hit_p else 0``.

Each metric is the mean over the users that have at least one test item; users without
test items are left out (the per-user values are NaN for them).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp

from sciml.graph.backbone import as_numpy


def _hits(recommended: Any, test: Any, k: int | None) -> tuple[np.ndarray, np.ndarray]:
    """The (n_users, k) hit matrix and the test counts |T_u| (n_users,)."""
    rec = as_numpy(recommended, "recommended")
    if rec.ndim != 2:
        raise ValueError(f"recommended must be (n_users, k) item ids, got shape {rec.shape}")
    if rec.size and not np.issubdtype(rec.dtype, np.integer):
        raise TypeError(f"recommended must hold integer item ids, got dtype {rec.dtype}")
    rec = rec.astype(np.int64, copy=False)
    if k is not None:
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise ValueError(f"k must be an int >= 1, got {k!r}")
        if k > rec.shape[1]:
            raise ValueError(f"k = {k} but recommended has only {rec.shape[1]} columns")
        rec = rec[:, :k]
    n_users = rec.shape[0]
    if sp.issparse(test):
        t = sp.csr_array(test)
        if t.ndim != 2 or t.shape[0] != n_users:
            raise ValueError(
                f"test must be (n_users = {n_users}, n_items), one row per row of "
                f"recommended; got shape {t.shape}"
            )
        t.sum_duplicates()
        t.eliminate_zeros()
        n_items = t.shape[1]
    elif isinstance(test, Sequence) or isinstance(test, np.ndarray):
        if len(test) != n_users:
            raise ValueError(
                f"test must hold one array of item ids per user ({n_users}), got {len(test)}"
            )
        rows = [np.unique(np.asarray(x, dtype=np.int64).ravel()) for x in test]
        lengths = np.array([r.size for r in rows], dtype=np.int64)
        cols = np.concatenate(rows) if rows else np.zeros(0, np.int64)
        if cols.size and cols.min() < 0:
            raise ValueError("test item ids must be >= 0")
        n_items = int(max(cols.max(initial=-1), rec.max(initial=-1)) + 1)
        indptr = np.concatenate(([0], np.cumsum(lengths)))
        t = sp.csr_array((np.ones(cols.size), cols, indptr), shape=(n_users, n_items))
    else:
        raise TypeError(
            f"test must be a scipy.sparse matrix or a list of arrays, got {type(test).__name__}"
        )
    if rec.size and (rec.min() < 0 or rec.max() >= n_items):
        raise ValueError(
            f"recommended item ids must be in [0, n_items = {n_items}); got "
            f"[{rec.min()}, {rec.max()}]"
        )
    if rec.shape[1] > 1:
        srt = np.sort(rec, axis=1)
        dup = (srt[:, 1:] == srt[:, :-1]).any(axis=1)
        if dup.any():
            raise ValueError(f"recommended row {int(np.argmax(dup))} repeats an item id")
    # membership by binary search over the sorted keys u * n_items + item of the test set
    row_of = np.repeat(np.arange(n_users, dtype=np.int64), np.diff(t.indptr))
    keys = row_of * n_items + t.indices.astype(np.int64)
    queries = np.arange(n_users, dtype=np.int64)[:, None] * n_items + rec
    if keys.size == 0:
        return np.zeros(rec.shape, dtype=bool), np.zeros(n_users, dtype=np.int64)
    pos = np.searchsorted(keys, queries)
    hits = (pos < keys.size) & (keys[np.minimum(pos, keys.size - 1)] == queries)
    return hits, np.diff(t.indptr).astype(np.int64)


def _reduce(values: np.ndarray, counts: np.ndarray, per_user: bool) -> Any:
    values = np.where(counts > 0, values, np.nan)
    if per_user:
        return values
    if not (counts > 0).any():
        raise ValueError("no user has a test item: the metric is undefined")
    return float(np.nanmean(values))


def recall_at_k(
    recommended: Any, test: Any, k: int | None = None, *, per_user: bool = False
) -> Any:
    """Recall@k: hits in the top k divided by the user's number of test items.

    Args:
        recommended: (n_users, >= k) int item ids, best first, no repeats within a row.
        test: the test interactions: scipy.sparse (n_users, n_items), row u for row u of
            ``recommended`` (any nonzero is a test item), or a list of n_users id arrays.
        k: cut-off (default: all columns of ``recommended``).
        per_user: return the (n_users,) float64 values (NaN for users without test items)
            instead of their mean.

    Returns:
        The mean over users with test items (float), or the per-user array.
    """
    hits, counts = _hits(recommended, test, k)
    values = hits.sum(axis=1) / np.maximum(counts, 1)
    return _reduce(values, counts, per_user)


def ndcg_at_k(recommended: Any, test: Any, k: int | None = None, *, per_user: bool = False) -> Any:
    """NDCG@k with binary relevance; IDCG over min(k, number of test items) positions.

    Arguments and return value as :func:`recall_at_k`.
    """
    hits, counts = _hits(recommended, test, k)
    kk = hits.shape[1]
    discount = 1.0 / np.log2(np.arange(2, kk + 2))
    dcg = hits @ discount
    ideal = np.concatenate(([0.0], np.cumsum(discount)))[np.minimum(counts, kk)]
    values = dcg / np.where(ideal > 0, ideal, 1.0)
    return _reduce(values, counts, per_user)


def hit_rate_at_k(
    recommended: Any, test: Any, k: int | None = None, *, per_user: bool = False
) -> Any:
    """Hit rate@k: 1 if any of the top k is a test item, else 0.

    Arguments and return value as :func:`recall_at_k`.
    """
    hits, counts = _hits(recommended, test, k)
    return _reduce(hits.any(axis=1).astype(np.float64), counts, per_user)
