"""NetInfoF: the information measures on hand-computed tables, the theorem (score <=
majority accuracy, exactly; score <= act accuracy on generated graphs), the probe on tiny
graphs whose answer is known, the compatibility matrix against a dense least-squares
solve, link prediction on a heterophilous block model, and bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from sciml._checks import NotFittedError
from sciml.data.graphs import contextual_sbm, stochastic_block_model
from sciml.graph.netinfof import (
    NetInfoF,
    _undirected_adjacency,
    compatibility_matrix,
    conditional_entropy,
    contingency_table,
    derived_embeddings,
    majority_accuracy,
    netinfof_score,
    walk_matrix,
)


def _both(e: np.ndarray) -> np.ndarray:
    return np.hstack([e, e[::-1]])


def _cliques(sizes: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Disjoint cliques: (edge_index both ways, clique label of each node)."""
    src, dst, labels, start = [], [], [], 0
    for c, s in enumerate(sizes):
        for i in range(start, start + s):
            for j in range(i + 1, start + s):
                src.append(i)
                dst.append(j)
        labels += [c] * s
        start += s
    return _both(np.array([src, dst], dtype=np.int64)), np.array(labels, dtype=np.int64)


# --- information measures ---------------------------------------------------------------


def test_entropy_and_score_by_hand():
    assert conditional_entropy([[2, 0], [0, 3]]) == 0.0
    assert conditional_entropy([[1, 1], [1, 1]]) == pytest.approx(1.0)
    # one row: H(Y) of (3/4, 1/4) = 2 - (3/4) log2 3
    assert conditional_entropy([[3, 1]]) == pytest.approx(2 - 0.75 * math.log2(3))
    # rows (2, 2) and (4, 0): p(x) = 1/2 each, H(Y|x) = 1 and 0 -> H(Y|X) = 1/2
    assert conditional_entropy([[2, 2], [4, 0]]) == pytest.approx(0.5)
    assert majority_accuracy([[2, 2], [4, 0]]) == pytest.approx(0.75)
    np.testing.assert_array_equal(contingency_table([5, 5, 7], [1, 0, 0]), [[1, 1], [1, 0]])


def test_score_perfect_and_constant_embedding():
    y = np.array([0, 0, 1, 1, 1, 2, 2, 2, 2])
    # a discrete variable that determines y (with more values than classes): score 1
    assert netinfof_score(np.arange(9), y) == 1.0
    assert netinfof_score(y * 10 + 3, y) == 1.0
    # a constant: 2^-H(Y), here H(Y) = H(2/9, 3/9, 4/9)
    p = np.array([2, 3, 4]) / 9
    assert netinfof_score(np.zeros(9), y) == pytest.approx(2 ** (p @ np.log2(p)))
    # two classes in equal numbers: 1/2
    assert netinfof_score(np.ones(4), [0, 1, 0, 1]) == pytest.approx(0.5)


@settings(max_examples=60)
@given(
    st.lists(st.lists(st.integers(0, 20), min_size=3, max_size=3), min_size=1, max_size=6).filter(
        lambda t: sum(map(sum, t)) > 0
    )
)
def test_theorem_score_below_majority_accuracy(table):
    score = 2.0 ** -conditional_entropy(table)
    assert 0.0 < score <= majority_accuracy(table) + 1e-12
    assert score <= 1.0


def test_measure_errors():
    with pytest.raises(ValueError, match="same length"):
        contingency_table([0, 1], [0])
    with pytest.raises(ValueError, match="empty"):
        netinfof_score([], [])
    with pytest.raises(ValueError, match="counts"):
        conditional_entropy([[1, -1]])
    with pytest.raises(ValueError, match="at least one count"):
        majority_accuracy([[0, 0]])


# --- embeddings and probe on tiny graphs ----------------------------------------------------


def test_walk_matrix_by_hand():
    # path 0 - 1 - 2: D^-1 A = [[0,1,0],[1/2,0,1/2],[0,1,0]]; non-backtracking second step:
    # 0 -> 1 -> 2 (prob 1 * 1/(2-1)), 2 -> 1 -> 0; from 1 the walk reaches a leaf and stops.
    path = sp.csr_array(np.array([[0, 1, 0], [1, 0, 1], [0, 1, 0]], dtype=float))
    a = walk_matrix(path, threshold=0.0)
    np.testing.assert_allclose(a.toarray(), [[0, 1, 1], [0.5, 0, 0.5], [1, 1, 0]])


def test_embeddings_are_normalised():
    ei, _ = _cliques([6, 4, 5])
    x = np.random.default_rng(0).standard_normal((15, 4))
    emb = derived_embeddings(_undirected_adjacency(ei, 15), x, dim=3)
    assert list(emb) == ["U", "R", "F", "P", "S"]
    for e in emb.values():
        assert e.shape == (15, 3)
        np.testing.assert_allclose(np.linalg.norm(e, axis=1), 1.0, rtol=1e-12)


def test_probe_on_cliques_with_constant_features():
    # two cliques of different sizes: the structure tells the clique, the features nothing
    ei, y = _cliques([6, 4])
    x = np.ones((10, 3))
    train = np.array([1, 1, 1, 0, 0, 0, 1, 1, 1, 0], dtype=bool)  # 3 + 3 nodes
    nf = NetInfoF(embeddings=("U", "R", "F", "P", "S")).fit(ei, x, y, train)
    assert nf.scores_["U"] == 1.0
    assert nf.scores_["R"] == 1.0
    for name in "FPS":  # a constant embedding: one cluster, score 2^-H(Y) = 1/2
        assert len(np.unique(nf.clusters_[name])) == 1
        assert nf.scores_[name] == pytest.approx(0.5)
        assert nf.probe_accuracy_[name] == pytest.approx(0.5)
    np.testing.assert_array_equal(nf.predict(~train), y[~train])
    assert nf.predict_proba(~train).shape == (4, 2)
    assert nf.embedding().shape == (10, 15)
    # probing other labelled nodes reads the same clusters
    assert nf.probe(~train)["U"] == 1.0
    assert nf.probe(~train)["F"] == pytest.approx(2 ** -(-(0.75 * math.log2(0.75)) + 0.5))


def test_theorem_and_act_on_generated_graphs():
    for seed, signal in ((0, 1.5), (1, 0.0)):
        d = contextual_sbm(800, 3, 8.0, 0.8, 8, signal, 8, 0.15, 0.15, seed=seed)
        nf = NetInfoF(random_state=seed).fit(d.edge_index, d.x, d.y, d.train_mask, d.val_mask)
        test_acc = float((nf.predict(d.test_mask) == d.y[d.test_mask]).mean())
        assert test_acc > (0.93 if signal else 0.8)
        for name, score in nf.scores_.items():
            assert 0.0 <= score <= nf.probe_accuracy_[name] + 1e-12  # exact
            assert score <= test_acc, (name, score, test_acc)  # the theorem, held out
        assert nf.scores_["U"] > 0.6  # homophilous structure: informative
        if signal == 0:
            assert nf.scores_["F"] < 0.4  # 3 classes: 1/3 means no information
        else:
            assert nf.scores_["S"] > nf.scores_["U"]  # features and structure together
        assert set(nf.timings_) == {"embeddings", "probe", "act"}


# --- link prediction ----------------------------------------------------------------------


def test_compatibility_matrix_solves_the_damped_least_squares():
    rng = np.random.default_rng(3)
    n, d = 30, 3
    x = rng.standard_normal((n, d))
    e, _ = stochastic_block_model([15, 15], [[0.3, 0.1], [0.1, 0.3]], seed=4)
    a = _undirected_adjacency(_both(e), n)
    h = compatibility_matrix(x, a, np.random.default_rng(7), drop_share=0.0, tol=1e-14)
    np.testing.assert_allclose(h, h.T)
    # the same pairs by hand: edges (i < j, both ends of degree >= 2), then 2x random pairs
    deg = np.asarray(a.sum(axis=1)).ravel()
    up = sp.triu(a, k=1).tocoo()
    keep = (deg[up.row] >= 2) & (deg[up.col] >= 2)
    pi, pj = up.row[keep], up.col[keep]
    r = np.random.default_rng(7)
    ni, nj = r.integers(0, n, 2 * pi.size), r.integers(0, n, 2 * pi.size)
    ii, jj = np.r_[pi, ni], np.r_[pj, nj]
    t = np.r_[np.ones(pi.size), np.zeros(ni.size)]
    ru, cu = np.triu_indices(d)
    phi = np.stack(
        [
            x[ii, r_] * x[jj, c_] + (x[ii, c_] * x[jj, r_] if r_ != c_ else 0)
            for r_, c_ in zip(ru, cu, strict=True)
        ],
        axis=1,
    )
    # the warm start h0: ridge (alpha 1) of x_j on x_i over the directed edges; lsqr's
    # damping with x0 = h0 pulls towards h0: (Phi^T Phi + I) h = Phi^T t + h0
    full = a.tocoo()
    xi, xj = x[full.row], x[full.col]
    h0 = np.linalg.solve(xi.T @ xi + np.eye(d), xi.T @ xj).T[ru, cu]
    coef = np.linalg.solve(phi.T @ phi + np.eye(phi.shape[1]), phi.T @ t + h0)
    np.testing.assert_allclose(h[ru, cu], coef, rtol=1e-6, atol=1e-8)


def test_links_on_a_heterophilous_block_model():
    # blocks 0-1 and 2-3 linked to each other, not inside: the raw dot product of the
    # structure embedding ranks badly, the compatibility matrix fixes it
    n, pin, pout = 800, 0.04, 0.002
    p = np.full((4, 4), pout)
    p[0, 1] = p[1, 0] = p[2, 3] = p[3, 2] = pin
    e, _ = stochastic_block_model([200] * 4, p, seed=0)
    rng = np.random.default_rng(0)
    perm = rng.permutation(e.shape[1])
    cut = int(0.8 * e.shape[1])
    train, test = e[:, perm[:cut]], e[:, perm[cut:]]
    neg = rng.integers(0, n, (2, test.shape[1]))
    pairs = np.hstack([test, neg])
    labels = np.r_[np.ones(test.shape[1]), np.zeros(neg.shape[1])]
    x = rng.standard_normal((n, 8))
    nf = NetInfoF(embeddings=("U", "F")).fit_links(_both(train), x)

    def auc(s: np.ndarray) -> float:
        pos, negs = s[labels == 1], s[labels == 0]
        return float((pos[:, None] > negs[None, :]).mean() + 0.5 * (pos[:, None] == negs).mean())

    u = nf.link_embeddings_["U"]
    raw = np.einsum("ed,ed->e", u[pairs[0]], u[pairs[1]])
    assert auc(raw) < 0.55
    assert auc(nf.link_similarity(pairs, "U")) > 0.75
    assert auc(nf.score_links(pairs)) > 0.75
    probe = nf.probe_links(pairs, labels)
    assert probe["U"] > probe["F"]
    assert 0.5 <= probe["F"] <= 0.56  # features are noise: 2^-1 up to estimation
    assert nf.score_links(np.zeros((2, 0), dtype=np.int64)).shape == (0,)


# --- bad input ----------------------------------------------------------------------------


def test_bad_input():
    ei, y = _cliques([4, 4])
    x = np.random.default_rng(0).standard_normal((8, 2))
    train = np.array([1, 0, 0, 0, 1, 0, 0, 0], dtype=bool)
    nf = NetInfoF()
    with pytest.raises(ValueError, match="NaN"):
        nf.fit(ei, np.where(np.eye(8, 2) > 0, np.nan, x), y, train)
    with pytest.raises(ValueError, match="shape"):
        nf.fit(ei, x[:, 0], y, train)
    with pytest.raises(ValueError, match="train_mask must be a boolean"):
        nf.fit(ei, x, y, train.astype(int))
    with pytest.raises(ValueError, match=r"train_mask must have shape \(8,\)"):
        nf.fit(ei, x, y, train[:7])
    with pytest.raises(ValueError, match="selects no node"):
        nf.fit(ei, x, y, np.zeros(8, dtype=bool))
    with pytest.raises(ValueError, match="probe_mask selects no node"):
        nf.fit(ei, x, y, train, np.zeros(8, dtype=bool))
    with pytest.raises(ValueError, match=r"in \[0, 8\)"):
        nf.fit(ei + 1, x, y, train)
    with pytest.raises(ValueError, match=r"in \[0, 8\)"):
        nf.fit(ei - 1, x, y, train)
    with pytest.raises(ValueError, match=r"shape \(2, E\)"):
        nf.fit(ei[0], x, y, train)
    with pytest.raises(ValueError, match="integer class labels"):
        nf.fit(ei, x, y.astype(float), train)
    with pytest.raises(ValueError, match=r"y must have shape"):
        nf.fit(ei, x, y[:5], train)
    with pytest.raises(ValueError, match="two classes"):
        nf.fit(ei, x, y, np.array([1, 1, 0, 0, 0, 0, 0, 0], dtype=bool))
    with pytest.raises(ValueError, match="embeddings"):
        NetInfoF(embeddings=("U", "Q"))
    with pytest.raises(ValueError, match="embeddings"):
        NetInfoF(embeddings=())
    with pytest.raises(ValueError, match="C must be"):
        NetInfoF(C=0.0)
    with pytest.raises(NotFittedError):
        nf.predict(train)
    with pytest.raises(NotFittedError):
        nf.score_links(ei)
    nf.fit(ei, x, y, train)
    with pytest.raises(ValueError, match="mask must be a boolean"):
        nf.predict(np.arange(8))
    with pytest.raises(ValueError, match="selects no node"):
        nf.probe(np.zeros(8, dtype=bool))
    nf.fit_links(ei, x)
    with pytest.raises(ValueError, match=r"in \[0, 8\)"):
        nf.score_links(np.array([[0], [8]]))
    with pytest.raises(ValueError, match="0 or 1"):
        nf.probe_links(ei[:, :2], np.array([0, 2]))
    with pytest.raises(ValueError, match="no positive training edges"):
        nf.fit_links(ei, x, np.zeros((2, 0), dtype=np.int64))


# --- the generator ------------------------------------------------------------------------


def test_contextual_sbm():
    d = contextual_sbm(300, 3, 6.0, 0.9, 5, 2.0, 4, 0.2, 0.1, seed=5)
    assert d.x.shape == (300, 9) and d.y.shape == (300,) and d.num_nodes == 300
    e = d.edge_index
    assert e.shape[0] == 2 and e.dtype == np.int64
    # both directions of every edge, no loops
    pairs = set(map(tuple, e.T.tolist()))
    assert all((j, i) in pairs for i, j in pairs) and all(i != j for i, j in pairs)
    masks = np.stack([d.train_mask, d.val_mask, d.test_mask])
    np.testing.assert_array_equal(masks.sum(axis=0), 1)  # disjoint, covering
    for c in range(3):  # stratified
        members = d.y == c
        assert d.train_mask[members].sum() == round(0.2 * members.sum())
        assert d.val_mask[members].sum() == round(0.1 * members.sum())
    np.testing.assert_allclose(np.linalg.norm(d.class_means, axis=1), 2.0)
    np.testing.assert_allclose(d.class_means @ d.class_means.T, 4 * np.eye(3), atol=1e-12)
    # class means show in the informative dimensions only
    centroid = np.stack([d.x[d.y == c].mean(axis=0) for c in range(3)])
    assert np.abs(centroid[:, :5] - d.class_means).max() < 0.5
    assert np.abs(centroid[:, 5:]).max() < 0.5
    again = contextual_sbm(300, 3, 6.0, 0.9, 5, 2.0, 4, 0.2, 0.1, seed=5)
    np.testing.assert_array_equal(again.x, d.x)
    np.testing.assert_array_equal(again.edge_index, d.edge_index)
    flat = contextual_sbm(300, 3, 6.0, 0.9, 5, 0.0, 0, seed=5)
    assert flat.x.shape == (300, 5) and not flat.class_means.any()
    with pytest.raises(ValueError, match="feature_signal"):
        contextual_sbm(300, 3, feature_signal=-1.0)
    with pytest.raises(ValueError, match="train_frac"):
        contextual_sbm(300, 3, train_frac=0.8, val_frac=0.3)
    with pytest.raises(ValueError, match="homophily"):
        contextual_sbm(300, 3, homophily=1.5)
