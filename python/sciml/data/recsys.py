"""A seeded generator of implicit-feedback (users x items) data, and a per-user split.

The model behind :func:`implicit_feedback`:

- users and items each belong to one of ``n_communities`` latent communities (uniformly);
- item j has a popularity ``w_j = rank_j ** -popularity_exponent`` (ranks a random
  permutation of 1..n_items: a power law, Zipf-like for exponents near 1);
- user u has an activity ``a_u`` (lognormal, sigma ``activity_sigma``), so degrees vary;
- an interaction picks a user with probability proportional to activity, then, with
  probability ``community_strength``, an item of the user's community with probability
  proportional to popularity within that community, else an item of the whole catalogue
  with probability proportional to popularity.

Repeated (user, item) pairs are merged, and pairs are drawn until exactly
``n_interactions`` distinct ones exist (the last draw is thinned at random). All of it is
vectorised numpy: the "large" preset (200,000 x 50,000, 4M interactions) takes seconds.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import scipy.sparse as sp

from sciml._checks import check_int

PRESETS: dict[str, dict[str, Any]] = {
    "small": {"n_users": 3_000, "n_items": 2_000, "n_interactions": 60_000, "n_communities": 10},
    "large": {
        "n_users": 200_000,
        "n_items": 50_000,
        "n_interactions": 4_000_000,
        "n_communities": 20,
    },
}
"""Named sizes for :func:`implicit_feedback_preset` (20 interactions per user on average)."""


def _check_fraction(value: Any, name: str, lo: float, hi: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    v = float(value)
    if not (math.isfinite(v) and lo <= v <= hi):
        raise ValueError(f"{name} must be in [{lo}, {hi}], got {value}")
    return v


def _sample(cum: np.ndarray, lo: np.ndarray, hi: np.ndarray, rng: np.random.Generator) -> Any:
    """Indices drawn in ranges of a cumulative weight array: for each pair (lo, hi) of
    cumulative bounds, an index i with probability proportional to its weight."""
    u = lo + rng.random(lo.shape) * (hi - lo)
    return np.minimum(np.searchsorted(cum, u, side="right"), cum.size - 1)


def implicit_feedback(
    n_users: int,
    n_items: int,
    n_interactions: int | None = None,
    *,
    density: float | None = None,
    n_communities: int = 10,
    seed: int = 0,
    popularity_exponent: float = 0.8,
    community_strength: float = 0.8,
    activity_sigma: float = 0.6,
) -> sp.csr_array:
    """A seeded implicit-feedback matrix with latent communities and power-law popularity.

    Args:
        n_users, n_items: the matrix shape (both >= 1).
        n_interactions: the number of distinct (user, item) pairs; or give ``density``
            (the fraction of the n_users x n_items pairs) instead. At most half of all pairs.
        n_communities: number of latent communities (>= 1, at most min(n_users, n_items)).
        seed: seed of numpy's generator: same seed, same matrix.
        popularity_exponent: exponent a >= 0 of item popularity rank**-a (0: uniform).
        community_strength: fraction in [0, 1] of interactions drawn inside the user's
            community.
        activity_sigma: sigma >= 0 of the lognormal user activity (0: equal activity).

    Returns:
        R, a ``scipy.sparse.csr_array`` (n_users, n_items) of float32 ones, canonical
        (sorted indices, no duplicates), with exactly ``n_interactions`` entries.

    Raises:
        ValueError: non-positive sizes, both or neither of n_interactions and density,
            more interactions than half of the pairs, parameters out of range.
    """
    n_users = check_int(n_users, "n_users", 1)
    n_items = check_int(n_items, "n_items", 1)
    pairs = n_users * n_items
    if (n_interactions is None) == (density is None):
        raise ValueError("give exactly one of n_interactions and density")
    if density is not None:
        d = _check_fraction(density, "density", 0.0, 0.5)
        n_interactions = round(d * pairs)
    n_int = check_int(n_interactions, "n_interactions", 0)
    if n_int > pairs // 2:
        raise ValueError(
            f"n_interactions must be at most half of n_users * n_items = {pairs}, got {n_int}"
        )
    n_communities = check_int(n_communities, "n_communities", 1)
    if n_communities > min(n_users, n_items):
        raise ValueError(
            f"n_communities must be at most min(n_users, n_items) = {min(n_users, n_items)}, "
            f"got {n_communities}"
        )
    a = _check_fraction(popularity_exponent, "popularity_exponent", 0.0, 10.0)
    strength = _check_fraction(community_strength, "community_strength", 0.0, 1.0)
    sigma = _check_fraction(activity_sigma, "activity_sigma", 0.0, 10.0)
    rng = np.random.default_rng(check_int(seed, "seed", 0))

    # communities: every community gets users and items (a shuffled round robin)
    user_comm = rng.permutation(np.arange(n_users) % n_communities)
    item_comm = rng.permutation(np.arange(n_items) % n_communities)
    popularity = rng.permutation(np.arange(1, n_items + 1, dtype=np.float64)) ** -a
    activity = np.exp(sigma * rng.standard_normal(n_users))
    user_cum = np.cumsum(activity)
    # items sorted by community: community c holds the sorted positions bounds[c]:bounds[c+1]
    order = np.argsort(item_comm, kind="stable")
    item_cum = np.cumsum(popularity[order])
    starts = np.concatenate(([0.0], item_cum))
    bounds = np.searchsorted(item_comm[order], np.arange(n_communities + 1))
    global_cum = np.cumsum(popularity)

    keys = np.empty(0, dtype=np.int64)
    while keys.size < n_int:
        m = max(1024, int(1.3 * (n_int - keys.size)))
        users = _sample(user_cum, np.zeros(m), np.full(m, user_cum[-1]), rng)
        inside = rng.random(m) < strength
        items = np.empty(m, dtype=np.int64)
        c = user_comm[users[inside]]
        items[inside] = order[_sample(item_cum, starts[bounds[c]], starts[bounds[c + 1]], rng)]
        k = int((~inside).sum())
        items[~inside] = _sample(global_cum, np.zeros(k), np.full(k, global_cum[-1]), rng)
        keys = np.union1d(keys, users.astype(np.int64) * n_items + items)
    if keys.size > n_int:
        keys = np.sort(rng.choice(keys, size=n_int, replace=False))
    rows, cols = np.divmod(keys, n_items)
    r = sp.csr_array((np.ones(n_int, dtype=np.float32), (rows, cols)), shape=(n_users, n_items))
    r.sum_duplicates()
    return r


def implicit_feedback_preset(name: str, seed: int = 0) -> sp.csr_array:
    """:func:`implicit_feedback` at a named size: ``"small"`` (3,000 users x 2,000 items,
    60,000 interactions, 10 communities) or ``"large"`` (200,000 x 50,000, 4,000,000
    interactions, 20 communities). Returns a float32 csr_array (n_users, n_items)."""
    if name not in PRESETS:
        raise ValueError(f"preset must be one of {sorted(PRESETS)}, got {name!r}")
    return implicit_feedback(**PRESETS[name], seed=seed)


def split_per_user(
    interactions: Any, test_fraction: float = 0.2, seed: int = 0
) -> tuple[sp.csr_array, sp.csr_array]:
    """Splits each user's interactions at random into train and test.

    User u with d_u interactions sends ``round(test_fraction * d_u)`` of them to test,
    but at most d_u - 1: every user with an interaction keeps at least one in train (a
    user with a single interaction has none in test).

    Args:
        interactions: a scipy.sparse matrix (n_users, n_items); stored values are kept.
        test_fraction: in [0, 1).
        seed: seed of the split.

    Returns:
        ``(train, test)``: csr_arrays of the input's shape, disjoint, summing to the input.
    """
    if not sp.issparse(interactions) or interactions.ndim != 2:
        raise TypeError(
            f"interactions must be a 2-d scipy.sparse matrix, got {type(interactions).__name__}"
        )
    frac = _check_fraction(test_fraction, "test_fraction", 0.0, 1.0)
    if frac >= 1.0:
        raise ValueError(f"test_fraction must be < 1, got {test_fraction}")
    r = sp.csr_array(interactions)
    if not r.has_canonical_format:
        r = r.copy()
        r.sum_duplicates()
    rng = np.random.default_rng(check_int(seed, "seed", 0))
    degrees = np.diff(r.indptr)
    n_test = np.minimum(np.rint(frac * degrees).astype(np.int64), np.maximum(degrees - 1, 0))
    # rank each entry inside its row by a random key; the n_test lowest go to test
    row_of = np.repeat(np.arange(r.shape[0]), degrees)
    key = rng.random(r.nnz)
    order = np.lexsort((key, row_of))
    rank = np.empty(r.nnz, dtype=np.int64)
    rank[order] = np.arange(r.nnz) - np.repeat(r.indptr[:-1], degrees)
    is_test = rank < n_test[row_of]

    def part(mask: np.ndarray) -> sp.csr_array:
        out = sp.csr_array(
            (r.data[mask], (row_of[mask], r.indices[mask])), shape=r.shape, dtype=r.dtype
        )
        out.sum_duplicates()
        return out

    return part(~is_test), part(is_test)
