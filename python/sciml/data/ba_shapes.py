"""BA-shapes: the synthetic node-classification benchmark of GNNExplainer.

Ying et al., "GNNExplainer: Generating Explanations for Graph Neural Networks" (NeurIPS
2019), section 5: a Barabási–Albert base graph of 300 nodes, 80 five-node "house" motifs
each attached by one edge to a random base node, and random edges added on top (10% of
the base graph's edges here). A node's label is its structural role: 0 for base nodes;
for house nodes 1 (the two middle nodes, next to the roof), 2 (the two bottom nodes) and
3 (the roof). Features carry no label information (constant by default), so a model must
read the structure; the house edges are the ground-truth explanation of a house node's
label.

House layout (local ids, as in the reference generator): the square 0-1-2-3-0 and the
roof 4 joined to 0 and 1; roles ``[1, 1, 2, 2, 3]``. Node 0 of each house carries the
edge to the base graph. Ground truth: the six house edges (both directions); the
attachment edge and the random edges are not part of it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sciml._checks import check_int, check_real
from sciml.data.graphs import NodeData, check_split_fractions, stratified_masks

HOUSE_EDGES = np.array([[0, 1], [1, 2], [2, 3], [3, 0], [4, 0], [4, 1]], dtype=np.int64)
HOUSE_ROLES = np.array([1, 1, 2, 2, 3], dtype=np.int64)


@dataclass(repr=False)
class BAShapes(NodeData):
    """A BA-shapes sample (:func:`ba_shapes`): the fields of :class:`NodeData` and the
    ground truth.

    ``edge_index`` (2, 2U) holds the U undirected edges (``src < dst``) first, then the
    same edges reversed; ``x`` (n, F) is float32; ``y`` the roles: 0 base, 1 middle,
    2 bottom, 3 roof of a house.

    Attributes:
        edge_mask: (2U,) bool over the columns of ``edge_index``: the house edges (the
            ground-truth explanation); both directions of an edge agree.
        motif: (n,) int64 house id of each node, -1 for base nodes.
    """

    edge_mask: np.ndarray
    motif: np.ndarray

    def motif_edge_mask(self, house: int) -> np.ndarray:
        """(2U,) bool: the six edges (both directions) of house ``house`` only."""
        n_houses = int(self.motif.max()) + 1
        h = check_int(house, "house", 0)
        if h >= n_houses:
            raise ValueError(f"house must be in [0, {n_houses}), got {h}")
        src, dst = self.edge_index
        return self.edge_mask & (self.motif[src] == h) & (self.motif[dst] == h)

    def __repr__(self) -> str:
        return (
            f"BAShapes(num_nodes={self.num_nodes}, num_edges={self.edge_index.shape[1]}, "
            f"houses={int(self.motif.max()) + 1}, motif_edges={int(self.edge_mask.sum())})"
        )


def barabasi_albert_edges(n: int, m: int, rng: np.random.Generator) -> np.ndarray:
    """A Barabási–Albert graph: (2, m (n - m)) int64 undirected edges, ``src < dst``.

    Nodes ``0..m-1`` start without edges; node ``m`` joins all of them; every later node
    joins m distinct earlier nodes drawn with probability proportional to their degree
    (the list-of-endpoints trick: a uniform draw from the endpoints of the edges so far).
    """
    n = check_int(n, "n", 1)
    m = check_int(m, "m", 1)
    if m >= n:
        raise ValueError(f"m must be < n, got m = {m}, n = {n}")
    endpoints = np.empty(2 * m * (n - m), dtype=np.int64)
    edges = np.empty((n - m, m, 2), dtype=np.int64)
    filled = 0
    targets = np.arange(m)
    for v in range(m, n):
        edges[v - m, :, 0] = targets
        edges[v - m, :, 1] = v
        endpoints[filled : filled + m] = targets
        endpoints[filled + m : filled + 2 * m] = v
        filled += 2 * m
        chosen: set[int] = set()
        while len(chosen) < m:
            chosen.add(int(endpoints[rng.integers(filled)]))
        targets = np.fromiter(sorted(chosen), dtype=np.int64, count=m)
    return edges.reshape(-1, 2).T.copy()


def ba_shapes(
    n_base: int = 300,
    n_houses: int = 80,
    m: int = 5,
    random_edge_fraction: float = 0.1,
    features: str = "constant",
    n_features: int = 10,
    train_frac: float = 0.8,
    val_frac: float = 0.1,
    seed: int | None = None,
) -> BAShapes:
    """A seeded BA-shapes graph (see the module docstring).

    Houses take the ids ``n_base + 5 h + (0..4)``; house h's node 0 is joined to a base
    node drawn uniformly (with replacement across houses). Then
    ``round(random_edge_fraction * m (n_base - m))`` random edges join distinct pairs of
    distinct nodes (anywhere in the graph) that are not yet adjacent.

    Args:
        n_base: nodes of the Barabási–Albert base graph (> m).
        n_houses: house motifs (>= 0).
        m: edges of each new node in the Barabási–Albert process (>= 1).
        random_edge_fraction: random edges as a share of the base graph's edges, >= 0.
        features: ``"constant"`` (all ones) or ``"random"`` (standard normal, independent
            of the labels).
        n_features: F >= 1.
        train_frac, val_frac: share of each role in the training and validation sets
            (at least one training node per role); the rest is the test set.
        seed: numpy seed (everything is drawn from it).

    Returns:
        :class:`BAShapes`.
    """
    n_base = check_int(n_base, "n_base", 2)
    n_houses = check_int(n_houses, "n_houses", 0)
    m = check_int(m, "m", 1)
    f = check_int(n_features, "n_features", 1)
    check_real(random_edge_fraction, "random_edge_fraction", 0)
    if features not in ("constant", "random"):
        raise ValueError(f"features must be 'constant' or 'random', got {features!r}")
    check_split_fractions(train_frac, val_frac)
    rng = np.random.default_rng(seed)
    n = n_base + 5 * n_houses

    base = barabasi_albert_edges(n_base, m, rng)  # (2, m (n_base - m))
    starts = n_base + 5 * np.arange(n_houses, dtype=np.int64)
    house = (starts[:, None, None] + HOUSE_EDGES[None]).reshape(-1, 2).T  # (2, 6 H)
    anchors = rng.integers(0, n_base, size=n_houses)
    attach = np.vstack([anchors, starts])  # base node < house node

    und = np.hstack([base, house, attach])
    und = np.sort(und, axis=0)  # src < dst
    is_motif = np.concatenate(
        [np.zeros(base.shape[1], bool), np.ones(house.shape[1], bool), np.zeros(n_houses, bool)]
    )

    n_random = round(random_edge_fraction * base.shape[1])
    if n_random:
        present = set((und[0] * n + und[1]).tolist())
        if n_random > n * (n - 1) // 2 - len(present):
            raise ValueError(f"cannot add {n_random} random edges: too few free node pairs")
        extra: list[tuple[int, int]] = []
        while len(extra) < n_random:
            a, b = (int(v) for v in rng.integers(0, n, size=2))
            if a == b:
                continue
            a, b = min(a, b), max(a, b)
            if a * n + b in present:
                continue
            present.add(a * n + b)
            extra.append((a, b))
        und = np.hstack([und, np.array(extra, dtype=np.int64).T])
        is_motif = np.concatenate([is_motif, np.zeros(n_random, bool)])

    edge_index = np.hstack([und, und[::-1]]).astype(np.int64)
    edge_mask = np.concatenate([is_motif, is_motif])

    y = np.zeros(n, dtype=np.int64)
    y[n_base:] = np.tile(HOUSE_ROLES, n_houses)
    motif = np.full(n, -1, dtype=np.int64)
    motif[n_base:] = np.repeat(np.arange(n_houses), 5)
    if features == "constant":
        x = np.ones((n, f), dtype=np.float32)
    else:
        x = rng.standard_normal((n, f)).astype(np.float32)

    train, val, test = stratified_masks(y, train_frac, val_frac, rng)
    return BAShapes(edge_index, x, y, train, val, test, edge_mask, motif)
