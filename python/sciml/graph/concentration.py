"""Topological concentration (TC), its random-projection approximation (ATC) and the
TC-inspired edge reweighting of Wang et al., "A Topological Perspective on Demystifying
GNN-Based Link Prediction Performance" (ICLR 2024; official code yuwvandy/Topo_LP_GNN).

Convention (read from ``cal_tc`` in ``TC-expr-small/dataprocess.py`` and
``TC-expr-collab/dataprocess.py`` of the official code, which computes it with Python
sets and Counters; the paper's Definition 1 writes the same ratio with g(``|H_i|``, ``|H_j|``) =
``|H_i|``):

- The graph of the neighbourhoods is the *training* graph A (undirected, binary: an edge
  given twice or in both directions counts once, as in the official ``defaultdict(set)``
  adjacency). Self-loops are refused (the paper's graphs have none, and a loop would make a
  node its own neighbour).
- H^k_i is layer k of node i's computation tree on A: the multiset of the end points of
  the k-step walks from i (walks may go back, so i itself is in H^2_i). Its multiplicities
  are the walk counts (A^k)_{iw}; ``|H^k_i|`` = sum_w (A^k)_{iw}.
- For a pair (i, j), with beta^(k1+k2-2) weighting layer k1 of i against layer k2 of j,

      I(i, j) = sum_{k1,k2=1..K} beta^(k1+k2-2) sum_{w in H^k1_i and H^k2_j} (A^k1)_{iw}
                / sum_{k1,k2=1..K} beta^(k1+k2-2) ``|H^k1_i|``,

  i.e. the intersection counts node w with its multiplicity in i's tree and once for j's
  tree (w in j's *set* of k2-hop walk end points), and it is normalised by the size of i's
  layer (the official ``inters`` / ``norms``).
- TC_i = mean of I(i, j) over the distinct *test* neighbours j of i (the official
  ``train_test_tc``); TC_i = 0 where i has no test neighbour or no training neighbour.
  A test neighbour without training edges contributes I = 0 to the mean.
- beta = 1 / mean training degree, the mean over all n nodes (2 ``|E_train|`` / n, isolated
  nodes included, as ``1 / np.mean(deg)`` there), unless given.

Because the double sum factorises, with W = sum_k beta^(k-1) A^k (walk counts) and
M = sum_k beta^(k-1) [A^k != 0] (reachability indicators),

    TC_i = sum_w W_iw (T M)_iw / (``|N^te_i|`` c sum_w W_iw),   c = sum_k beta^(k-1),

where T is the binary test adjacency. :func:`topological_concentration` evaluates exactly
this with scipy sparse products (K - 1 sparse x sparse powers of A, one product T M and a
row-wise dot), never a dense n x n matrix and no per-node Python loop. The cost is that of
A^K: O(n d^K) entries for mean degree d.

ATC (:func:`approx_topological_concentration`): the paper replaces the intersections by
inner products of propagated random vectors, ATC_i = mean_j f(R_i, R_j) with
R = sum_k alpha_k A_hat^k R0, at O(K dim (``|E|`` + n)) cost. The official repository ships no
ATC code, so the estimator here applies that construction to the exact formula above.
With R0 (n, dim) FastRP's random projection (``sciml._core.fastrp_projection`` with
s = 1: entries +-1, so E[R0 R0^T] = dim Id and ``|R0_w|^2`` = dim exactly),
X_k = A^k R0 and U = sum_k beta^(k-1) X_k,

    sum_j <U_i, U_j> / dim  estimates  sum_j sum_w W_iw sum_k beta^(k-1) (A^k)_{jw},

the numerator of TC with j's reachability indicators [A^k != 0]_{jw} replaced by walk
counts (equal for k = 1 and off the diagonal of trees; larger where j has several k-step
walks to w). Unnormalised powers of A are propagated and the denominator
``|N^te_i|`` c sum_w W_iw is computed exactly (K sparse matrix-vector products): propagating a
random-walk matrix D^-1 A instead, as in FastRP, weighs j's side by 1/d_j and ranks the
nodes of dense and sparse communities the wrong way round (Spearman 0.1-0.3 with TC on the
benchmark's graphs). By default (``exact_first_hop=True``) the terms that cost no more than
the propagation are computed exactly and left out of the projections, which removes most
of the variance: the one-hop/one-hop term, the common neighbours ``|N_i & N_j|`` of each test
pair, and, for K = 2, the terms of w = i ((A^2)_ii = d_i, i in H^2_j iff i and j share a
neighbour) and w = j (j in H^2_j) with the indicators exact. K = 1 is then exact.
Spearman with TC at dim 64 rises from about 0.72 to 0.89 on the benchmark's 2,000-node
graph (``benches/bench_graph_tc.py``).

Edge reweighting (:func:`tc_edge_weights`): the paper's TC-inspired message passing
(official ``update_adj`` in ``TC-expr-*/learn.py``), which raises the weight of the
neighbours j that fit the neighbourhood of the centre i:

    A~_ij = A_hat_ij + gamma * softmax_{j in N(i)}(g(N_i, h_j)) * sum_{k in N(i)} A_hat_ik,

with A_hat the GCN (``"sym"``, D^-1/2 (A + I) D^-1/2) or SAGE (``"rw"``, D^-1 (A + I))
weights of the training graph with self-loops (official ``normalize_edge``), h (n, F) the
node embeddings of the encoder, N_i = (A_hat h)_i the aggregated neighbourhood of i, and
g the link predictor's score of the Hadamard product N_i * h_j (the official MLP
``predictor.score``, a sigmoid output; default here sigmoid(<N_i, h_j>)). The softmax is
over the neighbours of i (self-loop included) of the scores as returned. Note: the
official code stores A~_ij at row j, column i of a torch_sparse ``SparseTensor`` that its
GCN multiplies as ``adj @ x``, so the matrix it propagates with is the transpose of the
paper's A~ (identical for the unweighted part, which is symmetric for ``"sym"``); the
weights returned here follow the paper: ``out_i = sum_j A~_ij h_j``.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from typing import Any, Literal

import numpy as np
import scipy.sparse as sp

from sciml._checks import check_int
from sciml.graph.backbone import MAX_NODES, Graph, as_numpy
from sciml.graph.fastrp import random_projection

__all__ = [
    "approx_topological_concentration",
    "tc_edge_weights",
    "topological_concentration",
]


# --- input checks --------------------------------------------------------------------------


def _edge_array(edges: Any, name: str) -> np.ndarray:
    """``edges`` (2, E) integers (numpy or torch) as int64, checked for shape and dtype."""
    e = as_numpy(edges, name)
    if e.ndim != 2 or e.shape[0] != 2:
        raise ValueError(f"{name} must have shape (2, E), got {e.shape}")
    if e.dtype == np.bool_ or (e.size and not np.issubdtype(e.dtype, np.integer)):
        raise TypeError(f"{name} must hold integer node ids, got dtype {e.dtype}")
    if e.size == 0 and not (np.issubdtype(e.dtype, np.number)):
        raise TypeError(f"{name} must hold integer node ids, got dtype {e.dtype}")
    e = e.astype(np.int64, copy=False)
    if e.size and e.min() < 0:
        col = int(np.argmin(e.min(axis=0)))
        raise ValueError(f"{name} must hold node ids >= 0; column {col} is {e[:, col].tolist()}")
    loops = e[0] == e[1]
    if loops.any():
        col = int(np.argmax(loops))
        raise ValueError(
            f"{name} must not contain self-loops (TC is defined on simple graphs); "
            f"column {col} is ({e[0, col]}, {e[1, col]})"
        )
    return e


def _prepare(
    train_edges: Any, test_edges: Any, K: Any, beta: Any, num_nodes: Any
) -> tuple[sp.csr_array, sp.csr_array, int, float]:
    """(A, T, K, beta): binary symmetric training and test adjacencies (float64 csr)."""
    tr = _edge_array(train_edges, "train_edges")
    te = _edge_array(test_edges, "test_edges")
    k = check_int(K, "K", 1, 64)
    if num_nodes is None:
        if tr.size == 0 and te.size == 0:
            raise ValueError("the graph is empty: no training or test edges and no num_nodes")
        n = int(max(tr.max(initial=-1), te.max(initial=-1))) + 1
    else:
        n = check_int(num_nodes, "num_nodes", 1, MAX_NODES)
        for e, name in ((tr, "train_edges"), (te, "test_edges")):
            if e.size and e.max() >= n:
                col = int(np.argmax(e.max(axis=0)))
                raise ValueError(
                    f"{name} ids must be < num_nodes = {n}; column {col} is {e[:, col].tolist()}"
                )
    if tr.shape[1] == 0:
        raise ValueError("train_edges is empty: TC needs a training graph")
    a = _binary_symmetric(tr, n)
    t = _binary_symmetric(te, n)
    if beta is None:
        b = n / a.nnz  # 1 / mean degree, a.nnz = 2 |E_train|
    else:
        if isinstance(beta, bool) or not isinstance(beta, numbers.Real):
            raise TypeError(f"beta must be a real number, got {type(beta).__name__}")
        b = float(beta)
        if not (math.isfinite(b) and b >= 0):
            raise ValueError(f"beta must be finite and >= 0, got {beta}")
    return a, t, k, b


def _binary_symmetric(edges: np.ndarray, n: int) -> sp.csr_array:
    """The 0/1 symmetric adjacency (n, n) float64 of undirected edges (duplicates once)."""
    both = np.hstack([edges, edges[::-1]])
    s = Graph.from_edge_index(both, np.ones(both.shape[1]), num_nodes=n).adjacency
    s = sp.csr_array(s, dtype=np.float64)
    s.data[:] = 1.0
    return s


# --- TC ------------------------------------------------------------------------------------


def _layer_weights(k: int, beta: float) -> list[float]:
    """beta^(k-1) for k = 1..K (0^0 = 1)."""
    return [beta**t for t in range(k)]


def _finish(numer: np.ndarray, walks: np.ndarray, t: sp.csr_array, c: float) -> np.ndarray:
    """numer / (``|N^te_i|`` c walks_i), 0 where a node lacks test or training neighbours."""
    n_test = np.diff(t.indptr).astype(np.float64)
    out = np.zeros(t.shape[0], dtype=np.float64)
    ok = (n_test > 0) & (walks > 0)
    out[ok] = numer[ok] / (n_test[ok] * c * walks[ok])
    return out


def topological_concentration(
    train_edges: Any,
    test_edges: Any,
    K: int = 2,
    beta: float | None = None,
    num_nodes: int | None = None,
) -> np.ndarray:
    """Exact topological concentration of every node (see the module docstring).

    Args:
        train_edges: (2, E_train) integer node ids (numpy or torch), each undirected
            training edge once (a repeat or the reversed edge is harmless).
        test_edges: (2, E_test) likewise, the held-out (test or validation) edges whose
            end points are the neighbours j that TC averages over.
        K: hops of the computation trees, >= 1.
        beta: layer decay (>= 0); None: 1 / mean training degree (over all n nodes).
        num_nodes: n; None: 1 + the largest id in either edge set.

    Returns:
        TC, float64 (n,): 0 for nodes without a test or without a training neighbour.

    Raises:
        TypeError: non-integer ids, a non-integer K or num_nodes, a non-real beta.
        ValueError: shapes other than (2, E), negative ids or ids >= num_nodes,
            self-loops, K < 1, beta < 0 or not finite, no training edge.
    """
    a, t, k, b = _prepare(train_edges, test_edges, K, beta, num_nodes)
    lw = _layer_weights(k, b)
    walks_k = a  # A^k, walk counts
    w = a.copy()  # sum_k beta^(k-1) A^k
    m = a.copy()  # sum_k beta^(k-1) [A^k != 0]
    for step in range(1, k):
        walks_k = sp.csr_array(walks_k @ a)
        w = w + lw[step] * walks_k
        reach = walks_k.copy()
        reach.data[:] = 1.0
        m = m + lw[step] * reach
    # only rows with a test neighbour matter: T M restricted to them is T M itself
    tm = sp.csr_array(t @ m)
    numer = np.asarray(w.multiply(tm).sum(axis=1)).ravel()
    walks = np.asarray(w.sum(axis=1)).ravel()
    return _finish(numer, walks, t, sum(lw))


# --- ATC -----------------------------------------------------------------------------------


def approx_topological_concentration(
    train_edges: Any,
    test_edges: Any,
    K: int = 2,
    dim: int = 64,
    beta: float | None = None,
    num_nodes: int | None = None,
    seed: int = 0,
    *,
    exact_first_hop: bool = True,
) -> np.ndarray:
    """Approximated topological concentration (ATC) by propagated random vectors.

    With R0 (n, dim) FastRP's random projection for ``seed`` (entries +-1),
    X_k = A^k R0, U = sum_k beta^(k-1) X_k and T the test adjacency,

        ATC_i = <U_i, (T U)_i> / (dim ``|N^te_i|`` c sum_w W_iw)

    (``exact_first_hop=False``: the paper's inner product of propagated random vectors,
    normalised by the exact walk mass). By default (``exact_first_hop=True``) the parts
    that cost no more than the propagation are computed exactly instead of estimated,
    which removes most of the estimator's variance: the one-hop/one-hop term (common
    neighbours ``|N_i & N_j|`` of each test pair, a sparse row gather) and, for K = 2, the
    contributions of the nodes i and j themselves (i sits d_i times in H^2_i; j is in
    H^2_j), which are dropped from the projections. The other terms are estimated with
    j's walk counts (A^k)_{jw} in place of the indicators [w in H^k_j]. K = 1 is then
    exact. Cost O(K dim (``|E|`` + n) + ``|E_test|`` d); memory a few (n, dim) float32 buffers.

    Args:
        train_edges, test_edges, K, beta, num_nodes: as :func:`topological_concentration`.
        dim: the number of random vectors, >= 1.
        seed: the seed of R0, an integer in [0, 2**64).
        exact_first_hop: compute the one-hop and self terms exactly (see above).

    Returns:
        ATC, float64 (n,): 0 for nodes without a test or without a training neighbour.

    Raises:
        as :func:`topological_concentration`; also TypeError/ValueError for a dim that
        is not an int >= 1, a seed outside [0, 2**64) or a non-bool exact_first_hop.
    """
    a, t, k, b = _prepare(train_edges, test_edges, K, beta, num_nodes)
    d = check_int(dim, "dim", 1, 2**32 - 1)
    s = check_int(seed, "seed", 0, 2**64 - 1)
    if not isinstance(exact_first_hop, bool | np.bool_):
        raise TypeError(f"exact_first_hop must be a bool, got {type(exact_first_hop).__name__}")
    n = a.shape[0]
    lw = _layer_weights(k, b)
    deg = np.diff(a.indptr).astype(np.float64)
    walks = np.zeros(n)
    ones = np.ones(n)
    for step in range(k):
        ones = a @ ones
        walks += lw[step] * ones
    numer = np.zeros(n)
    if exact_first_hop:
        # each undirected test pair once (i < j), credited to both ends
        pairs = sp.triu(t, k=1).tocoo()
        i, j = pairs.row.astype(np.int64), pairs.col.astype(np.int64)
        rows_i, rows_j = a[i], a[j]
        rows_i.has_sorted_indices = rows_j.has_sorted_indices = True  # rows of canonical a
        cn = np.asarray(rows_i.multiply(rows_j).sum(axis=1)).ravel()  # |N_i & N_j|
        numer += np.bincount(i, cn, minlength=n) + np.bincount(j, cn, minlength=n)
        if k == 2:
            aij = np.asarray(a[i, j]).ravel()  # a test pair that is also a training edge

            def own(p: np.ndarray, q: np.ndarray) -> np.ndarray:
                """The exact terms of w = p ((A^2)_pp = d_p; p in H^2_q iff a common
                neighbour) and w = q (q in H^2_q when d_q > 0) for centre p."""
                return (
                    b * deg[p] * aij
                    + b * b * deg[p] * (cn > 0)
                    + (b * aij + b * b * cn) * (deg[q] > 0)
                )

            numer += np.bincount(i, own(i, j), minlength=n) + np.bincount(j, own(j, i), minlength=n)
    if k > 1 or not exact_first_hop:
        # float32 propagation: the estimate's noise is far above float32's rounding
        a32 = sp.csr_array(a, dtype=np.float32)
        t32 = sp.csr_array(t, dtype=np.float32)
        r0 = random_projection(n, d, 1.0, s)  # s = 1: dense +-1, the least variance
        x1 = a32 @ r0
        rest = np.zeros_like(x1)  # sum_{k >= 2} beta^(k-1) X_k
        x = x1
        for step in range(1, k):
            x = a32 @ x
            rest += np.float32(lw[step]) * x
        if exact_first_hop and k == 2:
            rest -= (np.float32(b) * deg.astype(np.float32))[:, None] * r0
        u = x1 + rest
        tu = t32 @ u
        if exact_first_hop:  # all pairs of layers but (1, 1)
            proj = _rowdot(x1, t32 @ rest) + _rowdot(rest, tu)
        else:
            proj = _rowdot(u, tu)
        numer += proj / d
    return _finish(numer, walks, t, sum(lw))


def _rowdot(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Row-wise dot products of two (n, d) arrays, accumulated in float64."""
    return np.einsum("ij,ij->i", x, y, dtype=np.float64)


# --- edge reweighting ----------------------------------------------------------------------


def _sigmoid_dot(hadamard: np.ndarray) -> np.ndarray:
    z = hadamard.sum(axis=1)
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # sigmoid, overflow-free


def tc_edge_weights(
    train_edges: Any,
    embeddings: Any,
    *,
    gamma: float = 1.0,
    score: Callable[[np.ndarray], Any] | None = None,
    normalization: Literal["sym", "rw"] = "sym",
    num_nodes: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The paper's TC-inspired edge weights for message passing (module docstring).

    A~_ij = A_hat_ij + gamma softmax_{j in N(i)}(g(N_i * h_j)) sum_{k in N(i)} A_hat_ik
    over the training graph with self-loops, N = A_hat h.

    Args:
        train_edges: (2, E) integer node ids, each undirected training edge once.
        embeddings: h, (n, F) real node embeddings (numpy or torch; used detached).
        gamma: the strength of the reweighting (the official ``--alpha``, default 1), >= 0.
        score: g, a callable mapping the (E', F) Hadamard products N_i * h_j to (E',)
            scores (e.g. a trained link predictor); None: sigmoid of the row sums
            (sigmoid(<N_i, h_j>)).
        normalization: ``"sym"`` (GCN: D^-1/2 (A + I) D^-1/2) or ``"rw"`` (SAGE mean:
            D^-1 (A + I)), D the degrees with the self-loop.
        num_nodes: n; None: ``embeddings.shape[0]``.

    Returns:
        ``(edge_index, weight)``: (2, E') int64 in PyG's convention (row 0 the source j,
        row 1 the target i, so ``out_i = sum_e weight_e h_{src_e}``), both directions of
        every training edge plus one self-loop per node, sorted by (target, source); and
        weight (E',) float64. For every target i the added terms sum to gamma times
        the sum of i's original weights.

    Raises:
        TypeError/ValueError: bad edges (as :func:`topological_concentration`), embeddings
        that are not (n, F) finite reals, a score that does not return (E',) finite
        values, a negative or non-finite gamma, an unknown normalization.
    """
    tr = _edge_array(train_edges, "train_edges")
    h = as_numpy(embeddings, "embeddings")
    if h.ndim != 2:
        raise ValueError(f"embeddings must have shape (n, F), got {h.shape}")
    if h.dtype == np.bool_ or not (
        np.issubdtype(h.dtype, np.floating) or np.issubdtype(h.dtype, np.integer)
    ):
        raise TypeError(f"embeddings must hold real numbers, got dtype {h.dtype}")
    h = h.astype(np.float64, copy=False)
    if not np.isfinite(h).all():
        raise ValueError("embeddings must be finite; found NaN or infinite entries")
    n = h.shape[0] if num_nodes is None else check_int(num_nodes, "num_nodes", 1, MAX_NODES)
    if h.shape[0] != n or n == 0:
        raise ValueError(f"embeddings must have n = {n} >= 1 rows, got shape {h.shape}")
    if tr.size and tr.max() >= n:
        col = int(np.argmax(tr.max(axis=0)))
        raise ValueError(
            f"train_edges ids must be < n = {n}; column {col} is {tr[:, col].tolist()}"
        )
    if isinstance(gamma, bool) or not isinstance(gamma, numbers.Real):
        raise TypeError(f"gamma must be a real number, got {type(gamma).__name__}")
    if not (math.isfinite(gamma) and gamma >= 0):
        raise ValueError(f"gamma must be finite and >= 0, got {gamma}")
    if normalization not in ("sym", "rw"):
        raise ValueError(f"normalization must be 'sym' or 'rw', got {normalization!r}")

    a = _binary_symmetric(tr, n) if tr.size else sp.csr_array((n, n), dtype=np.float64)
    a = sp.csr_array(a + sp.eye_array(n, format="csr"))  # with self-loops, binary
    deg = np.diff(a.indptr).astype(np.float64)  # >= 1
    # row i of `a` lists the neighbours j of the target i: edges sorted by (target, source)
    tgt = np.repeat(np.arange(n, dtype=np.int64), np.diff(a.indptr))
    src = a.indices.astype(np.int64)
    if normalization == "sym":
        base = 1.0 / np.sqrt(deg[tgt] * deg[src])
    else:
        base = 1.0 / deg[tgt]
    a_hat = sp.csr_array((base, a.indices, a.indptr), shape=(n, n))
    agg = np.asarray(a_hat @ h)  # N = A_hat h
    g = _sigmoid_dot if score is None else score
    raw = g(agg[tgt] * h[src])
    logits = as_numpy(raw, "score(...)")
    if logits.shape not in ((src.size,), (src.size, 1)):
        raise ValueError(f"score must return ({src.size},) values, got shape {logits.shape}")
    logits = logits.reshape(-1).astype(np.float64)
    if not np.isfinite(logits).all():
        raise ValueError("score returned NaN or infinite values")
    # softmax over the neighbours of each target (segments of the CSR rows)
    starts = a.indptr[:-1]
    top = np.maximum.reduceat(logits, starts)
    ex = np.exp(logits - top[tgt])
    soft = ex / np.add.reduceat(ex, starts)[tgt]
    total = np.add.reduceat(base, starts)[tgt]  # sum_k A_hat_ik
    weight = base + gamma * soft * total
    return np.vstack([src, tgt]), weight
