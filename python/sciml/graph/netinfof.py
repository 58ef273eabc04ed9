"""NetInfoF: measuring (probe) and exploiting (act) the usable information in a graph.

Lee, Yu, Zhang, Ioannidis, Song, Adeshina, Zheng and Faloutsos, "NetInfoF Framework:
Measuring and Exploiting Network Usable Information" (ICLR 2024); official code
amazon-science/Network-Usable-Info-Framework (read at commit ee610cd: ``src/models/
proposed.py``, ``src/models/nui.py``, ``src/models/cm.py``, ``src/models/utils.py``,
``src/rwcpp.cpp``, ``src/main.py``). That code covers link prediction only; the node
classification variant follows the paper (probe: clustering of each derived embedding;
act: logistic regression on the concatenated normalised embeddings).

**Derived embeddings** (the paper's C1..C5, ``proposed.py``). The graph is made
undirected, unweighted and loop-free (A = max(S, S^T) > 0, diagonal dropped), as the
official loader does. With d = min(``dim`` = 128, F, n) (the official ``hidden_size =
min(F, 128)``, used for every embedding, the structural ones included):

- ``"U"`` structure: rank-d truncated SVD A ~ U diag(s) V^T, embedding U diag(sqrt(s))
  (official: ``torch.svd_lowrank(adj, d)``, two power iterations; here scikit-learn's
  ``randomized_svd`` with ``n_iter=2``).
- ``"R"`` neighbourhood: the same SVD of the random-walk co-occurrence matrix. The
  official C++ helper runs T = 200 non-backtracking walks of 3 nodes (two steps) from each
  node, counts (start, visited) pairs over both steps and keeps the pairs seen more than
  once. sciml computes the expectation of those counts per walk without sampling:
  M = D^-1 A + NB2, with NB2 the non-backtracking two-step probabilities
  (D^-1 A diag(1 / (deg - 1)) A, the return i -> k -> i removed; walks stop at a node of
  degree 1), and keeps the entries >= ``walk_threshold`` = 2 / 200 (a count above 1 in
  200 trials). Deterministic, no compiled helper; the scale (T) cancels in the
  normalisation below.
- ``"F"`` features: PCA of X to d components.
- ``"P"`` propagated features: (D^-1 A)^2 X (two row-normalised hops, no self-loops),
  then PCA to d.
- ``"S"`` propagated with self-loops: (D~^-1 (A + I))^2 X, then PCA to d.

Each embedding is then normalised as the official ``preprocess``: every column divided
by its standard deviation (no centring; constant columns left as they are), then every
row scaled to unit L2 norm (zero rows stay zero).

**Probe, node classification** (:meth:`NetInfoF.fit`). The paper discretises each
embedding by clustering; the official code (link prediction only) does not show how, so
the following are sciml's choices. k-means (scikit-learn, 3 initialisations, seeded) runs
on all n nodes (unsupervised, transductive like the embeddings) with k = the number of
classes among the training labels (``n_clusters``), on the leading ``probe_dim`` = k
columns of the embedding (rows renormalised). Why not all d columns: the column
standardisation gives each of them unit variance, so in an SBM's structural embedding
the few community directions drown among d - k noise directions and k-means splits the
noise (on a 4-class CSBM with d = 64, U's score is 0.27 on all columns, 0.90 on the first
4, while a logistic regression on U reaches 0.94). More clusters than classes make the
plug-in estimate on few labelled nodes optimistic. The contingency table of (cluster,
label) over the probe nodes (``probe_mask``, default the training nodes) gives the
plug-in conditional entropy H(Y|X) (bits) and the NetInfoF score ``2^(-H(Y|X))`` in
[0, 1]. The theorem: for any discrete X, ``2^(-H(Y|X)) <= sum_x p(x) max_y p(y|x)``,
the accuracy of predicting the majority label of each cluster (per x,
``max_y p(y|x) >= sum_y p(y|x)^2 >= 2^(-H(Y|X=x))``, Renyi entropies decreasing in their
order; then Jensen, 2^-t being convex). On the table it was computed from it holds
exactly (``probe_accuracy_``); against another classifier or other nodes it holds up to
sampling error (score it on a validation set, ``probe_mask``, to compare with test
accuracy).

**Act, node classification**: multinomial logistic regression (scikit-learn, lbfgs, L2
penalty ``C``) on the concatenation of the normalised embeddings, fitted on the training
nodes; :meth:`NetInfoF.predict` labels any nodes. The column standardisation gives
noise directions the weight of informative ones, so with few labels the 5 d inputs
overfit: on 4-class CSBMs with d = 64, 500 training nodes match a 2-layer GCN, 150 fall
4 points short (a smaller ``dim``, e.g. 16, closes that gap; see
``benches/bench_graph_netinfof.py``).

**Link prediction** (:meth:`NetInfoF.fit_links`, ``cm.py`` and ``main.py``). For each
embedding X (n, d) a symmetric compatibility matrix H (d, d) is fitted so that
x_i^T H x_j is 1 on edges and 0 on random pairs: the positive pairs are the training
edges (each undirected edge once), minus those touching a node of degree 1 (the official
"two-core" filter), at most ``max_edges`` = 200,000 of them sampled; the negative pairs
are twice as many uniform random (i, j) (not checked against the edges, as officially).
The official warm start and coefficient selection are kept: a ridge regression
(alpha = 1, no intercept) of x_j on x_i over the edges gives H0; the upper-triangle
coefficients of H0 whose magnitudes together make less than 5 % of the total are fixed
at 0; the others solve the damped least squares ``min ||Phi h - t||^2 + ||h - h0||^2``
(``scipy.sparse.linalg.lsqr`` with ``damp=1``, ``atol = btol = 1e-2`` and ``x0 = h0``:
scipy damps the step from x0, so the ridge pulls towards the warm start, not 0). Phi
(pairs x d(d+1)/2) is never formed: products with it are d x d matrix products over
blocks of pairs. The adjusted embedding is ``X H``; an edge (i, j) gets the features
``(X H)_i * X_j`` (elementwise) of every embedding, concatenated, and the act step is a
logistic regression on them, positives against as many fresh uniform random pairs
(the official trains one linear layer per embedding, summed, by BCE with LBFGS, a sparse
group-lasso penalty and a grid over its two weights chosen on validation edges; sciml
fits the same linear model by scikit-learn's logistic regression with a strong L2 penalty,
``link_C`` = 0.01: the training edges are in the graph the embeddings come from, and a
weak penalty fits that memorisation (test AUC on generated SBMs: 0.76 at C = 1, 0.81-0.82
at C = 0.01, near the block model's optimum 0.825). :meth:`NetInfoF.score_links`
returns its logits. :meth:`NetInfoF.probe_links` is the link probe of ``nui.py``: the
similarity ``(X H)_i . X_j`` binned into 8 quantile bins fitted on the training pairs
(edges and twice as many random pairs), then the score of the (bin, label) table of
labelled pairs.

Costs: O(nnz(A) d) per SVD power iteration, O(n F d) per PCA, ``sum_k deg_k^2`` for the
walk matrix, O(pairs d^2) per least-squares iteration; nothing n x n is dense.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp

from sciml._checks import NotFittedError, check_int, check_real
from sciml.graph.backbone import Graph, as_numpy

EMBEDDINGS: dict[str, str] = {
    "U": "structure: truncated SVD of the adjacency",
    "R": "neighbourhood: truncated SVD of the two-step non-backtracking walk matrix",
    "F": "features: PCA of X",
    "P": "propagated features: PCA of (D^-1 A)^2 X",
    "S": "propagated features with self-loops: PCA of (D~^-1 (A + I))^2 X",
}
"""The derived embeddings, by the paper's letters, in their order of concatenation."""

_SVD_RTOL = 1e-5
"""Singular values below this share of the largest (float32 SVD) are dropped."""
_PCA_RTOL = 1e-9
"""Principal components below this share of ||X||_F are dropped (round-off)."""
_PAIR_BLOCK = 65536
"""Pairs processed together in the compatibility least squares."""


# --- information measures ---------------------------------------------------------------


def contingency_table(x_discrete: Any, y: Any) -> np.ndarray:
    """Counts (n_values_x, n_values_y) of the pairs (x_i, y_i), float64; rows and columns
    in the sorted order of the distinct values of x and of y."""
    xd = np.asarray(x_discrete).ravel()
    yd = np.asarray(y).ravel()
    if xd.shape != yd.shape:
        raise ValueError(f"x_discrete and y must have the same length, got {xd.size} and {yd.size}")
    if xd.size == 0:
        raise ValueError("x_discrete and y are empty")
    _, xi = np.unique(xd, return_inverse=True)
    _, yi = np.unique(yd, return_inverse=True)
    table = np.zeros((int(xi.max()) + 1, int(yi.max()) + 1))
    np.add.at(table, (xi.ravel(), yi.ravel()), 1.0)
    return table


def _check_table(table: Any) -> np.ndarray:
    t = np.asarray(table, dtype=np.float64)
    if t.ndim != 2 or t.size == 0:
        raise ValueError(f"table must be a non-empty 2-d array, got shape {t.shape}")
    if not np.isfinite(t).all() or (t < 0).any():
        raise ValueError("table must hold finite counts >= 0")
    if t.sum() <= 0:
        raise ValueError("table must hold at least one count")
    return t


def conditional_entropy(table: Any) -> float:
    """H(Y|X) in bits of the joint law ``table / table.sum()``, rows = values of X,
    columns = values of Y (the plug-in estimate from counts)."""
    t = _check_table(table)
    p = t / t.sum()
    px = p.sum(axis=1, keepdims=True)
    nz = p > 0
    ratio = np.divide(p, px, out=np.ones_like(p), where=nz)
    return float(max(0.0, -(p[nz] * np.log2(ratio[nz])).sum()))


def majority_accuracy(table: Any) -> float:
    """The accuracy of predicting, for each row (value of X), its most frequent column:
    ``sum_x max_y table[x, y] / table.sum()``."""
    t = _check_table(table)
    return float(t.max(axis=1).sum() / t.sum())


def netinfof_score(x_discrete: Any, y: Any) -> float:
    """The NetInfoF score ``2^(-H(Y|X))`` of a discrete variable X (any hashable values)
    for the labels y, from their empirical joint law; in (0, 1], 1 iff X determines Y.
    It is at most :func:`majority_accuracy` of the same table."""
    return float(2.0 ** -conditional_entropy(contingency_table(x_discrete, y)))


# --- input checks -----------------------------------------------------------------------


def _check_features(x: Any) -> np.ndarray:
    a = as_numpy(x, "x")
    if a.dtype == object or not (
        np.issubdtype(a.dtype, np.floating) or np.issubdtype(a.dtype, np.integer)
    ):
        raise TypeError(f"x must hold real numbers, got dtype {a.dtype}")
    if a.ndim != 2 or a.shape[0] < 2 or a.shape[1] < 1:
        raise ValueError(f"x must have shape (n, F) with n >= 2 and F >= 1, got {a.shape}")
    a = a.astype(np.float64)
    if not np.isfinite(a).all():
        bad = np.argwhere(~np.isfinite(a))[0]
        raise ValueError(f"x has NaN or infinite values (first at {tuple(int(i) for i in bad)})")
    return a


def _check_mask(mask: Any, n: int, name: str) -> np.ndarray:
    m = as_numpy(mask, name)
    if m.dtype != np.bool_:
        raise ValueError(f"{name} must be a boolean array, got dtype {m.dtype}")
    if m.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},), got {m.shape}")
    return m


def _check_pairs(edges: Any, n: int, name: str) -> np.ndarray:
    e = as_numpy(edges, name)
    if e.ndim != 2 or e.shape[0] != 2:
        raise ValueError(f"{name} must have shape (2, E), got {e.shape}")
    if e.size and not np.issubdtype(e.dtype, np.integer):
        raise ValueError(f"{name} must hold integer node ids, got dtype {e.dtype}")
    e = e.astype(np.int64)
    if e.size and (e.min() < 0 or e.max() >= n):
        raise ValueError(f"{name} ids must be in [0, {n}), got [{e.min()}, {e.max()}]")
    return e


def _undirected_adjacency(edge_index: Any, n: int) -> sp.csr_array:
    """A = max(S, S^T) > 0 as a 0/1 float64 csr without self-loops."""
    ei = _check_pairs(edge_index, n, "edge_index")
    g = Graph.from_edge_index(ei, num_nodes=n)
    a = g.symmetrized().adjacency
    a = sp.csr_array((a > 0).astype(np.float64))
    a.setdiag(0)
    a.eliminate_zeros()
    return a


# --- embeddings ---------------------------------------------------------------------------


def _svd_embedding(m: Any, d: int, seed: int) -> np.ndarray:
    """Left singular vectors times sqrt(singular values), rank d (n, d) float64 (the
    randomized SVD runs in float32, as the official torch code)."""
    from sklearn.utils.extmath import randomized_svd

    n = m.shape[0]
    if m.nnz == 0:
        return np.zeros((n, d))
    u, s, _ = randomized_svd(sp.csr_array(m, dtype=np.float32), d, n_iter=2, random_state=seed)
    s = s.astype(np.float64)
    s[s <= _SVD_RTOL * s.max()] = 0.0  # float32 round-off, not structure
    return u.astype(np.float64) * np.sqrt(s)[None, :]


def _pca(x: np.ndarray, d: int, seed: int) -> np.ndarray:
    """The scores of the first d principal components of x (n, F) -> (n, d); components
    at the round-off level of x (constant data) are 0."""
    xc = x - x.mean(axis=0, keepdims=True)
    n, f = xc.shape
    if d >= 0.8 * min(n, f) or max(n, f) <= 500:
        u, s, _ = np.linalg.svd(xc, full_matrices=False)
        u, s = u[:, :d], s[:d]
    else:
        from sklearn.utils.extmath import randomized_svd

        u, s = randomized_svd(xc, d, random_state=seed)[:2]
    s = s.copy()
    s[s <= _PCA_RTOL * np.linalg.norm(x)] = 0.0
    return u * s[None, :]


def _normalize(e: np.ndarray) -> np.ndarray:
    """Columns divided by their std (no centring; zero-std columns unchanged), then rows
    scaled to unit L2 norm (zero rows stay zero)."""
    std = e.std(axis=0)
    std[std == 0] = 1.0
    e = e / std[None, :]
    norm = np.linalg.norm(e, axis=1)
    norm[norm == 0] = 1.0
    return e / norm[:, None]


def walk_matrix(adjacency: sp.csr_array, threshold: float = 0.01) -> sp.csr_array:
    """The expected (start, visited) co-occurrences per walk of the official neighbourhood
    embedding: ``D^-1 A`` (first step) plus the non-backtracking second step, entries
    below ``threshold`` dropped. ``adjacency``: symmetric 0/1 csr without loops (n, n)."""
    a = sp.csr_array(adjacency, dtype=np.float64)
    deg = np.asarray(a.sum(axis=1)).ravel()
    inv = np.zeros_like(deg)
    inv[deg > 0] = 1.0 / deg[deg > 0]
    inv_nb = np.zeros_like(deg)
    inv_nb[deg > 1] = 1.0 / (deg[deg > 1] - 1.0)
    p = sp.csr_array(sp.diags_array(inv) @ a)
    two = sp.csr_array(p @ (sp.diags_array(inv_nb) @ a))
    two.setdiag(0)  # i -> k -> i is the excluded return
    m = sp.csr_array(p + two)
    if threshold > 0:
        m.data[m.data < threshold] = 0.0
    m.eliminate_zeros()
    return m


def derived_embeddings(
    adjacency: sp.csr_array,
    x: np.ndarray,
    dim: int = 128,
    names: Sequence[str] = tuple(EMBEDDINGS),
    walk_threshold: float = 0.01,
    seed: int = 0,
) -> dict[str, np.ndarray]:
    """NetInfoF's derived embeddings (module docstring), normalised, each (n, d) float64
    with d = min(dim, F, n).

    Args:
        adjacency: symmetric 0/1 csr (n, n) without self-loops.
        x: (n, F) finite features.
        dim: the embedding size cap (official: 128).
        names: which of ``"U", "R", "F", "P", "S"``.
        walk_threshold: see :func:`walk_matrix`.
        seed: for the randomized SVDs.
    """
    n, f = x.shape
    d = min(dim, f, n)
    out: dict[str, np.ndarray] = {}
    g = Graph(adjacency)
    for name in names:
        if name == "U":
            e = _svd_embedding(adjacency, d, seed)
        elif name == "R":
            e = _svd_embedding(walk_matrix(adjacency, walk_threshold), d, seed)
        elif name == "F":
            e = _pca(x, d, seed)
        elif name == "P":
            e = _pca(g.spmm(g.spmm(x, "rw"), "rw"), d, seed)
        elif name == "S":
            gs = Graph(sp.csr_array(adjacency + sp.eye_array(n, format="csr")))
            e = _pca(gs.spmm(gs.spmm(x, "rw"), "rw"), d, seed)
        else:  # checked by the callers
            raise ValueError(f"unknown embedding {name!r}")
        out[name] = _normalize(e)
    return out


def _check_names(embeddings: Sequence[str]) -> tuple[str, ...]:
    names = tuple(embeddings)
    if not names:
        raise ValueError("embeddings must name at least one of " + ", ".join(EMBEDDINGS))
    bad = [e for e in names if e not in EMBEDDINGS]
    if bad or len(set(names)) != len(names):
        raise ValueError(
            f"embeddings must be distinct names among {list(EMBEDDINGS)}, got {list(names)}"
        )
    return names


# --- compatibility matrix -------------------------------------------------------------------


def _pair_values(x: np.ndarray, i: np.ndarray, j: np.ndarray, h: np.ndarray) -> np.ndarray:
    """x_i^T H x_j for each pair, by blocks."""
    out = np.empty(i.size)
    for s in range(0, i.size, _PAIR_BLOCK):
        sl = slice(s, s + _PAIR_BLOCK)
        out[sl] = np.einsum("ed,ed->e", x[i[sl]] @ h, x[j[sl]])
    return out


def _pair_gram(x: np.ndarray, i: np.ndarray, j: np.ndarray, w: np.ndarray) -> np.ndarray:
    """sum_e w_e x_i x_j^T (d, d), by blocks."""
    m = np.zeros((x.shape[1], x.shape[1]))
    for s in range(0, i.size, _PAIR_BLOCK):
        sl = slice(s, s + _PAIR_BLOCK)
        m += x[i[sl]].T @ (w[sl, None] * x[j[sl]])
    return m


def compatibility_matrix(
    x: np.ndarray,
    adjacency: sp.csr_array,
    rng: np.random.Generator,
    max_edges: int = 200_000,
    drop_share: float = 0.05,
    tol: float = 1e-2,
) -> np.ndarray:
    """The symmetric compatibility matrix H (d, d) of embedding x (n, d) for the edges of
    ``adjacency`` (symmetric 0/1 csr), fitted against twice as many random pairs (module
    docstring: warm start, coefficient selection, damped least squares).

    Args:
        x: (n, d) embedding.
        adjacency: symmetric 0/1 csr (n, n) without self-loops.
        rng: draws the sampled edges (when over ``max_edges``), then the random pairs.
        max_edges: the most positive pairs.
        drop_share: the share of the warm start's total magnitude whose smallest
            coefficients are fixed at 0 (official 0.05; 0 keeps them all).
        tol: lsqr's ``atol`` and ``btol`` (official 1e-2).
    """
    from scipy.sparse.linalg import LinearOperator, lsqr

    n, d = x.shape
    coo = sp.triu(adjacency, k=1).tocoo()
    deg = np.asarray(adjacency.sum(axis=1)).ravel()
    # warm start: ridge of x_j on x_i over the directed edges (both directions)
    full = adjacency.tocoo()
    gram = _pair_gram(x, full.row, full.row, np.ones(full.nnz))  # sum x_i x_i^T
    cross = _pair_gram(x, full.row, full.col, np.ones(full.nnz))  # sum x_i x_j^T
    h0 = np.linalg.solve(gram + np.eye(d), cross)  # (features, targets)
    ru, cu = np.triu_indices(d)
    x0 = h0.T[ru, cu]  # scikit-learn's coef_ is (targets, features)

    keep = (deg[coo.row] >= 2) & (deg[coo.col] >= 2)
    pi, pj = coo.row[keep].astype(np.int64), coo.col[keep].astype(np.int64)
    if pi.size > max_edges:
        pick = rng.choice(pi.size, max_edges, replace=False)
        pi, pj = pi[pick], pj[pick]
    if pi.size == 0:
        h = np.zeros((d, d))
        h[ru, cu] = x0
        return h + h.T - np.diag(np.diag(h))
    ni = rng.integers(0, n, 2 * pi.size)
    nj = rng.integers(0, n, 2 * pi.size)
    ii = np.concatenate([pi, ni])
    jj = np.concatenate([pj, nj])
    target = np.concatenate([np.ones(pi.size), np.zeros(ni.size)])

    # coefficient selection: the smallest |x0| that make < drop_share of the total
    mag = np.abs(x0)
    order = np.sort(mag)
    total = order.sum()
    active = np.ones(x0.size, dtype=bool)
    if total > 0:
        below = np.nonzero(np.cumsum(order) / total < drop_share)[0]
        if below.size:
            active = mag >= order[below[-1]]
    idx = np.nonzero(active)[0]

    def to_h(v: np.ndarray) -> np.ndarray:
        h = np.zeros((d, d))
        h[ru[idx], cu[idx]] = v
        return h + h.T - np.diag(np.diag(h))

    def matvec(v: np.ndarray) -> np.ndarray:
        return _pair_values(x, ii, jj, to_h(np.ravel(v)))

    def rmatvec(u: np.ndarray) -> np.ndarray:
        m = _pair_gram(x, ii, jj, np.ravel(u))
        g = m + m.T
        np.fill_diagonal(g, np.diag(m))
        return g[ru[idx], cu[idx]]

    op = LinearOperator((ii.size, idx.size), matvec=matvec, rmatvec=rmatvec, dtype=np.float64)
    v = lsqr(op, target, damp=1.0, atol=tol, btol=tol, iter_lim=10 * idx.size, x0=x0[idx])[0]
    return to_h(v)


# --- the estimator --------------------------------------------------------------------------


class NetInfoF:
    """NetInfoF probe and act (module docstring) for node classification and link prediction.

    Example::

        nf = NetInfoF().fit(edge_index, x, y, train_mask)
        nf.scores_            # {"U": 0.93, "R": 0.91, "F": 0.31, "P": 0.88, "S": 0.90}
        labels = nf.predict(test_mask)

        nf.fit_links(train_edge_index, x)
        logits = nf.score_links(candidate_edges)   # (2, E) -> (E,)

    Args:
        dim: the embedding size cap d (official 128; d = min(dim, F, n)).
        embeddings: which derived embeddings (letters of :data:`EMBEDDINGS`).
        n_clusters: k of the probe's k-means; None: the number of training classes.
        probe_dim: the leading columns of each embedding the k-means sees; None: k.
        walk_threshold: the walk matrix's cut-off (:func:`walk_matrix`).
        C: inverse L2 strength of the node act logistic regression (scikit-learn's ``C``).
        link_C: the same for the link act logistic regression.
        max_iter: lbfgs iterations of the logistic regressions.
        random_state: seed of the SVDs, the k-means, and the random pairs.

    The attributes are set by :meth:`fit`.

    Attributes:
        embeddings_: name -> (n, d) normalised embedding.
        clusters_: name -> (n,) k-means cluster of each node.
        scores_: name -> NetInfoF score on the probe nodes, in [0, 1].
        probe_accuracy_: name -> accuracy of the per-cluster majority label on the same
            nodes (>= the score, exactly).
        classes_: the training labels' distinct values.
        timings_: seconds spent in ``"embeddings"``, ``"probe"`` and ``"act"``.
    """

    def __init__(
        self,
        dim: int = 128,
        embeddings: Sequence[str] = tuple(EMBEDDINGS),
        n_clusters: int | None = None,
        probe_dim: int | None = None,
        walk_threshold: float = 0.01,
        C: float = 1.0,
        link_C: float = 0.01,
        max_iter: int = 1000,
        random_state: int = 0,
    ):
        self.dim = check_int(dim, "dim", 1)
        self.embeddings = _check_names(embeddings)
        self.n_clusters = None if n_clusters is None else check_int(n_clusters, "n_clusters", 1)
        self.probe_dim = None if probe_dim is None else check_int(probe_dim, "probe_dim", 1)
        if not (np.isfinite(walk_threshold) and 0 <= walk_threshold < 1):
            raise ValueError(f"walk_threshold must be in [0, 1), got {walk_threshold!r}")
        self.walk_threshold = float(walk_threshold)
        self.C = check_real(C, "C", 0, strict=True)
        self.link_C = check_real(link_C, "link_C", 0, strict=True)
        self.max_iter = check_int(max_iter, "max_iter", 1)
        self.random_state = check_int(random_state, "random_state", 0)

    # --- node classification ----------------------------------------------------------------

    def fit(
        self, edge_index: Any, x: Any, y: Any, train_mask: Any, probe_mask: Any = None
    ) -> NetInfoF:
        """Derives the embeddings, probes them on the training nodes and fits the act
        classifier.

        Args:
            edge_index: (2, E) int node ids in [0, n), both directions (the graph is
                symmetrised anyway; self-loops and weights are ignored).
            x: (n, F) real node features, finite.
            y: (n,) integer labels; only the training nodes' are read.
            train_mask: (n,) bool, at least one node, two classes among them.
            probe_mask: (n,) bool, the labelled nodes whose table gives ``scores_``
                (e.g. a validation set); None: the training nodes.

        Returns:
            self.
        """
        xa = _check_features(x)
        n = xa.shape[0]
        mask = _check_mask(train_mask, n, "train_mask")
        if not mask.any():
            raise ValueError("train_mask selects no node")
        ya = self._check_labels(y, n)
        if probe_mask is None:
            probe = mask
        else:
            probe = _check_mask(probe_mask, n, "probe_mask")
            if not probe.any():
                raise ValueError("probe_mask selects no node")
        classes = np.unique(ya[mask])
        if classes.size < 2:
            raise ValueError(
                f"the training nodes must hold at least two classes, got {classes.tolist()}"
            )
        adjacency = _undirected_adjacency(edge_index, n)

        t0 = time.perf_counter()
        emb = derived_embeddings(
            adjacency, xa, self.dim, self.embeddings, self.walk_threshold, self.random_state
        )
        t1 = time.perf_counter()
        self.embeddings_ = emb
        self.classes_ = classes
        self.n_nodes_ = n
        self._y = ya
        k = min(classes.size if self.n_clusters is None else self.n_clusters, n)
        cols = k if self.probe_dim is None else self.probe_dim
        self.clusters_ = {
            name: self._kmeans(_normalize(e[:, :cols]) if cols < e.shape[1] else e, k)
            for name, e in emb.items()
        }
        self.scores_, self.probe_accuracy_ = self._probe_tables(ya, probe)
        t2 = time.perf_counter()
        self.classifier_ = self._logistic(self.C).fit(self._stack()[mask], ya[mask])
        t3 = time.perf_counter()
        self.timings_ = {"embeddings": t1 - t0, "probe": t2 - t1, "act": t3 - t2}
        return self

    @staticmethod
    def _check_labels(y: Any, n: int) -> np.ndarray:
        ya = as_numpy(y, "y")
        if ya.shape != (n,):
            raise ValueError(f"y must have shape ({n},), got {ya.shape}")
        if not (np.issubdtype(ya.dtype, np.integer) or ya.dtype == np.bool_):
            raise ValueError(f"y must hold integer class labels, got dtype {ya.dtype}")
        return ya.astype(np.int64)

    def _kmeans(self, e: np.ndarray, k: int) -> np.ndarray:
        from sklearn.cluster import KMeans
        from sklearn.exceptions import ConvergenceWarning

        with warnings.catch_warnings():
            # fewer distinct points than k (a constant embedding): fewer clusters, as meant
            warnings.simplefilter("ignore", ConvergenceWarning)
            km = KMeans(n_clusters=k, n_init=3, random_state=self.random_state).fit(e)
        return km.labels_.astype(np.int64)

    def _probe_tables(
        self, y: np.ndarray, mask: np.ndarray
    ) -> tuple[dict[str, float], dict[str, float]]:
        scores, accs = {}, {}
        for name, c in self.clusters_.items():
            table = contingency_table(c[mask], y[mask])
            scores[name] = float(2.0 ** -conditional_entropy(table))
            accs[name] = majority_accuracy(table)
        return scores, accs

    def _logistic(self, c: float) -> Any:
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression(C=c, max_iter=self.max_iter)

    def _stack(self) -> np.ndarray:
        return np.hstack([self.embeddings_[name] for name in self.embeddings])

    def _fitted(self) -> None:
        if not hasattr(self, "classifier_"):
            raise NotFittedError("this NetInfoF is not fitted: call fit(...) first")

    def probe(self, mask: Any, y: Any = None) -> dict[str, float]:
        """NetInfoF scores of the embeddings' clusters on other labelled nodes (e.g. a
        validation set): name -> ``2^(-H(Y|cluster))`` over the nodes of ``mask``.

        Args:
            mask: (n,) bool, at least one node.
            y: (n,) integer labels; None: those given to :meth:`fit`.
        """
        self._fitted()
        m = _check_mask(mask, self.n_nodes_, "mask")
        if not m.any():
            raise ValueError("mask selects no node")
        ya = self._y if y is None else self._check_labels(y, self.n_nodes_)
        return self._probe_tables(ya, m)[0]

    def embedding(self) -> np.ndarray:
        """The concatenated normalised embeddings (n, len(embeddings) * d), the act
        classifier's input."""
        self._fitted()
        return self._stack()

    def predict(self, mask: Any) -> np.ndarray:
        """The act classifier's labels (``mask.sum()``,) of the nodes of ``mask`` ((n,) bool)."""
        self._fitted()
        m = _check_mask(mask, self.n_nodes_, "mask")
        return self.classifier_.predict(self._stack()[m])

    def predict_proba(self, mask: Any) -> np.ndarray:
        """Class probabilities (``mask.sum()``, n_classes), columns in ``classes_`` order."""
        self._fitted()
        m = _check_mask(mask, self.n_nodes_, "mask")
        return self.classifier_.predict_proba(self._stack()[m])

    # --- link prediction --------------------------------------------------------------------

    def fit_links(
        self,
        edge_index: Any,
        x: Any,
        train_pos_edges: Any = None,
        max_edges: int = 200_000,
    ) -> NetInfoF:
        """Link prediction: embeddings of the training graph, one compatibility matrix per
        embedding, and the act logistic regression on edge features (module docstring).

        Args:
            edge_index: (2, E) int, the training graph (both directions; symmetrised).
            x: (n, F) node features.
            train_pos_edges: (2, P) positive pairs to fit the act classifier on; None: the
                training graph's edges, each undirected edge once. Must not be empty.
            max_edges: the most positive pairs used for each compatibility matrix.

        Returns:
            self (attributes ``link_embeddings_``, ``compatibility_`` name -> (d, d),
            ``link_classifier_``).
        """
        xa = _check_features(x)
        n = xa.shape[0]
        max_edges = check_int(max_edges, "max_edges", 1)
        adjacency = _undirected_adjacency(edge_index, n)
        if train_pos_edges is None:
            coo = sp.triu(adjacency, k=1).tocoo()
            pos = np.vstack([coo.row, coo.col]).astype(np.int64)
        else:
            pos = _check_pairs(train_pos_edges, n, "train_pos_edges")
        if pos.shape[1] == 0:
            raise ValueError("no positive training edges")
        rng = np.random.default_rng(self.random_state)
        emb = derived_embeddings(
            adjacency, xa, self.dim, self.embeddings, self.walk_threshold, self.random_state
        )
        self.link_embeddings_ = emb
        self.compatibility_ = {
            name: compatibility_matrix(e, adjacency, rng, max_edges) for name, e in emb.items()
        }
        self.link_nodes_ = n
        neg = rng.integers(0, n, (2, pos.shape[1]))
        pairs = np.hstack([pos, neg])
        target = np.concatenate([np.ones(pos.shape[1]), np.zeros(neg.shape[1])])
        self._link_adjacency = adjacency
        self.link_classifier_ = self._logistic(self.link_C).fit(self._edge_features(pairs), target)
        return self

    def _link_fitted(self) -> None:
        if not hasattr(self, "link_classifier_"):
            raise NotFittedError("no link model: call fit_links(...) first")

    def _edge_features(self, pairs: np.ndarray) -> np.ndarray:
        cols = []
        for name in self.embeddings:
            e = self.link_embeddings_[name]
            cols.append((e[pairs[0]] @ self.compatibility_[name]) * e[pairs[1]])
        return np.hstack(cols)

    def score_links(self, edges: Any) -> np.ndarray:
        """Logits (E,) float64 of the act link classifier for pairs ``edges`` (2, E)."""
        self._link_fitted()
        pairs = _check_pairs(edges, self.link_nodes_, "edges")
        if pairs.shape[1] == 0:
            return np.zeros(0)
        return np.asarray(self.link_classifier_.decision_function(self._edge_features(pairs)))

    def link_similarity(self, edges: Any, name: str) -> np.ndarray:
        """The adjusted similarity ``(X H)_i . X_j`` (E,) of embedding ``name``."""
        self._link_fitted()
        if name not in self.link_embeddings_:
            raise ValueError(f"no link embedding {name!r}; have {list(self.link_embeddings_)}")
        pairs = _check_pairs(edges, self.link_nodes_, "edges")
        e = self.link_embeddings_[name]
        return _pair_values(e, pairs[0], pairs[1], self.compatibility_[name])

    def probe_links(self, edges: Any, labels: Any, bins: int = 8) -> dict[str, float]:
        """The link probe: name -> NetInfoF score of the binned adjusted similarity for the
        labelled pairs ``edges`` (2, E) with ``labels`` (E,) in {0, 1} (1: an edge).

        The ``bins`` quantile bins are fitted on the training graph's edges and twice as
        many uniform random pairs (seeded), as the official ``compute_netinfo``."""
        self._link_fitted()
        pairs = _check_pairs(edges, self.link_nodes_, "edges")
        lab = as_numpy(labels, "labels")
        if lab.shape != (pairs.shape[1],) or pairs.shape[1] == 0:
            raise ValueError(
                f"labels must have shape ({pairs.shape[1]},) with at least one pair, "
                f"got {lab.shape}"
            )
        if not np.isin(lab, (0, 1)).all():
            raise ValueError("labels must be 0 or 1")
        bins = check_int(bins, "bins", 1)
        coo = sp.triu(self._link_adjacency, k=1).tocoo()
        rng = np.random.default_rng(self.random_state + 1)
        n = self.link_nodes_
        m = coo.nnz
        ti = np.concatenate([coo.row, rng.integers(0, n, 2 * m)]).astype(np.int64)
        tj = np.concatenate([coo.col, rng.integers(0, n, 2 * m)]).astype(np.int64)
        out = {}
        for name in self.embeddings:
            e, h = self.link_embeddings_[name], self.compatibility_[name]
            train_sim = _pair_values(e, ti, tj, h)
            edges_q = np.unique(np.quantile(train_sim, np.linspace(0, 1, bins + 1)[1:-1]))
            sim = _pair_values(e, pairs[0], pairs[1], h)
            out[name] = netinfof_score(np.searchsorted(edges_q, sim, side="right"), lab)
        return out
