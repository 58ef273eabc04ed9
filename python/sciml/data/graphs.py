"""Seeded random graphs: stochastic block models, sampled without a dense n x n matrix.

Edges come as ``edge_index`` (2, E) int64 with each undirected edge once (``src < dst``),
sorted; :meth:`sciml.graph.Graph.from_edge_index` on ``np.hstack([e, e[::-1]])`` gives the
symmetric adjacency.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from sciml._checks import check_int, check_real


def _triangle_pairs(k: np.ndarray, s: int) -> tuple[np.ndarray, np.ndarray]:
    """The k-th pair (i, j), i < j, of 0..s-1 in row-major order, for int64 k in
    [0, s(s-1)/2): row i holds s-1-i pairs."""
    # rows counted from the end: pairs at or after row i number t(t+1)/2 with t = s-1-i
    rest = s * (s - 1) // 2 - k  # in [1, total]
    t = np.ceil((np.sqrt(8.0 * rest + 1.0) - 1.0) / 2.0).astype(np.int64)
    # floating point may put t one off near triangular numbers: fix exactly
    t += (t * (t + 1) // 2 < rest).astype(np.int64)
    t -= ((t - 1) * t // 2 >= rest).astype(np.int64)
    i = s - 1 - t
    before = s * (s - 1) // 2 - t * (t + 1) // 2  # pairs in rows < i
    j = i + 1 + (k - before)
    return i, j


def _distinct(population: int, count: int, rng: np.random.Generator) -> np.ndarray:
    """``count`` distinct int64 draws from range(population), uniformly."""
    if count == 0:
        return np.zeros(0, dtype=np.int64)
    return np.asarray(rng.choice(population, size=count, replace=False), dtype=np.int64)


def stochastic_block_model(
    sizes: Any, probabilities: Any, seed: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """An undirected stochastic block model without self-loops.

    Nodes ``0..n-1`` fill the blocks in order (block b holds ``sizes[b]`` consecutive ids).
    Each pair {i, j} of blocks (a, b) is an edge independently with probability
    ``probabilities[a][b]``: per block pair the edge count is drawn from the binomial law,
    then that many distinct pairs uniformly, so the cost is O(E), not O(n^2).

    Args:
        sizes: (B,) block sizes (ints >= 0).
        probabilities: (B, B) symmetric edge probabilities in [0, 1].
        seed: numpy seed.

    Returns:
        ``(edge_index, blocks)``: (2, E) int64 with ``src < dst``, sorted by (src, dst),
        and (n,) int64 block labels.

    Raises:
        ValueError: negative sizes, a probability matrix of the wrong shape, asymmetric
            or outside [0, 1].
    """
    sz = np.asarray(sizes)
    if sz.ndim != 1 or sz.size == 0 or not np.issubdtype(sz.dtype, np.integer):
        raise ValueError(f"sizes must be a non-empty 1-d sequence of ints, got {sizes!r}")
    if (sz < 0).any():
        raise ValueError(f"sizes must be >= 0, got {sz.tolist()}")
    p = np.asarray(probabilities, dtype=np.float64)
    nb = sz.size
    if p.shape != (nb, nb):
        raise ValueError(f"probabilities must have shape ({nb}, {nb}), got {p.shape}")
    if not (np.isfinite(p).all() and (p >= 0).all() and (p <= 1).all()):
        raise ValueError("probabilities must lie in [0, 1]")
    if not np.allclose(p, p.T, rtol=0, atol=1e-12):
        raise ValueError("probabilities must be symmetric (an undirected graph)")
    rng = np.random.default_rng(seed)
    offsets = np.concatenate([[0], np.cumsum(sz)]).astype(np.int64)
    srcs, dsts = [], []
    for a in range(nb):
        for b in range(a, nb):
            sa, sb = int(sz[a]), int(sz[b])
            pairs = sa * (sa - 1) // 2 if a == b else sa * sb
            count = int(rng.binomial(pairs, p[a, b])) if pairs else 0
            k = _distinct(pairs, count, rng)
            if a == b:
                i, j = _triangle_pairs(k, sa)
            else:
                i, j = k // sb, k % sb
            srcs.append(i + offsets[a])
            dsts.append(j + offsets[b])
    src = np.concatenate(srcs)
    dst = np.concatenate(dsts)
    order = np.lexsort((dst, src))
    edge_index = np.vstack([src[order], dst[order]]).astype(np.int64)
    blocks = np.repeat(np.arange(nb, dtype=np.int64), sz)
    return edge_index, blocks


def planted_partition(
    n_nodes: int,
    n_blocks: int,
    mean_degree: float,
    homophily: float,
    seed: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """An SBM of ``n_blocks`` equal blocks with a given mean degree and edge homophily.

    Args:
        n_nodes: n (blocks differ in size by at most one).
        n_blocks: B >= 1.
        mean_degree: the expected mean degree (> 0).
        homophily: the expected share of edges inside blocks, in [0, 1] (1 / B: no
            community structure).
        seed: numpy seed.

    Returns:
        ``(edge_index, blocks)`` as :func:`stochastic_block_model`.
    """
    n = check_int(n_nodes, "n_nodes", 1)
    nb = check_int(n_blocks, "n_blocks", 1)
    if nb > n:
        raise ValueError(f"n_blocks must be <= n_nodes = {n}, got {nb}")
    check_real(mean_degree, "mean_degree", 0, strict=True)
    if not 0.0 <= homophily <= 1.0:
        raise ValueError(f"homophily must be in [0, 1], got {homophily!r}")
    sizes = np.full(nb, n // nb, dtype=np.int64)
    sizes[: n % nb] += 1
    p = homophily_probabilities(sizes, mean_degree, homophily)
    return stochastic_block_model(sizes, p, seed)


def homophily_probabilities(sizes: np.ndarray, mean_degree: float, homophily: float) -> np.ndarray:
    """The (B, B) edge probabilities of an SBM with blocks of ``sizes`` (B,): one
    probability inside the blocks, one across, such that the expected mean degree is
    ``mean_degree`` and the expected share of edges inside blocks ``homophily`` (each
    probability capped at 1)."""
    n = int(sizes.sum())
    within = float((sizes * (sizes - 1) // 2).sum())
    across = n * (n - 1) / 2 - within
    edges = mean_degree * n / 2
    p_in = min(1.0, homophily * edges / within) if within else 0.0
    p_out = min(1.0, (1 - homophily) * edges / across) if across else 0.0
    p = np.full((len(sizes), len(sizes)), p_out)
    np.fill_diagonal(p, p_in)
    return p


@dataclass(repr=False)
class NodeData:
    """A node-classification data set: a graph with features, labels and a split.

    Attributes:
        edge_index: (2, 2E) int64, every undirected edge in both directions.
        x: (n, F) float node features.
        y: (n,) int64 labels.
        train_mask, val_mask, test_mask: (n,) bool, disjoint, covering every node.
    """

    edge_index: np.ndarray
    x: np.ndarray
    y: np.ndarray
    train_mask: np.ndarray
    val_mask: np.ndarray
    test_mask: np.ndarray

    @property
    def num_nodes(self) -> int:
        """n."""
        return int(self.y.size)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(num_nodes={self.num_nodes}, "
            f"num_edges={self.edge_index.shape[1]}, num_features={self.x.shape[1]}, "
            f"train={int(self.train_mask.sum())}, val={int(self.val_mask.sum())}, "
            f"test={int(self.test_mask.sum())})"
        )


@dataclass(repr=False)
class ContextualSBM(NodeData):
    """A contextual stochastic block model sample (:func:`contextual_sbm`): the fields of
    :class:`NodeData` (features float64 (n, F + n_noise_features), labels = blocks) and
    ``class_means`` (n_classes, F), the class means of the informative features."""

    class_means: np.ndarray


def check_split_fractions(train_frac: float, val_frac: float) -> None:
    """Raises ValueError unless both shares lie in [0, 1] and sum to at most 1."""
    for name, v in (("train_frac", train_frac), ("val_frac", val_frac)):
        if not (math.isfinite(v) and 0 <= v <= 1):
            raise ValueError(f"{name} must be in [0, 1], got {v!r}")
    if train_frac + val_frac > 1:
        raise ValueError(f"train_frac + val_frac must be <= 1, got {train_frac + val_frac}")


def stratified_masks(
    y: np.ndarray, train_frac: float, val_frac: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Train, validation and test masks (n,) bool, disjoint and covering every node: per
    class (in increasing label order), a random ``train_frac`` share for training (at
    least one node), then ``val_frac`` for validation, the rest for testing."""
    train = np.zeros(y.size, dtype=bool)
    val = np.zeros(y.size, dtype=bool)
    for c in np.unique(y):
        members = rng.permutation(np.nonzero(y == c)[0])
        n_train = max(1, round(train_frac * members.size))
        n_val = min(members.size - n_train, round(val_frac * members.size))
        train[members[:n_train]] = True
        val[members[n_train : n_train + n_val]] = True
    return train, val, ~(train | val)


def contextual_sbm(
    n_nodes: int,
    n_classes: int,
    mean_degree: float = 10.0,
    homophily: float = 0.8,
    n_features: int = 16,
    feature_signal: float = 1.0,
    n_noise_features: int = 0,
    train_frac: float = 0.1,
    val_frac: float = 0.1,
    seed: int | None = None,
) -> ContextualSBM:
    """A contextual SBM: :func:`planted_partition` edges, Gaussian features whose class
    means differ, and a stratified train/val/test split.

    Node i of class c gets ``x_i = m_c + z_i`` on the first ``n_features`` dimensions,
    with z_i ~ N(0, I) and class means m_c of norm ``feature_signal`` in random directions
    (a Gaussian matrix with orthonormalised rows when n_classes <= n_features, unit rows
    otherwise); the ``n_noise_features`` extra dimensions are N(0, 1) for every node.
    ``feature_signal = 0``: the features carry no information on the labels; the larger,
    the more (two classes with orthogonal means are then sqrt(2) * signal apart, the Bayes
    accuracy from the features alone of two classes is Phi(signal / sqrt(2))).

    Args:
        n_nodes: n (>= n_classes).
        n_classes: C >= 1 (blocks of sizes differing by at most one).
        mean_degree: the expected mean degree (> 0).
        homophily: the expected share of edges inside classes, in [0, 1].
        n_features: informative dimensions F >= 1.
        feature_signal: the norm of each class mean, >= 0.
        n_noise_features: extra uninformative dimensions, >= 0.
        train_frac, val_frac: the share of each class in the training and validation
            sets (at least one training node per class); the rest is the test set.
        seed: numpy seed (everything is drawn from it).

    Returns:
        :class:`ContextualSBM`.
    """
    n = check_int(n_nodes, "n_nodes", 1)
    nc = check_int(n_classes, "n_classes", 1)
    f = check_int(n_features, "n_features", 1)
    extra = check_int(n_noise_features, "n_noise_features", 0)
    check_real(feature_signal, "feature_signal", 0)
    check_split_fractions(train_frac, val_frac)
    rng = np.random.default_rng(seed)
    edges, y = planted_partition(n, nc, mean_degree, homophily, seed=int(rng.integers(2**63)))
    edge_index = np.hstack([edges, edges[::-1]])

    g = rng.standard_normal((nc, f))
    if nc <= f:
        q, _ = np.linalg.qr(g.T)  # (f, nc), orthonormal columns
        directions = q.T
    else:
        directions = g / np.linalg.norm(g, axis=1, keepdims=True)
    means = feature_signal * directions
    x = means[y] + rng.standard_normal((n, f))
    if extra:
        x = np.hstack([x, rng.standard_normal((n, extra))])

    train, val, test = stratified_masks(y, train_frac, val_frac, rng)
    return ContextualSBM(edge_index, x, y, train, val, test, means)
