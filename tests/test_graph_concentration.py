"""Topological concentration: hand-computed values, the set-based reference, the ATC
estimator, the TC-inspired edge weights and bad input."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import spearmanr

from sciml.data.graphs import stochastic_block_model
from sciml.graph.concentration import (
    approx_topological_concentration,
    tc_edge_weights,
    topological_concentration,
)
from sciml.graph.reference import topological_concentration_reference

# path 0 - 1 - 2 (training), test edge (0, 2)
PATH_TRAIN = np.array([[0, 1], [1, 2]])
PATH_TEST = np.array([[0], [2]])
# triangle 0 1 2 with pendant 3 on node 2 (training); test edges (0, 3), (1, 3)
TRI_TRAIN = np.array([[0, 1, 0, 2], [1, 2, 2, 3]])
TRI_TEST = np.array([[0, 1], [3, 3]])


def test_path_by_hand():
    # K = 1: |N_0 & N_2| / |N_0| = |{1}| / 1
    np.testing.assert_allclose(topological_concentration(PATH_TRAIN, PATH_TEST, K=1), [1, 0, 1])
    # K = 2, beta = 1: H^1 = {1}, H^2 = {0, 2} for both ends; intersections (1,1): 1,
    # (1,2): 0, (2,1): 0, (2,2): 2 -> 3; norms (|H^1| + |H^2|) * 2 = 6
    tc = topological_concentration(PATH_TRAIN, PATH_TEST, K=2, beta=1.0)
    np.testing.assert_allclose(tc, [0.5, 0, 0.5], rtol=0, atol=1e-15)
    # default beta = 1 / mean degree = 3 / 4: (1 + 2 b^2) / ((1 + b) + 2 (b + b^2)) = 17/35
    tc = topological_concentration(PATH_TRAIN, PATH_TEST, K=2)
    np.testing.assert_allclose(tc, [17 / 35, 0, 17 / 35], rtol=1e-14)


def test_triangle_with_pendant_by_hand():
    # K = 1: node 0: |{1, 2} & {2}| / 2; node 3: mean(|{2} & {1, 2}|, |{2} & {0, 2}|) / 1
    tc1 = topological_concentration(TRI_TRAIN, TRI_TEST, K=1)
    np.testing.assert_allclose(tc1, [0.5, 0.5, 0, 1])
    # K = 2, beta = 1. Node 3: H^1 = {2}, H^2 = {0, 1, 3}; against j = 0 (H^1 = {1, 2},
    # H^2 = {0, 1, 2, 3}): 1 + 1 + 1 + 3 = 6 over (1 + 3) * 2 -> 3/4, the same for j = 1.
    # Node 0: H^1 = {1, 2}, H^2 = {0: 2, 1: 1, 2: 1, 3: 1}; against j = 3:
    # 1 + 1 + 1 + (2 + 1 + 1) = 7 over (2 + 5) * 2 -> 1/2.
    tc2 = topological_concentration(TRI_TRAIN, TRI_TEST, K=2, beta=1.0)
    np.testing.assert_allclose(tc2, [0.5, 0.5, 0, 0.75], rtol=0, atol=1e-15)
    for k, expected in ((1, tc1), (2, tc2)):
        ref = topological_concentration_reference(TRI_TRAIN, TRI_TEST, K=k, beta=1.0)
        np.testing.assert_allclose(ref, expected, rtol=0, atol=1e-15)


def test_nodes_without_test_or_training_neighbours_are_zero():
    # node 4: test neighbour only (no training edge); node 5: isolated; node 1: no test edge;
    # node 3's test neighbour 4 has no training edge: I(3, 4) = 0, so TC_3 = 0 as well
    train = np.array([[0, 1, 2], [1, 2, 3]])
    test = np.array([[0, 3], [2, 4]])
    tc = topological_concentration(train, test, num_nodes=6)
    assert tc.shape == (6,) and tc.dtype == np.float64
    assert tc[0] > 0 and tc[2] > 0 and tc[1] == tc[3] == tc[4] == tc[5] == 0
    atc = approx_topological_concentration(train, test, num_nodes=6)
    assert atc[1] == atc[4] == atc[5] == 0


def test_duplicates_and_reversed_edges_count_once():
    train = np.hstack([TRI_TRAIN, TRI_TRAIN[::-1], TRI_TRAIN[:, :1]])
    test = np.hstack([TRI_TEST, TRI_TEST[::-1]])
    np.testing.assert_array_equal(
        topological_concentration(train, test, K=2),
        topological_concentration(TRI_TRAIN, TRI_TEST, K=2),
    )


def _random_split(n, density, seed):
    rng = np.random.default_rng(seed)
    iu = np.triu_indices(n, 1)
    keep = rng.random(iu[0].size) < density
    e = np.vstack([iu[0][keep], iu[1][keep]]).astype(np.int64)
    e = e[:, rng.permutation(e.shape[1])]
    cut = int(0.8 * e.shape[1])
    return e[:, :cut], e[:, cut:]


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(3, 25),
    density=st.floats(0.05, 0.6),
    seed=st.integers(0, 2**31),
    k=st.integers(1, 3),
    beta=st.one_of(st.none(), st.floats(0.0, 2.0)),
)
def test_matches_set_reference(n, density, seed, k, beta):
    train, test = _random_split(n, density, seed)
    if train.shape[1] == 0:
        return
    tc = topological_concentration(train, test, K=k, beta=beta, num_nodes=n)
    ref = topological_concentration_reference(train, test, K=k, beta=beta, num_nodes=n)
    np.testing.assert_allclose(tc, ref, rtol=0, atol=1e-9)
    assert (tc >= 0).all() and (tc <= 1 + 1e-12).all()


def test_torch_input():
    torch = pytest.importorskip("torch")
    train, test = _random_split(30, 0.2, 1)
    expected = topological_concentration(train, test, num_nodes=30)
    got = topological_concentration(torch.from_numpy(train), torch.from_numpy(test), num_nodes=30)
    np.testing.assert_array_equal(got, expected)
    a = approx_topological_concentration(torch.from_numpy(train), torch.from_numpy(test))
    np.testing.assert_array_equal(a, approx_topological_concentration(train, test))


def test_atc_k1_is_exact_and_deterministic():
    train, test = _random_split(40, 0.15, 3)
    np.testing.assert_allclose(
        approx_topological_concentration(train, test, K=1),
        topological_concentration(train, test, K=1),
        rtol=1e-12,
        atol=0,
    )
    a = approx_topological_concentration(train, test, seed=5)
    np.testing.assert_array_equal(a, approx_topological_concentration(train, test, seed=5))
    assert not np.array_equal(a, approx_topological_concentration(train, test, seed=6))


@pytest.mark.parametrize("exact_first_hop", [True, False])
def test_atc_expectation_on_a_tree(exact_first_hop):
    # The estimate's expectation is TC with j's reachability indicators replaced by walk
    # counts. On a tree every 2-step walk count off the diagonal is 0 or 1, and the
    # default handles the diagonal (j in H^2_j d_j times) exactly: its mean over seeds
    # converges to TC. The plain projection converges to the walk-count version
    # sum_{k1,k2} beta^(k1+k2-2) (A^(k1+k2))_ij / (c sum_w W_iw), averaged over j.
    rng = np.random.default_rng(0)
    n = 30
    parent = np.array([rng.integers(0, i) for i in range(1, n)])
    tree = np.vstack([parent, np.arange(1, n)])
    test = np.array([[0, 3, 5, 7, 11], [9, 14, 20, 22, 29]])
    if exact_first_hop:
        expected = topological_concentration(tree, test, num_nodes=n)
    else:
        a = np.zeros((n, n))
        a[tree[0], tree[1]] = a[tree[1], tree[0]] = 1
        t = np.zeros((n, n))
        t[test[0], test[1]] = t[test[1], test[0]] = 1
        b = n / a.sum()
        p = [np.linalg.matrix_power(a, k) for k in range(5)]
        numer = (t * (p[2] + 2 * b * p[3] + b * b * p[4])).sum(1)
        walks = p[1].sum(1) + b * p[2].sum(1)
        nt = t.sum(1)
        expected = np.where(nt > 0, numer / np.maximum(nt, 1) / ((1 + b) * walks), 0.0)
    mean = np.mean(
        [
            approx_topological_concentration(
                tree, test, dim=256, seed=s, exact_first_hop=exact_first_hop
            )
            for s in range(100)
        ],
        axis=0,
    )
    np.testing.assert_allclose(mean, expected, atol=0.02)
    if not exact_first_hop:  # and that version differs from TC here (node 9: d_j = 3)
        assert abs(expected[9] - topological_concentration(tree, test)[9]) > 0.1


def test_atc_expectation_with_cycles_and_overlap():
    # K = 2 on a graph with triangles and 4-cycles, a test pair that is also a training
    # edge: the default estimate's expectation, written out by node w of the sums (w = i
    # and w = j with exact indicators, the others with j's walk counts)
    n = 12
    train, test = _random_split(n, 0.45, 4)
    test = np.hstack([test, train[:, :1]])
    a = np.zeros((n, n))
    a[train[0], train[1]] = a[train[1], train[0]] = 1
    t = np.zeros((n, n))
    t[test[0], test[1]] = t[test[1], test[0]] = 1
    b = 0.3
    a2 = a @ a
    numer = np.zeros(n)
    for i, j in zip(*np.nonzero(t), strict=True):
        others = [w for w in range(n) if w not in (i, j)]
        wi = a[i, others] + b * a2[i, others]
        wj = a[j, others] + b * a2[j, others]
        numer[i] += wi @ wj
        numer[i] += b * a2[i, i] * (a[j, i] + b * (a2[j, i] > 0))  # w = i
        numer[i] += (a[i, j] + b * a2[i, j]) * b * (a[j].sum() > 0)  # w = j
    walks = a.sum(1) + b * a2.sum(1)
    nt = t.sum(1)
    ok = (nt > 0) & (walks > 0)
    expected = np.zeros(n)
    expected[ok] = numer[ok] / (nt[ok] * (1 + b) * walks[ok])
    runs = [
        approx_topological_concentration(train, test, dim=512, beta=b, num_nodes=n, seed=s)
        for s in range(100)
    ]
    np.testing.assert_allclose(np.mean(runs, axis=0), expected, atol=0.015)


def test_atc_correlates_with_tc():
    sizes = [500] * 4
    p = np.full((4, 4), 0.001)
    np.fill_diagonal(p, [0.01, 0.02, 0.04, 0.08])
    edges, _ = stochastic_block_model(sizes, p, seed=1)
    perm = np.random.default_rng(1).permutation(edges.shape[1])
    cut = int(0.8 * edges.shape[1])
    train, test = edges[:, perm[:cut]], edges[:, perm[cut:]]
    tc = topological_concentration(train, test, num_nodes=2000)
    defined = (np.bincount(train.ravel(), minlength=2000) > 0) & (
        np.bincount(test.ravel(), minlength=2000) > 0
    )
    atc = approx_topological_concentration(train, test, num_nodes=2000, dim=64, seed=0)
    assert spearmanr(tc[defined], atc[defined]).statistic > 0.8
    assert (atc[~defined] == 0).all()


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"train_edges": np.zeros((3, 2), dtype=int)}, ValueError, "shape"),
        ({"train_edges": np.array([0, 1])}, ValueError, "shape"),
        ({"train_edges": np.array([[0.0], [1.0]])}, TypeError, "integer"),
        ({"train_edges": np.array([[True], [False]])}, TypeError, "integer"),
        ({"train_edges": np.array([[0, -1], [1, 2]])}, ValueError, ">= 0"),
        ({"train_edges": np.array([[0, 1], [1, 1]])}, ValueError, "self-loop"),
        ({"test_edges": np.array([[2], [2]])}, ValueError, "self-loop"),
        ({"num_nodes": 2}, ValueError, "num_nodes"),
        ({"num_nodes": 0}, ValueError, "num_nodes"),
        ({"num_nodes": 3.0}, TypeError, "num_nodes"),
        ({"K": 0}, ValueError, "K"),
        ({"K": 1.5}, TypeError, "K"),
        ({"K": True}, TypeError, "K"),
        ({"beta": -1.0}, ValueError, "beta"),
        ({"beta": float("nan")}, ValueError, "beta"),
        ({"beta": "1"}, TypeError, "beta"),
        ({"train_edges": np.zeros((2, 0), dtype=int)}, ValueError, "empty"),
        (
            {"train_edges": np.zeros((2, 0), dtype=int), "test_edges": np.zeros((2, 0), dtype=int)},
            ValueError,
            "empty",
        ),
    ],
)
def test_bad_input(kwargs, error, match):
    args = {"train_edges": PATH_TRAIN, "test_edges": PATH_TEST, **kwargs}
    with pytest.raises(error, match=match):
        topological_concentration(**args)
    with pytest.raises(error, match=match):
        approx_topological_concentration(**args)


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [({"dim": 0}, ValueError), ({"dim": 2.0}, TypeError), ({"seed": -1}, ValueError)],
)
def test_bad_atc_options(kwargs, error):
    with pytest.raises(error):
        approx_topological_concentration(PATH_TRAIN, PATH_TEST, **kwargs)
    with pytest.raises(TypeError):
        approx_topological_concentration(PATH_TRAIN, PATH_TEST, exact_first_hop=1)


def test_empty_test_set_gives_zeros():
    tc = topological_concentration(PATH_TRAIN, np.zeros((2, 0), dtype=np.int64))
    np.testing.assert_array_equal(tc, np.zeros(3))


# --- edge weights -------------------------------------------------------------------------


def _weights_by_definition(edges, h, gamma, normalization, score):
    """A~_ij = A_hat_ij + gamma softmax_j(g(N_i * h_j)) sum_k A_hat_ik, with loops."""
    n = h.shape[0]
    a = np.eye(n)
    for u, v in edges.T:
        a[u, v] = a[v, u] = 1
    d = a.sum(1)
    a_hat = a / np.sqrt(np.outer(d, d)) if normalization == "sym" else a / d[:, None]
    agg = a_hat @ h
    out = {}
    for i in range(n):
        nbrs = np.flatnonzero(a[i])
        s = np.array([score((agg[i] * h[j])[None])[0] for j in nbrs])
        soft = np.exp(s - s.max()) / np.exp(s - s.max()).sum()
        for j, p in zip(nbrs, soft, strict=True):
            out[(int(j), i)] = a_hat[i, j] + gamma * p * a_hat[i].sum()
    return out


@pytest.mark.parametrize("normalization", ["sym", "rw"])
@pytest.mark.parametrize("gamma", [0.0, 1.0, 2.5])
def test_edge_weights_match_definition(normalization, gamma):
    rng = np.random.default_rng(0)
    h = rng.normal(size=(5, 3))

    def default(z):
        return 1 / (1 + np.exp(-z.sum(1)))

    edge_index, w = tc_edge_weights(TRI_TRAIN, h, gamma=gamma, normalization=normalization)
    expected = _weights_by_definition(TRI_TRAIN, h, gamma, normalization, default)
    assert edge_index.dtype == np.int64 and edge_index.shape == (2, len(expected))
    got = {(int(s), int(t)): x for s, t, x in zip(*edge_index, w, strict=True)}
    assert got.keys() == expected.keys()
    for key, value in expected.items():
        assert got[key] == pytest.approx(value, rel=1e-12)
    # sorted by (target, source); node 4 (isolated) keeps its self-loop
    order = np.lexsort((edge_index[0], edge_index[1]))
    np.testing.assert_array_equal(order, np.arange(edge_index.shape[1]))
    # every target's added weights sum to gamma times its original weights
    base = tc_edge_weights(TRI_TRAIN, h, gamma=0.0, normalization=normalization)[1]
    per_target = np.bincount(edge_index[1], w) / np.bincount(edge_index[1], base)
    np.testing.assert_allclose(per_target, 1 + gamma)


def test_edge_weights_custom_score_and_torch():
    torch = pytest.importorskip("torch")
    h = np.random.default_rng(1).normal(size=(4, 2))
    # a constant score: uniform softmax, each neighbour gets gamma * total / |N(i)|
    ei, w = tc_edge_weights(TRI_TRAIN, h, score=lambda z: np.zeros(z.shape[0]), gamma=1.0)
    base = tc_edge_weights(TRI_TRAIN, h, gamma=0.0)[1]
    count = np.bincount(ei[1])
    total = np.bincount(ei[1], base)
    np.testing.assert_allclose(w, base + total[ei[1]] / count[ei[1]])
    ei_t, w_t = tc_edge_weights(torch.from_numpy(TRI_TRAIN), torch.from_numpy(h))
    ei_n, w_n = tc_edge_weights(TRI_TRAIN, h)
    np.testing.assert_array_equal(ei_t, ei_n)
    np.testing.assert_allclose(w_t, w_n)
    # a torch predictor returning (E, 1)
    ei2, w2 = tc_edge_weights(TRI_TRAIN, h, score=lambda z: torch.from_numpy(z).sum(1, True))
    assert w2.shape == (ei2.shape[1],)


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"embeddings": np.zeros((3, 2))}, ValueError),  # fewer rows than ids
        ({"embeddings": np.full((4, 2), np.nan)}, ValueError),
        ({"embeddings": np.zeros(4)}, ValueError),
        ({"embeddings": np.zeros((4, 2), dtype=bool)}, TypeError),
        ({"gamma": -1.0}, ValueError),
        ({"gamma": None}, TypeError),
        ({"normalization": "gcn"}, ValueError),
        ({"score": lambda z: np.zeros(3)}, ValueError),
        ({"score": lambda z: np.full(z.shape[0], np.inf)}, ValueError),
        ({"train_edges": np.array([[0, 1], [1, 1]])}, ValueError),
        ({"num_nodes": 5}, ValueError),
    ],
)
def test_edge_weights_bad_input(kwargs, error):
    args = {"train_edges": TRI_TRAIN, "embeddings": np.zeros((4, 2)), **kwargs}
    edges = args.pop("train_edges")
    h = args.pop("embeddings")
    with pytest.raises(error):
        tc_edge_weights(edges, h, **args)


def test_large_ring_by_hand():
    # a 20,000-node ring (training) with chords i -- i + 2 between even nodes (test): sparse
    # products only, fast. beta = 1 / mean degree = 1/2. For even i and j = i + 2:
    # H^1_i = {i-1, i+1}, H^2_i = {i-2, i (twice), i+2}; H^1_j = {i+1, i+3},
    # H^2_j = {i, i+2, i+4}: intersections (1,1) {i+1} -> 1, (2,2) {i, i+2} -> 2 + 1,
    # the others empty: (1 + 3/4) / (2 (1 + 1/2) + 4 (1/2 + 1/4)) = 7/24; odd nodes: 0
    n = 20_000
    ring = np.vstack([np.arange(n), (np.arange(n) + 1) % n])
    chords = np.vstack([np.arange(0, n, 2), (np.arange(0, n, 2) + 2) % n])
    tc = topological_concentration(ring, chords, K=2)
    np.testing.assert_allclose(tc[::2], 7 / 24, rtol=1e-14)
    assert (tc[1::2] == 0).all()
