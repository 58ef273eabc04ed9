"""LeBeD and its baselines (sciml.graph.lebed), and the shifted test graphs
(sciml.data.graph_shift): the baselines by hand on tiny logits, ATC's threshold, negative
pairs, the structure discrepancy by hand; the score is the parameter distance at the epoch
the structure rule picks, exactly 0 when the deployed model was itself trained the way
LeBeD re-trains, and grows with strong shift; the shift generators' properties; bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from sciml.data.graph_shift import contextual_sbm_from_means, shift_graph, shifted_family
from sciml.data.graphs import contextual_sbm
from sciml.graph.gnn import GCN, train_node_classifier
from sciml.graph.lebed import (
    LeBeD,
    TrainGraphStats,
    atc_threshold,
    average_confidence,
    average_entropy,
    average_thresholded_confidence,
    capture_init_state,
    sample_negative_edges,
    structure_discrepancy,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def deployed():
    """A GCN trained on a 600-node contextual SBM, its θ_0 and the training graph."""
    src = contextual_sbm(
        600, 3, mean_degree=8.0, homophily=0.8, n_features=8, feature_signal=1.5, seed=3
    )
    torch.manual_seed(0)
    model = GCN(src.x.shape[1], 16, 3, dropout=0.5)
    init = capture_init_state(model)
    train_node_classifier(model, src.x, src.edge_index, src.y, src.train_mask, src.val_mask)
    stats = TrainGraphStats.from_training(init, model, src.x, src.edge_index, src.y, src.val_mask)
    return src, model, stats


# --- baselines ------------------------------------------------------------------------------


def test_baselines_by_hand():
    logits = torch.tensor([[0.0, 0.0], [math.log(3.0), 0.0]])  # probs (.5, .5), (.75, .25)
    assert average_confidence(logits) == pytest.approx(0.625)
    h = math.log(2.0) - (0.75 * math.log(0.75) + 0.25 * math.log(0.25))
    assert average_entropy(logits.numpy()) == pytest.approx(h / 2)
    assert average_thresholded_confidence(logits, 0.6) == 0.5
    assert average_thresholded_confidence(logits, 0.5) == 1.0
    assert average_thresholded_confidence(logits, math.inf) == 0.0
    # one-hot-like logits: confidence 1, entropy 0
    sharp = torch.tensor([[50.0, 0.0, 0.0], [0.0, 0.0, 50.0]])
    assert average_confidence(sharp) == pytest.approx(1.0)
    assert average_entropy(sharp) == pytest.approx(0.0, abs=1e-12)
    assert average_entropy(torch.zeros(4, 3)) == pytest.approx(math.log(3.0))


def test_atc_threshold_by_hand():
    # max probabilities 0.9, 0.6, 0.8, 0.7 (two classes); predictions 0, 1, 0, 1
    p = np.array([0.9, 0.4, 0.8, 0.3])
    logits = np.log(np.stack([p, 1 - p], 1))
    y = np.array([0, 0, 0, 1])  # node 1 is wrong: accuracy 3/4
    t = atc_threshold(logits, y)
    assert t == pytest.approx(0.7)  # the 2nd smallest score: 3 of 4 scores are >= t
    assert average_thresholded_confidence(logits, t) == 0.75
    assert atc_threshold(logits, 1 - np.array([0, 1, 0, 1])) == math.inf  # every node wrong
    assert atc_threshold(logits, np.array([0, 1, 0, 1])) == pytest.approx(0.6)  # all right


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000), st.integers(2, 5), st.integers(5, 60))
def test_atc_threshold_matches_validation_accuracy(seed, c, n):
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(n, c)) * 3
    y = rng.integers(0, c, n)
    acc = float((logits.argmax(1) == y).mean())
    t = atc_threshold(logits, y)
    if acc == 0:
        assert t == math.inf
    else:
        assert average_thresholded_confidence(logits, t) == pytest.approx(acc)


def test_baselines_bad_input():
    with pytest.raises(ValueError, match="shape"):
        average_confidence(torch.zeros(3))
    with pytest.raises(ValueError, match="C >= 2"):
        average_entropy(torch.zeros(3, 1))
    with pytest.raises(ValueError, match="NaN"):
        average_confidence(torch.tensor([[0.0, float("nan")]]))
    with pytest.raises(ValueError, match="val_labels"):
        atc_threshold(torch.zeros(3, 2), np.array([0, 1]))
    with pytest.raises(ValueError, match=r"\[0, 2\)"):
        atc_threshold(torch.zeros(2, 2), np.array([0, 2]))
    with pytest.raises(ValueError, match="NaN"):
        average_thresholded_confidence(torch.zeros(2, 2), float("nan"))


# --- structure reconstruction ---------------------------------------------------------------


def test_negative_edges_are_non_edges():
    ei = np.array([[0, 1, 1, 2, 3, 4], [1, 0, 2, 1, 4, 3]])
    neg = sample_negative_edges(ei, 6, seed=0)
    assert neg.shape == (2, 6)
    pos = set(zip(*ei.tolist(), strict=True))
    pairs = list(zip(*neg.tolist(), strict=True))
    assert len(set(pairs)) == 6 and not set(pairs) & pos
    assert all(i != j for i, j in pairs)
    np.testing.assert_array_equal(neg, sample_negative_edges(ei, 6, seed=0))
    # a dense graph: only the 3 * 2 - 4 = 2 missing ordered pairs exist
    dense = np.array([[0, 1, 1, 2], [1, 0, 2, 1]])
    neg = sample_negative_edges(dense, 3, count=10, seed=1)
    assert sorted(zip(*neg.tolist(), strict=True)) == [(0, 2), (2, 0)]


def test_structure_discrepancy_by_hand():
    z = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    pos = torch.tensor([[0], [1]])  # cos = 1, label 1
    neg = torch.tensor([[0], [2]])  # cos = 0, label 0
    want = (math.log1p(math.exp(-1.0)) + math.log(2.0)) / 2
    assert float(structure_discrepancy(z, pos, neg)) == pytest.approx(want)


# --- the score ------------------------------------------------------------------------------


def test_score_is_the_distance_at_the_rule_epoch(deployed):
    src, model, stats = deployed
    before = [p.detach().clone() for p in model.parameters()]
    g = shift_graph(src, feature_noise=0.5, seed=0)
    est = LeBeD(lr=1e-2, max_epochs=120, min_epochs=3, margin_rate=0.01)
    r = est.score(model, stats, g)
    for p, q in zip(model.parameters(), before, strict=True):  # the model is untouched
        assert torch.equal(p, q)
    flat = torch.cat([p.detach().reshape(-1) for p in model.parameters()]).double()
    student = torch.cat([r.retrained_state[k].reshape(-1) for k, _ in model.named_parameters()])
    assert r.lebed == pytest.approx(float(torch.linalg.vector_norm(flat - student.double())))
    hist = r.history
    assert len(hist["distance"]) == r.stop_epoch + 1
    assert r.lebed == pytest.approx(hist["distance"][-1])
    tol = est.margin_rate * r.d_stru_ref
    gaps = np.abs(np.array(hist["d_stru"]) - r.d_stru_ref)
    assert not (gaps[est.min_epochs : r.stop_epoch] < tol).any()  # no earlier stop
    assert r.criterion_met == bool(gaps[r.stop_epoch] < tol)
    assert r.criterion_met or r.stop_epoch == est.max_epochs - 1
    np.testing.assert_array_equal(
        r.pseudo_labels,
        model(torch.as_tensor(g.x, dtype=torch.float32), g.edge_index).argmax(1).numpy(),
    )
    assert 0 < r.average_confidence <= 1 and 0 <= r.entropy <= math.log(3)
    assert r.average_thresholded_confidence is not None
    assert float(r) == r.lebed
    # seeded: the same result again
    assert est.score(model, stats, g).lebed == r.lebed


def test_score_is_zero_when_the_model_was_trained_as_lebed_retrains():
    """θ*_tr obtained by LeBeD's own re-training (full-batch Adam from θ_0 on the graph's
    pseudo-labels, no dropout): re-training reproduces θ*_tr and the rule stops there."""
    src = contextual_sbm(300, 3, mean_degree=8.0, homophily=0.9, feature_signal=4.0, seed=5)
    torch.manual_seed(1)
    model = GCN(src.x.shape[1], 8, 3, dropout=0.0)
    init = capture_init_state(model)
    x = torch.as_tensor(src.x, dtype=torch.float32)
    ei = torch.as_tensor(src.edge_index)
    labels = torch.as_tensor(src.y)
    k, lr, wd = 60, 1e-2, 5e-4
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=wd)
    prepared = model.prepare_graph(ei, src.num_nodes)
    for _ in range(k):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x, prepared), labels).backward()
        opt.step()
    model.eval()
    with torch.no_grad():
        fitted = model(x, prepared).argmax(1)
    assert torch.equal(fitted, labels)  # so the pseudo-labels are the labels it learnt
    est = LeBeD(lr=lr, weight_decay=wd, max_epochs=k + 20, min_epochs=k - 1, margin_rate=1e-6)
    r = est.score(model, TrainGraphStats(init), src)
    assert r.stop_epoch == k - 1 and r.criterion_met
    assert r.lebed == pytest.approx(0.0, abs=1e-6)
    assert r.average_thresholded_confidence is None  # no threshold in the stats


def test_score_grows_with_strong_feature_noise(deployed):
    """Feature noise 0 < 1 < 3: LeBeD increases (the paper's direction), the confidence falls
    and the entropy rises. (Edge rewiring does not raise LeBeD on this graph, while the
    accuracy falls: see benches/bench_graph_lebed.py; only the baselines are tested there.)"""
    src, model, stats = deployed
    est = LeBeD(lr=1e-2, max_epochs=200, margin_rate=0.005)
    runs = [est.score(model, stats, shift_graph(src, feature_noise=s, seed=1)) for s in (0, 1, 3)]
    scores = [r.lebed for r in runs]
    assert scores[0] < scores[1] < scores[2]
    conf = [r.average_confidence for r in runs]
    ent = [r.entropy for r in runs]
    assert conf[0] > conf[1] > conf[2] and ent[0] < ent[1] < ent[2]
    rewired = est.score(model, stats, shift_graph(src, rewire=0.9, seed=1))
    assert rewired.average_confidence < conf[0] and rewired.entropy > ent[0]


def test_stats_and_score_bad_input(deployed):
    src, model, stats = deployed
    est = LeBeD()
    with pytest.raises(ValueError, match="TrainGraphStats"):
        est.score(model, {"init_state": stats.init_state}, src)
    with pytest.raises(ValueError, match="does not fit"):
        other = GCN(src.x.shape[1], 7, 3)
        est.score(model, TrainGraphStats(capture_init_state(other)), src)
    with pytest.raises(ValueError, match=r"x \(n, F\) and edge_index"):
        est.score(model, stats, {"x": src.x})
    x = src.x.copy()
    x[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        est.score(model, stats, {"x": x, "edge_index": src.edge_index})
    with pytest.raises(ValueError, match=r"ids must be in \[0, 600\)"):
        est.score(model, stats, {"x": src.x, "edge_index": src.edge_index + 1})
    with pytest.raises(ValueError, match="no edge"):
        est.score(model, stats, {"x": src.x, "edge_index": np.zeros((2, 0), dtype=np.int64)})
    with pytest.raises(ValueError, match="Module"):
        est.score("model", stats, src)
    with pytest.raises(ValueError, match="non-empty state dict"):
        TrainGraphStats.from_training({})
    with pytest.raises(ValueError, match="together"):
        TrainGraphStats.from_training(stats.init_state, model, src.x)
    for kwargs in (
        {"lr": 0},
        {"margin_rate": -1},
        {"min_epochs": 5, "max_epochs": 5},
        {"embedding": "pooled"},
        {"weight_decay": float("nan")},
    ):
        with pytest.raises(ValueError):
            LeBeD(**kwargs)


def test_hidden_embedding_runs(deployed):
    src, model, stats = deployed
    r = LeBeD(embedding="hidden", max_epochs=10, min_epochs=2).score(model, stats, src)
    assert r.d_stru_ref > 0 and math.isfinite(r.lebed)


# --- shifted graphs -------------------------------------------------------------------------


def _undirected(ei: np.ndarray) -> set[tuple[int, int]]:
    return {(min(a, b), max(a, b)) for a, b in zip(*ei.tolist(), strict=True)}


def _homophily(g) -> float:
    return float((g.y[g.edge_index[0]] == g.y[g.edge_index[1]]).mean())


def test_shift_graph_identity_and_noise():
    src = contextual_sbm(500, 4, homophily=0.8, seed=0)
    same = shift_graph(src, seed=0)
    np.testing.assert_array_equal(same.x, src.x)
    np.testing.assert_array_equal(same.y, src.y)
    assert _undirected(same.edge_index) == _undirected(src.edge_index)
    np.testing.assert_array_equal(same.train_mask, src.train_mask)
    noisy = shift_graph(src, feature_noise=2.0, seed=1)
    assert np.std(noisy.x - src.x) == pytest.approx(2.0, rel=0.05)
    np.testing.assert_array_equal(noisy.x, shift_graph(src, feature_noise=2.0, seed=1).x)


def test_shift_graph_rewiring():
    src = contextual_sbm(800, 4, homophily=0.9, seed=1)
    g = shift_graph(src, rewire=0.5, seed=2)
    e = g.edge_index
    assert e.shape == src.edge_index.shape  # the edge count stays
    assert (e[0] != e[1]).all()
    und = _undirected(e)
    assert len(und) == e.shape[1] // 2  # no duplicates, both directions
    assert {(b, a) for a, b in zip(*e.tolist(), strict=True)} == set(zip(*e.tolist(), strict=True))
    # half of the edges moved: homophily 0.9 -> about 0.5 * 0.9 + 0.5 * 0.25
    assert _homophily(g) == pytest.approx(0.5 * 0.9 + 0.5 * 0.25, abs=0.05)
    assert _homophily(shift_graph(src, rewire=1.0, seed=2)) == pytest.approx(0.25, abs=0.05)


def test_shift_graph_class_prior():
    src = contextual_sbm(1000, 4, seed=2)
    prior = np.array([0.4, 0.3, 0.2, 0.1])
    g = shift_graph(src, class_prior=prior, seed=3)
    counts = np.bincount(g.y, minlength=4)
    np.testing.assert_allclose(counts / counts.sum(), prior, atol=0.01)
    assert counts[0] == 250  # the largest subset: every node of class 0
    assert g.edge_index.max() < g.num_nodes
    assert g.x.shape == (g.num_nodes, src.x.shape[1])
    # induced subgraph: every kept edge joins kept nodes with the same features as before
    drop = shift_graph(src, class_prior=[1, 0, 0, 0], seed=3)
    assert (drop.y == 0).all() and drop.num_nodes == 250


def test_contextual_sbm_from_means_and_family():
    src = contextual_sbm(600, 3, n_features=8, n_noise_features=4, seed=4)
    g = contextual_sbm_from_means(
        src.class_means, 3000, mean_degree=12.0, homophily=0.6, class_prior=[0.5, 0.3, 0.2],
        n_noise_features=4, seed=0,
    )  # fmt: skip
    assert g.x.shape == (3000, 12)
    np.testing.assert_array_equal(np.bincount(g.y), [1500, 900, 600])
    assert g.edge_index.shape[1] / 3000 == pytest.approx(12.0, rel=0.05)
    assert _homophily(g) == pytest.approx(0.6, abs=0.03)
    for c in range(3):  # features around the source's class means
        np.testing.assert_allclose(g.x[g.y == c, :8].mean(0), src.class_means[c], atol=0.15)
    fam = shifted_family(src, 5, n_nodes=300, max_feature_noise=1.0, max_rewire=0.5, seed=0)
    assert len(fam) == 5
    for graph, shift in fam:
        assert graph.x.shape[1] == 12
        assert 0 <= shift["feature_noise"] <= 1.0 and 0 <= shift["rewire"] <= 0.5
        assert graph.test_mask.all()
    again = shifted_family(src, 5, n_nodes=300, max_feature_noise=1.0, max_rewire=0.5, seed=0)
    np.testing.assert_array_equal(fam[3][0].x, again[3][0].x)


def test_shift_bad_input():
    src = contextual_sbm(100, 2, seed=0)
    with pytest.raises(ValueError, match="feature_noise"):
        shift_graph(src, feature_noise=-1.0)
    with pytest.raises(ValueError, match="rewire"):
        shift_graph(src, rewire=1.5)
    with pytest.raises(ValueError, match="class_prior"):
        shift_graph(src, class_prior=[1, 0, 0, 0, 1, 1][:1])
    with pytest.raises(ValueError, match="class_prior"):
        shift_graph(src, class_prior=[-1, 2])
    with pytest.raises(ValueError, match="x, y and edge_index"):
        shift_graph({"x": src.x, "y": src.y})
    with pytest.raises(ValueError, match=r"\[0, 100\)"):
        shift_graph({"x": src.x, "y": src.y, "edge_index": src.edge_index + 5})
    x = src.x.copy()
    x[3, 1] = np.inf
    with pytest.raises(ValueError, match="NaN"):
        shift_graph({"x": x, "y": src.y, "edge_index": src.edge_index})
    with pytest.raises(ValueError, match="class_means"):
        contextual_sbm_from_means(np.zeros(3), 10)
    with pytest.raises(ValueError, match="homophily"):
        contextual_sbm_from_means(src.class_means, 10, homophily=2.0)
