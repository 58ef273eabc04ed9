"""IRWE (sciml.graph.irwe): random and anonymous walks checked by hand, exact and sampled
AW statistics, shapes and determinism, identity embeddings of automorphic nodes, inductive
transform on held-out nodes and new graphs, input types and bad input."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from sciml._checks import NotFittedError
from sciml.graph.backbone import Graph
from sciml.graph.irwe import (
    IRWE,
    IRWEEmbeddings,
    anonymize,
    anonymous_walk_ids,
    anonymous_walk_types,
    aw_distribution,
    exact_walks,
    random_walks,
    walk_count,
)

torch.set_num_threads(1)
FAST = {"dim": 8, "heads": 2, "steps": 8, "batch_size": 16, "n_anchors": 4, "aw_length": 3}
BELL = [1, 1, 2, 5, 15, 52, 203, 877]


def adjacency(g: nx.Graph) -> sp.csr_array:
    return Graph.from_networkx(g).adjacency


# --- anonymous walks -------------------------------------------------------------------------


def test_anonymize_by_hand():
    walks = np.array([[5, 3, 5, 7, 3], [1, 2, 3, 4, 5], [9, 9, 9, 9, 9], [4, 2, 2, 4, 8]])
    expected = [[0, 1, 0, 2, 1], [0, 1, 2, 3, 4], [0, 0, 0, 0, 0], [0, 1, 1, 0, 2]]
    np.testing.assert_array_equal(anonymize(walks), expected)


@settings(max_examples=40)
@given(st.lists(st.integers(0, 4), min_size=1, max_size=7))
def test_anonymize_matches_a_loop(walk):
    seen: dict[int, int] = {}
    expected = [seen.setdefault(v, len(seen)) for v in walk]
    np.testing.assert_array_equal(anonymize(np.array([walk]))[0], expected)


def test_anonymous_walk_types_are_the_restricted_growth_strings():
    for length in range(0, 7):
        types = anonymous_walk_types(length)
        assert types.shape == (BELL[length + 1], length + 1)
        np.testing.assert_array_equal(anonymize(types), types)  # each is its own AW
        np.testing.assert_array_equal(anonymous_walk_ids(types, types), np.arange(len(types)))
    assert anonymous_walk_types(2).tolist() == [
        [0, 0, 0],
        [0, 0, 1],
        [0, 1, 0],
        [0, 1, 1],
        [0, 1, 2],
    ]
    with pytest.raises(ValueError, match="length must be <="):
        anonymous_walk_types(9)


# --- random walks and AW statistics ----------------------------------------------------------


def test_random_walks_follow_edges_and_are_seeded():
    g = nx.barabasi_albert_graph(60, 2, seed=1)
    g.add_node(60)  # isolated: the walker stays
    s = adjacency(g)
    starts = np.repeat(np.arange(61), 5)
    w = random_walks(s, starts, 7, np.random.default_rng(3))
    assert w.shape == (305, 8) and w.dtype == np.int64
    np.testing.assert_array_equal(w[:, 0], starts)
    src, dst = w[:, :-1].ravel(), w[:, 1:].ravel()
    moved = src != 60
    assert np.all(s[src[moved], dst[moved]] > 0)
    assert np.all(dst[~moved] == 60)
    np.testing.assert_array_equal(w, random_walks(s, starts, 7, np.random.default_rng(3)))


def test_random_walks_use_the_weights():
    s = sp.csr_array(np.array([[0, 1.0, 9.0], [1, 0, 0], [1, 0, 0]]))
    w = random_walks(s, np.zeros(20000, dtype=np.int64), 1, np.random.default_rng(0))
    assert abs(np.mean(w[:, 1] == 2) - 0.9) < 0.01


def test_exact_walks_and_counts():
    g = nx.path_graph(4)
    s = adjacency(g)
    walks, prob = exact_walks(s, 3)
    assert len(walks) == walk_count(s, 3) == (np.linalg.matrix_power(s.toarray(), 3).sum())
    np.testing.assert_allclose(np.bincount(walks[:, 0], prob), 1.0)
    # from an end: 0-1-0-1 (1/2), 0-1-2-1 (1/4), 0-1-2-3 (1/4)
    dist, exact = aw_distribution(s, 3, "exact")
    assert exact
    types = anonymous_walk_types(3).tolist()
    assert dist[0, types.index([0, 1, 0, 1])] == pytest.approx(0.5)
    assert dist[0, types.index([0, 1, 2, 1])] == pytest.approx(0.25)
    assert dist[0, types.index([0, 1, 2, 3])] == pytest.approx(0.25)
    np.testing.assert_allclose(dist.sum(axis=1), 1.0, rtol=1e-6)


def test_sampled_aw_distribution_approaches_the_exact_one():
    s = adjacency(nx.karate_club_graph())
    exact, is_exact = aw_distribution(s, 3, "exact")
    sampled, is_sampled = aw_distribution(s, 3, "sample", 4000, rng=np.random.default_rng(0))
    assert is_exact and not is_sampled
    assert np.abs(exact - sampled).max() < 0.05
    _, auto = aw_distribution(s, 3, "auto", max_exact_walks=10)
    assert not auto


# --- the estimator ---------------------------------------------------------------------------


def test_shapes_and_determinism():
    g = nx.karate_club_graph()
    a = IRWE(**FAST, seed=3).fit_transform(g)
    b = IRWE(**FAST, seed=3).fit_transform(g)
    assert isinstance(a, IRWEEmbeddings)
    for x in a:
        assert x.shape == (34, 8) and x.dtype == np.float32 and np.isfinite(x).all()
    np.testing.assert_array_equal(a.identity, b.identity)
    np.testing.assert_array_equal(a.position, b.position)
    c = IRWE(**FAST, seed=4).fit_transform(g)
    assert not np.allclose(a.position, c.position)


def test_co_occurrence_term_trains_and_is_seeded():
    g = nx.karate_club_graph()
    a = IRWE(**FAST, walk_weight=1.0, negatives=3).fit(g)
    b = IRWE(**FAST, walk_weight=1.0, negatives=3).fit(g)
    np.testing.assert_array_equal(a.embeddings_.position, b.embeddings_.position)
    assert np.isfinite(a.embeddings_.position).all()
    off = IRWE(**FAST).fit(g)
    assert a.result_.last_loss != off.result_.last_loss


def test_transform_of_the_training_graph_gives_the_training_embeddings():
    g = nx.karate_club_graph()
    model = IRWE(**FAST).fit(g)
    again = model.transform(g)
    np.testing.assert_allclose(again.identity, model.embeddings_.identity, atol=1e-6)
    np.testing.assert_allclose(again.position, model.embeddings_.position, atol=1e-6)


def test_identity_equal_for_automorphic_nodes():
    cycle = IRWE(**FAST, aw_mode="exact").fit_transform(nx.cycle_graph(15))
    np.testing.assert_allclose(
        cycle.identity, np.broadcast_to(cycle.identity[0], (15, 8)), atol=1e-5
    )
    path = IRWE(**FAST, aw_mode="exact").fit_transform(nx.path_graph(9))
    np.testing.assert_allclose(path.identity[0], path.identity[8], atol=1e-5)
    np.testing.assert_allclose(path.identity[2], path.identity[6], atol=1e-5)
    assert np.abs(path.identity[0] - path.identity[4]).max() > 1e-2


def test_inductive_transform_on_held_out_nodes_and_new_graphs():
    g = nx.barabasi_albert_graph(80, 3, seed=0)
    held = list(range(70, 80))
    model = IRWE(**FAST).fit(g.subgraph(range(70)).copy())
    full = model.transform(g)
    assert full.identity.shape == (80, 8) and np.isfinite(full.position).all()
    # the anchors of the training graph are kept: same ones in the full graph
    assert set(model.anchors_) <= set(range(70))
    new = model.transform(nx.connected_watts_strogatz_graph(50, 4, 0.1, seed=2))
    assert new.position.shape == (50, 8) and np.isfinite(new.identity).all()
    assert not np.allclose(full.identity[held], full.identity[held][0])


def test_input_types_agree():
    g = nx.barabasi_albert_graph(30, 2, seed=5)
    ei = np.array(list(g.edges)).T
    ei = np.hstack([ei, ei[::-1]])
    ref = IRWE(**FAST).fit_transform(g)
    for graph in (ei, torch.from_numpy(ei), sp.csr_array(nx.to_scipy_sparse_array(g))):
        out = IRWE(**FAST).fit_transform(graph)
        np.testing.assert_allclose(out.identity, ref.identity, atol=1e-5)
        np.testing.assert_allclose(out.position, ref.position, atol=1e-5)


def test_bad_input():
    g = nx.karate_club_graph()
    with pytest.raises(ValueError, match="divisible"):
        IRWE(dim=10, heads=4).fit(g)
    with pytest.raises(ValueError, match="aw_length"):
        IRWE(aw_length=9).fit(g)
    with pytest.raises(ValueError, match="window"):
        IRWE(window=9, walk_length=4).fit(g)
    with pytest.raises(ValueError, match="aw_mode"):
        IRWE(aw_mode="all").fit(g)
    with pytest.raises(ValueError, match="lr"):
        IRWE(lr=0.0).fit(g)
    with pytest.raises(ValueError, match="no edges"):
        IRWE(**FAST).fit(nx.empty_graph(5))
    with pytest.raises(ValueError, match="no nodes"):
        IRWE(**FAST).fit(nx.empty_graph(0))
    with pytest.raises(ValueError, match="edge_index values"):
        IRWE(**FAST).fit(np.array([[0, 1], [1, 7]]), num_nodes=5)
    with pytest.raises(ValueError, match="shape"):
        IRWE(**FAST).fit(np.zeros((3, 4), dtype=np.int64))
    with pytest.raises(ValueError, match=">= 0"):
        IRWE(**FAST).fit(sp.csr_array(np.array([[0, -1.0], [-1.0, 0]])))
    with pytest.raises(ValueError, match="finite"):
        IRWE(**FAST).fit(sp.csr_array(np.array([[0, np.nan], [1.0, 0]])))
    with pytest.raises(NotFittedError):
        IRWE().transform(g)
    with pytest.raises(TypeError):
        IRWE(**FAST).fit("graph")
