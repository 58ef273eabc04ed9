"""The graph container: conversions (edge_index, scipy, networkx, gapped ids), normalisations
against dense formulas, products, and clear errors."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp
import torch

from sciml.graph import Graph


def _dense(g: Graph) -> np.ndarray:
    return g.adjacency.toarray()


def test_edge_index_round_trip_with_weights_and_duplicates():
    ei = np.array([[0, 1, 2, 2, 0], [1, 2, 0, 0, 2]])
    w = np.array([1.0, 2.0, 0.5, 0.25, 3.0])
    g = Graph.from_edge_index(ei, w, num_nodes=4)
    want = np.zeros((4, 4))
    np.add.at(want, (ei[0], ei[1]), w)
    np.testing.assert_array_equal(_dense(g), want)
    back, bw = g.edge_index()
    assert back.dtype == np.int64 and back.shape == (2, 4)
    again = Graph.from_edge_index(back, bw, num_nodes=4)
    np.testing.assert_array_equal(_dense(again), want)
    np.testing.assert_array_equal(g.node_ids, np.arange(4))


def test_torch_edge_index_and_bool_int_weights():
    ei = torch.tensor([[0, 1], [1, 0]])
    for w in (np.array([True, True]), np.array([2, 3]), torch.tensor([1.5, 2.5])):
        g = Graph.from_edge_index(ei, w, num_nodes=2)
        assert g.num_edges == 2
        assert np.issubdtype(g.adjacency.dtype, np.floating)


def test_gapped_ids_are_remapped_and_mapped_back():
    ei = np.array([[10, 30, 7], [30, 7, 10]])
    g = Graph.from_edge_index(ei)
    np.testing.assert_array_equal(g.node_ids, [7, 10, 30])
    back, _ = g.edge_index()
    original = {tuple(e) for e in ei.T.tolist()}
    assert {(g.node_ids[a], g.node_ids[b]) for a, b in back.T.tolist()} == original
    np.testing.assert_array_equal(g.index_of([30, 7]), [2, 0])


def test_networkx_labels_and_scipy_round_trip():
    graph = nx.Graph()
    graph.add_edge("a", ("b", 1), weight=2.0)
    graph.add_edge(("b", 1), 3.5)
    g = Graph.from_networkx(graph)
    assert g.node_ids == ["a", ("b", 1), 3.5]
    dense = _dense(g)
    assert dense[0, 1] == dense[1, 0] == 2.0 and dense[1, 2] == dense[2, 1] == 1.0
    h = Graph.from_scipy(sp.csr_matrix(dense))
    np.testing.assert_array_equal(_dense(h), dense)
    assert Graph.from_any(g) is g
    assert Graph.from_any((np.array([[0], [1]]), 2)).num_edges == 1
    directed = nx.DiGraph([(0, 1)])
    assert _dense(Graph.from_any(directed)).tolist() == [[0, 1], [0, 0]]


def test_normalisations_match_dense_formulas_with_isolated_nodes():
    rng = np.random.default_rng(0)
    a = rng.random((6, 6)) * (rng.random((6, 6)) < 0.5)
    a[4, :] = 0  # a node without out-edges
    g = Graph.from_scipy(sp.csr_array(a))
    d = a.sum(1)
    inv_sqrt = np.where(d > 0, 1 / np.sqrt(np.where(d > 0, d, 1)), 0)
    inv = np.where(d > 0, 1 / np.where(d > 0, d, 1), 0)
    np.testing.assert_allclose(g.symmetric_normalized().toarray(), inv_sqrt[:, None] * a * inv_sqrt)
    np.testing.assert_allclose(g.random_walk_normalized().toarray(), inv[:, None] * a)
    rows = g.random_walk_normalized().sum(1)
    np.testing.assert_allclose(rows, np.where(d > 0, 1.0, 0.0))
    assert np.isfinite(g.symmetric_normalized().data).all()
    x = rng.standard_normal((6, 3))
    np.testing.assert_allclose(g.spmm(x, "sym"), inv_sqrt[:, None] * a * inv_sqrt @ x)
    np.testing.assert_allclose(g.spmm(x[:, 0]), a @ x[:, 0])


def test_torch_sparse_supports_autograd():
    g = Graph.from_any(nx.karate_club_graph())
    a = g.to_torch_sparse("sym", dtype=torch.float64)
    x = torch.randn(34, 2, dtype=torch.float64, requires_grad=True)
    torch.sparse.mm(a, x).sum().backward()
    want = g.symmetric_normalized().T @ np.ones((34, 2))
    np.testing.assert_allclose(x.grad.numpy(), want)


@pytest.mark.parametrize(
    ("make", "error", "match"),
    [
        (lambda: Graph.from_edge_index(np.array([[0, 5]]).T.T, num_nodes=2), ValueError, "2, E"),
        (lambda: Graph.from_edge_index(np.array([[0], [5]]), num_nodes=3), ValueError, "0, num"),
        (lambda: Graph.from_edge_index(np.array([[0], [-1]]), num_nodes=3), ValueError, "0, num"),
        (lambda: Graph.from_edge_index(np.zeros((2, 1))), TypeError, "integers"),
        (lambda: Graph.from_edge_index(np.array([[0], [1]]), [np.nan]), ValueError, "finite"),
        (lambda: Graph.from_edge_index(np.array([[0], [1]]), [np.inf]), ValueError, "finite"),
        (lambda: Graph.from_edge_index(np.array([[0], [1]]), [-1.0]), ValueError, ">= 0"),
        (lambda: Graph.from_edge_index(np.array([[0], [1]]), [1.0, 2.0]), ValueError, "shape"),
        (lambda: Graph.from_edge_index(np.array([[0], [1]]), ["a"]), TypeError, "real"),
        (lambda: Graph.from_scipy(sp.csr_array((2, 3))), ValueError, "square"),
        (lambda: Graph.from_scipy(np.eye(2)), TypeError, "scipy"),
        (lambda: Graph.from_networkx(np.eye(2)), TypeError, "networkx"),
        (lambda: Graph.from_any([1, 2]), TypeError, "graph must be"),
        (lambda: Graph.from_any(nx.path_graph(3)).spmm(np.ones(2)), ValueError, "shape"),
        (lambda: Graph.from_any(nx.path_graph(3)).normalized("l2"), ValueError, "normalization"),
    ],
)
def test_bad_input_is_a_clear_error(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_empty_graphs():
    g = Graph.from_any(nx.Graph())
    assert g.num_nodes == 0 and g.symmetric_normalized().shape == (0, 0)
    h = Graph.from_edge_index(np.zeros((2, 0), dtype=np.int64), num_nodes=3)
    assert h.num_edges == 0 and h.random_walk_normalized().nnz == 0
