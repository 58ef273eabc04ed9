"""Dense numpy/scipy twins of the graph kernels (FastRP, GTE), for tests and for reading.

``fastrp_reference`` takes R explicitly (``random_projection`` gives the kernel's R), so
that with the same R it computes the same embedding as :class:`sciml.graph.FastRP`, up to
float32 rounding. ``gte_reference`` is GTE's layer-by-layer propagation as the authors
wrote it (dense representations), and ``top_k_reference`` GTE's ranking rule.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp


def _unit_rows(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit L2 norm; zero rows stay zero."""
    norms = np.linalg.norm(x, axis=1)
    norms[norms == 0] = 1.0
    return x / norms[:, None]


def fastrp_reference(
    adjacency: sp.sparray | sp.spmatrix | npt.ArrayLike,
    projection: npt.ArrayLike,
    weights: Sequence[float],
    beta: float,
    *,
    normalize: bool = True,
    variant: Literal["paper", "gds"] = "paper",
    self_influence: float = 0.0,
    standardize: bool | None = None,
) -> np.ndarray:
    """FastRP from its definition, with dense float64 matrices.

    Args:
        adjacency: S, (n, n), weights >= 0; row i holds the edges out of node i.
        projection: R0, (n, d), the unscaled random projection (entries +-sqrt(s) or 0),
            e.g. ``random_projection(n, d, s, seed)``.
        weights: alpha_1..alpha_k; ``weights[t-1]`` weighs N_t = P^t R.
        beta: degree exponent; R = diag(deg^beta) R0 with deg^beta = 1 where deg = 0.
        normalize: (paper) scale each N_t to unit row norm before weighting.
        variant: "paper" (weighted degree, powers propagate unnormalised) or "gds"
            (relationship count for deg^beta, each step's normalised result propagates).
        self_influence: weight of the (row-normalised) R in the sum.
        standardize: centre and scale each column to unit variance; None means True for
            "paper" and False for "gds". Columns with std 0 or std <= eps32 ``|mean|`` are
            only centred.

    Returns:
        The embedding, float64 (n, d).
    """
    s = sp.csr_array(adjacency, dtype=np.float64)
    s.sum_duplicates()
    s.eliminate_zeros()
    r0 = np.asarray(projection, dtype=np.float64)
    weighted = np.asarray(s.sum(axis=1)).ravel()
    degree = weighted if variant == "paper" else np.diff(s.indptr).astype(np.float64)
    scale = np.ones_like(degree)
    positive = degree > 0
    scale[positive] = degree[positive] ** beta
    r = r0 * scale[:, None]

    inv = np.zeros_like(weighted)
    inv[weighted > 0] = 1.0 / weighted[weighted > 0]
    p = sp.diags_array(inv) @ s

    normalized = normalize or variant == "gds"
    emb = self_influence * (_unit_rows(r) if normalized else r)
    n_t = r
    for alpha in weights:
        n_t = p @ n_t
        if variant == "gds":
            n_t = _unit_rows(n_t)
            emb = emb + alpha * n_t
        else:
            emb = emb + alpha * (_unit_rows(n_t) if normalized else n_t)

    if standardize is None:
        standardize = variant == "paper"
    if standardize and emb.shape[0] > 0:
        mean = emb.mean(axis=0)
        std = emb.std(axis=0)
        std[(std == 0) | (std <= np.finfo(np.float32).eps * np.abs(mean))] = 1.0
        emb = (emb - mean) / std
    return emb


def gte_reference(interactions: sp.sparray | sp.spmatrix, layers: int = 3) -> np.ndarray:
    """GTE's scores by the authors' literal propagation, float64 (n_users, n_items).

    ``I = Id``, ``U = 0``; per layer ``U, I = R I + U, R^T U + I`` (scipy sparse x dense).
    Dense in both n_users x n_items and n_items x n_items: for small data only.
    """
    r = sp.csr_array(interactions, dtype=np.float64)
    n_users, n_items = r.shape
    items = np.eye(n_items)
    users = np.zeros((n_users, n_items))
    rt = sp.csr_array(r.T)
    for _ in range(layers):
        users, items = r @ items + users, rt @ users + items
    return users


def top_k_reference(
    scores: np.ndarray, k: int, seen: sp.sparray | sp.spmatrix | None = None
) -> np.ndarray:
    """Top-k item ids (int64, (n_users, k)) of each row of ``scores``: score descending,
    ties by lower item id; with ``seen`` (same shape, nonzero = training item) those items
    rank after every other one (among themselves by lower id)."""
    s = np.asarray(scores, dtype=np.float64)
    excluded = np.zeros(s.shape, dtype=bool)
    if seen is not None:
        excluded = sp.csr_array(seen).toarray() != 0
    ids = np.broadcast_to(np.arange(s.shape[1]), s.shape)
    # lexsort: last key first; order by (excluded, -score, id)
    order = np.lexsort((ids, np.where(excluded, 0.0, -s), excluded), axis=1)
    return order[:, :k].astype(np.int64)


def topological_concentration_reference(
    train_edges: npt.ArrayLike,
    test_edges: npt.ArrayLike,
    K: int = 2,
    beta: float | None = None,
    num_nodes: int | None = None,
) -> np.ndarray:
    """Topological concentration with Python sets, transcribing the paper's formula.

    For every node i with training and test neighbours, the mean over its distinct test
    neighbours j of

        sum_{k1,k2} beta^(k1+k2-2) sum_{w in set(H^k1_i) & set(H^k2_j)} mult_i^k1(w)
        / sum_{k1,k2} beta^(k1+k2-2) ``|H^k1_i|``,

    H^k_i the multiset of the end points of k-step walks from i on the training graph
    (mult_i^k(w) walks reach w, ``|H^k_i|`` walks in all); 0 for the other nodes. beta
    defaults to n / (2 ``|E_train|``) (1 / mean degree). Edges: (2, E) integer arrays,
    undirected, duplicates counted once. Slow (pure Python): for tests.

    Returns:
        TC, float64 (n,), n = num_nodes or 1 + the largest id.
    """
    tr = [(int(u), int(v)) for u, v in np.asarray(train_edges).reshape(2, -1).T.tolist()]
    te = [(int(u), int(v)) for u, v in np.asarray(test_edges).reshape(2, -1).T.tolist()]
    if num_nodes is None:
        num_nodes = 1 + max([max(e) for e in tr + te], default=-1)
    train_adj: list[set[int]] = [set() for _ in range(num_nodes)]
    test_adj: list[set[int]] = [set() for _ in range(num_nodes)]
    for u, v in tr:
        train_adj[u].add(v)
        train_adj[v].add(u)
    for u, v in te:
        test_adj[u].add(v)
        test_adj[v].add(u)
    if beta is None:
        beta = num_nodes / sum(len(s) for s in train_adj)

    def layers(i: int) -> list[dict[int, int]]:
        """mult^k for k = 1..K: how many k-step walks from i end at each node."""
        out = []
        current = {i: 1}
        for _ in range(K):
            nxt: dict[int, int] = {}
            for w, c in current.items():
                for x in train_adj[w]:
                    nxt[x] = nxt.get(x, 0) + c
            out.append(nxt)
            current = nxt
        return out

    tc = np.zeros(num_nodes)
    for i in range(num_nodes):
        if not train_adj[i] or not test_adj[i]:
            continue
        hi = layers(i)
        values = []
        for j in sorted(test_adj[i]):
            hj = layers(j)
            inter = norm = 0.0
            for k1 in range(K):
                for k2 in range(K):
                    weight = beta ** (k1 + k2)
                    common = set(hi[k1]) & set(hj[k2])
                    inter += weight * sum(hi[k1][w] for w in common)
                    norm += weight * sum(hi[k1].values())
            values.append(inter / norm)
        tc[i] = sum(values) / len(values)
    return tc
