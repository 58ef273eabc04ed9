"""Seeded test graphs under distribution shift, for label-free evaluation of a deployed GNN
(LeBeD, :mod:`sciml.graph.lebed`).

Three kinds of shift, alone or together, applied to a copy of a labelled graph by
:func:`shift_graph`:

- **feature noise**: ``x + sigma * N(0, I)`` on every node (covariate shift, the "noise"
  augmentation of the LeBeD code's Cora/Amazon experiments);
- **edge rewiring**: each undirected edge, with probability ``rewire``, replaced by an edge
  between two nodes drawn uniformly (the edge count stays; homophily falls towards 1 / C);
- **class-prior change**: the largest node subset whose class proportions match a given
  prior (the induced subgraph kept; LeBeD's class-stratified subgraph sampling with a
  prior other than the source's).

:func:`contextual_sbm_from_means` draws a fresh graph from the generative model of a
:func:`~sciml.data.contextual_sbm` sample (the same class means, so a model trained on the
sample applies), with its own size, degree, homophily and class prior: a test graph that
shares no node with the training graph. :func:`shifted_family` combines both into a seeded
family of test graphs of graded shift.

Every graph is a :class:`~sciml.data.graphs.ContextualSBM` (``edge_index`` with both
directions of every undirected edge, ``x``, ``y``, masks, ``class_means``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from sciml._checks import check_int, check_real
from sciml.data.graphs import ContextualSBM, homophily_probabilities, stochastic_block_model


def _get(data: Any, name: str) -> Any:
    """``data[name]`` for a mapping, else ``data.name``; None where absent."""
    if isinstance(data, dict):
        return data.get(name)
    return getattr(data, name, None)


def _check_graph(data: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """x (n, F) float64, y (n,) int64 and the undirected edges (2, U), ``src < dst``, unique."""
    x, y, ei = _get(data, "x"), _get(data, "y"), _get(data, "edge_index")
    if x is None or y is None or ei is None:
        raise ValueError("the graph must hold x, y and edge_index")
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y)
    ei = np.asarray(ei)
    if x.ndim != 2 or x.shape[0] == 0:
        raise ValueError(f"x must have shape (n, F) with n >= 1, got {x.shape}")
    n = x.shape[0]
    if not np.isfinite(x).all():
        raise ValueError("x has NaN or infinite values")
    if y.shape != (n,) or not np.issubdtype(y.dtype, np.integer) or (y < 0).any():
        raise ValueError(f"y must be ({n},) integer labels >= 0, got {y.shape}, {y.dtype}")
    if ei.ndim != 2 or ei.shape[0] != 2 or not np.issubdtype(ei.dtype, np.integer):
        raise ValueError(f"edge_index must be a (2, E) integer array, got {ei.shape}, {ei.dtype}")
    if ei.size and (ei.min() < 0 or ei.max() >= n):
        raise ValueError(f"edge_index ids must be in [0, {n}), got [{ei.min()}, {ei.max()}]")
    lo, hi = np.minimum(ei[0], ei[1]), np.maximum(ei[0], ei[1])
    keep = lo != hi
    keys = np.unique(lo[keep].astype(np.int64) * n + hi[keep])
    return x, y.astype(np.int64), np.vstack([keys // n, keys % n])


def _check_fraction(value: float, name: str) -> float:
    if not (isinstance(value, (int, float, np.floating)) and 0.0 <= value <= 1.0):
        raise ValueError(f"{name} must be in [0, 1], got {value!r}")
    return float(value)


def _check_prior(prior: Any, n_classes: int) -> np.ndarray:
    p = np.asarray(prior, dtype=np.float64)
    if p.shape != (n_classes,):
        raise ValueError(f"class_prior must have shape ({n_classes},), got {p.shape}")
    if not (np.isfinite(p).all() and (p >= 0).all() and p.sum() > 0):
        raise ValueError("class_prior must be finite, >= 0 and not all zero")
    return p / p.sum()


def _both_directions(und: np.ndarray) -> np.ndarray:
    return np.hstack([und, und[::-1]]).astype(np.int64)


def _rewire(und: np.ndarray, n: int, rate: float, rng: np.random.Generator) -> np.ndarray:
    """Each undirected edge with probability ``rate`` replaced by a uniform new pair
    (no self-loop, no edge twice); the edge count is kept."""
    if rate == 0.0 or und.shape[1] == 0:
        return und
    total_pairs = n * (n - 1) // 2
    move = rng.random(und.shape[1]) < rate
    kept = und[:, ~move]
    need = int(move.sum())
    if need == 0:
        return und
    if kept.shape[1] + need > total_pairs:  # pragma: no cover - needs a near-complete graph
        raise ValueError("the graph is too dense to rewire")
    keys = set((kept[0] * n + kept[1]).tolist())
    new: list[int] = []
    while len(new) < need:
        i = rng.integers(0, n, size=2 * (need - len(new)) + 8)
        j = rng.integers(0, n, size=i.size)
        for a, b in zip(np.minimum(i, j).tolist(), np.maximum(i, j).tolist(), strict=True):
            k = a * n + b
            if a != b and k not in keys:
                keys.add(k)
                new.append(k)
                if len(new) == need:
                    break
    added = np.asarray(new, dtype=np.int64)
    out = np.hstack([kept, np.vstack([added // n, added % n])])
    order = np.lexsort((out[1], out[0]))
    return out[:, order]


def _prior_subset(y: np.ndarray, prior: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Sorted ids of the largest node subset whose class counts are ``floor(m * prior)``."""
    counts = np.bincount(y, minlength=prior.size).astype(np.float64)
    pos = prior > 0
    m = float(np.min(counts[pos] / prior[pos]))
    take = np.floor(m * prior + 1e-9).astype(np.int64)
    keep = [
        rng.choice(np.flatnonzero(y == c), size=int(t), replace=False) for c, t in enumerate(take)
    ]
    ids = np.sort(np.concatenate(keep).astype(np.int64))
    if ids.size == 0:
        raise ValueError("the class prior leaves no node")
    return ids


def shift_graph(
    data: Any,
    *,
    feature_noise: float = 0.0,
    rewire: float = 0.0,
    class_prior: Any = None,
    seed: int | None = None,
) -> ContextualSBM:
    """A shifted copy of a labelled graph.

    Applied in this order: the class-prior subset (induced subgraph, nodes renumbered in
    their original order), the rewiring of its edges, the feature noise. With no shift the
    copy equals the input (edges deduplicated, both directions, self-loops dropped).

    Args:
        data: a :class:`~sciml.data.graphs.ContextualSBM`, or a dict / object holding ``x``
            (n, F), ``y`` (n,) int labels and ``edge_index`` (2, E) (each undirected edge in
            one or both directions); ``train_mask``, ``val_mask``, ``test_mask`` and
            ``class_means`` are carried over where present.
        feature_noise: sigma >= 0 of the Gaussian noise added to every feature.
        rewire: the probability in [0, 1] that an undirected edge is moved to a uniformly
            drawn pair of distinct nodes (1: an Erdős–Rényi graph with the same edge count).
        class_prior: (C,) target class proportions (normalised; zeros drop a class), C
            at least max(y) + 1; None keeps every node.
        seed: numpy seed.

    Returns:
        :class:`~sciml.data.graphs.ContextualSBM`; without masks in ``data`` every node is
        a test node.

    Raises:
        ValueError: a graph without x, y or edge_index, mismatched shapes, NaN features,
            edge ids out of range, a negative noise, a rate outside [0, 1], a bad prior.
    """
    x, y, und = _check_graph(data)
    check_real(feature_noise, "feature_noise", 0)
    rewire = _check_fraction(rewire, "rewire")
    rng = np.random.default_rng(seed)
    n = x.shape[0]
    masks = {k: _get(data, k) for k in ("train_mask", "val_mask", "test_mask")}
    if class_prior is not None:
        prior = _check_prior(class_prior, max(int(y.max()) + 1, np.asarray(class_prior).size))
        ids = _prior_subset(y, prior, rng)
        new_id = np.full(n, -1, dtype=np.int64)
        new_id[ids] = np.arange(ids.size)
        inside = (new_id[und[0]] >= 0) & (new_id[und[1]] >= 0)
        und = new_id[und[:, inside]]
        x, y = x[ids], y[ids]
        masks = {k: None if m is None else np.asarray(m, dtype=bool)[ids] for k, m in masks.items()}
        n = ids.size
    und = _rewire(und, n, rewire, rng)
    if feature_noise > 0:
        x = x + feature_noise * rng.standard_normal(x.shape)
    else:
        x = x.copy()
    if any(m is None for m in masks.values()):
        train = np.zeros(n, dtype=bool)
        val = np.zeros(n, dtype=bool)
        test = np.ones(n, dtype=bool)
    else:
        train, val, test = (np.asarray(masks[k], dtype=bool).copy() for k in masks)
    means = _get(data, "class_means")
    means = np.zeros((0, x.shape[1])) if means is None else np.asarray(means, dtype=np.float64)
    return ContextualSBM(_both_directions(und), x, y, train, val, test, means.copy())


def contextual_sbm_from_means(
    class_means: Any,
    n_nodes: int,
    *,
    mean_degree: float = 10.0,
    homophily: float = 0.8,
    class_prior: Any = None,
    n_noise_features: int = 0,
    seed: int | None = None,
) -> ContextualSBM:
    """A fresh contextual SBM with given class means (the generative model of a
    :func:`~sciml.data.contextual_sbm` sample, redrawn with other sizes, degree, homophily
    or class prior).

    Class c holds ``round(n * prior_c)`` nodes (largest remainders); node i of class c has
    ``x_i = m_c + N(0, I)`` on the informative dimensions and ``n_noise_features`` extra
    N(0, 1) dimensions. Edges: an SBM with one within-class probability p_in and one
    across-class probability p_out set so that the expected mean degree and edge homophily
    are the given ones (as :func:`~sciml.data.planted_partition`, with unequal blocks).
    Every node is a test node.

    Args:
        class_means: (C, F) the class means (``ContextualSBM.class_means``).
        n_nodes: n >= C.
        mean_degree: the expected mean degree (> 0).
        homophily: the expected share of edges within classes, in [0, 1].
        class_prior: (C,) class proportions; None: equal.
        n_noise_features: extra uninformative dimensions (``x.shape[1] - F`` of the
            sample).
        seed: numpy seed.
    """
    means = np.asarray(class_means, dtype=np.float64)
    if means.ndim != 2 or means.shape[0] == 0 or not np.isfinite(means).all():
        raise ValueError(f"class_means must be a finite (C, F) array, got shape {means.shape}")
    nc = means.shape[0]
    n = check_int(n_nodes, "n_nodes", nc)
    extra = check_int(n_noise_features, "n_noise_features", 0)
    check_real(mean_degree, "mean_degree", 0, strict=True)
    homophily = _check_fraction(homophily, "homophily")
    prior = np.full(nc, 1.0 / nc) if class_prior is None else _check_prior(class_prior, nc)
    rng = np.random.default_rng(seed)
    raw = n * prior
    sizes = np.floor(raw).astype(np.int64)
    sizes[np.argsort(sizes - raw)[: n - int(sizes.sum())]] += 1
    p = homophily_probabilities(sizes, mean_degree, homophily)
    und, y = stochastic_block_model(sizes, p, seed=int(rng.integers(2**63)))
    x = means[y] + rng.standard_normal((n, means.shape[1]))
    if extra:
        x = np.hstack([x, rng.standard_normal((n, extra))])
    train = np.zeros(n, dtype=bool)
    return ContextualSBM(_both_directions(und), x, y, train, train.copy(), ~train, means.copy())


def shifted_family(
    source: ContextualSBM,
    count: int,
    *,
    n_nodes: int | None = None,
    mean_degree: float = 10.0,
    homophily: float = 0.8,
    max_feature_noise: float = 1.5,
    max_rewire: float = 0.8,
    max_prior_skew: float = 0.8,
    seed: int | None = None,
) -> list[tuple[ContextualSBM, dict[str, Any]]]:
    """``count`` test graphs of graded shift from the generative model of ``source``.

    Graph k: a fresh :func:`contextual_sbm_from_means` draw (``source``'s class means and
    number of noise dimensions, ``n_nodes`` nodes, the given degree and homophily) whose
    class prior is ``(1 - s) * uniform + s * Dirichlet(1)``, then :func:`shift_graph` with
    ``feature_noise`` and ``rewire``; ``s``, the noise and the rewiring rate are drawn
    independently and uniformly in [0, max_prior_skew], [0, max_feature_noise] and
    [0, max_rewire], so the family spans mild to strong shifts of every kind.

    Args:
        source: the training graph (its ``class_means`` and feature count are read).
        count: number of graphs >= 1.
        n_nodes: nodes per graph (default: as many as ``source``).
        mean_degree, homophily: of the fresh draws (before rewiring).
        max_feature_noise, max_rewire, max_prior_skew: the largest shift of each kind.
        seed: numpy seed.

    Returns:
        A list of ``(graph, shift)`` with ``shift`` the dict of ``feature_noise``,
        ``rewire``, ``prior_skew`` and the drawn ``class_prior`` (a list).
    """
    count = check_int(count, "count", 1)
    means = np.asarray(source.class_means, dtype=np.float64)
    if means.ndim != 2 or means.shape[0] == 0:
        raise ValueError("source must hold class_means (C, F)")
    extra = int(source.x.shape[1] - means.shape[1])
    if extra < 0:
        raise ValueError("source.x has fewer columns than its class means")
    n = source.num_nodes if n_nodes is None else check_int(n_nodes, "n_nodes", 1)
    if not (math.isfinite(max_feature_noise) and max_feature_noise >= 0):
        raise ValueError(f"max_feature_noise must be >= 0, got {max_feature_noise!r}")
    _check_fraction(max_rewire, "max_rewire")
    _check_fraction(max_prior_skew, "max_prior_skew")
    nc = means.shape[0]
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        s = float(rng.uniform(0, max_prior_skew))
        prior = (1 - s) / nc + s * rng.dirichlet(np.ones(nc))
        noise = float(rng.uniform(0, max_feature_noise))
        rate = float(rng.uniform(0, max_rewire))
        g = contextual_sbm_from_means(
            means,
            n,
            mean_degree=mean_degree,
            homophily=homophily,
            class_prior=prior,
            n_noise_features=extra,
            seed=int(rng.integers(2**63)),
        )
        g = shift_graph(g, feature_noise=noise, rewire=rate, seed=int(rng.integers(2**63)))
        shift = {"feature_noise": noise, "rewire": rate, "prior_skew": s}
        out.append((g, shift | {"class_prior": prior.tolist()}))
    return out
