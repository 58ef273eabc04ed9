"""GCN: the propagation matrix and the forward pass against dense formulas (float64), the
graph input forms, training on an easy block model with early stopping and restored
weights, and bad input."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from sciml.data.graphs import contextual_sbm
from sciml.graph import Graph
from sciml.graph.gnn import GCN, gcn_adjacency, node_accuracy, train_node_classifier


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny products: one torch thread is faster, and not slowed by a busy machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


# 5 nodes: a triangle 0-1-2, an edge 2-3, node 4 isolated (undirected, both directions)
EDGES = np.array([[0, 1, 0, 2, 1, 2, 2, 3], [1, 0, 2, 0, 2, 1, 3, 2]])


def _dense_gcn_matrix(s: np.ndarray) -> np.ndarray:
    """D~^-1/2 (S^T + I) D~^-1/2 with D~ the row sums of S^T + I."""
    a = s.T + np.eye(len(s))
    d = a.sum(axis=1) ** -0.5
    return d[:, None] * a * d[None, :]


def test_gcn_adjacency_by_hand():
    a = gcn_adjacency(EDGES, 5, dtype=torch.float64).to_dense().numpy()
    # degrees with the self-loop: 3, 3, 4, 2, 1
    assert a[0, 1] == pytest.approx(1 / 3)
    assert a[2, 3] == pytest.approx(1 / np.sqrt(8))
    assert a[2, 2] == pytest.approx(1 / 4)
    assert a[4, 4] == 1.0  # an isolated node keeps its own features
    s = np.zeros((5, 5))
    s[EDGES[0], EDGES[1]] = 1
    np.testing.assert_allclose(a, _dense_gcn_matrix(s), rtol=1e-14)


def test_gcn_adjacency_directed_and_weighted():
    # directed weighted S: messages flow src -> dst, normalised by in-degree + 1
    s = sp.csr_array(np.array([[0, 2.0, 0], [0, 0, 1.0], [0.5, 0, 0]]))
    a = gcn_adjacency(Graph.from_scipy(s), dtype=torch.float64).to_dense().numpy()
    np.testing.assert_allclose(a, _dense_gcn_matrix(s.toarray()), rtol=1e-14)
    np.testing.assert_allclose(gcn_adjacency(s, dtype=torch.float64).to_dense().numpy(), a, rtol=0)


def test_forward_matches_dense_reference_float64():
    torch.manual_seed(0)
    model = GCN(4, 6, 3, layers=3, dropout=0.3).double().eval()
    x = torch.randn(5, 4, dtype=torch.float64)
    out = model(x, Graph.from_edge_index(EDGES, num_nodes=5))
    s = np.zeros((5, 5))
    s[EDGES[0], EDGES[1]] = 1
    a = torch.from_numpy(_dense_gcn_matrix(s))
    h = x
    for i, conv in enumerate(model.convs):
        h = a @ h @ conv.linear.weight.T + conv.bias
        if i < 2:
            h = torch.relu(h)
    torch.testing.assert_close(out, h, rtol=1e-12, atol=1e-12)


def test_graph_input_forms_agree():
    torch.manual_seed(1)
    model = GCN(3, 8, 2).eval()
    x = torch.randn(5, 3)
    g = Graph.from_edge_index(EDGES, num_nodes=5)
    ref = model(x, g)
    assert ref.shape == (5, 2) and ref.dtype == torch.float32
    for graph in (EDGES, torch.from_numpy(EDGES), gcn_adjacency(g), model.prepare_graph(g, 5)):
        torch.testing.assert_close(model(x, graph), ref)
    # the cache follows the graph object
    other = Graph.from_edge_index(EDGES[:, :6], num_nodes=5)
    assert not torch.allclose(model(x, other), ref)


def test_training_on_an_easy_block_model():
    d = contextual_sbm(600, 3, 10.0, 0.9, 8, 1.0, 4, 0.1, 0.1, seed=0)
    torch.manual_seed(0)
    model = GCN(d.x.shape[1], 16, 3)
    g = Graph.from_edge_index(d.edge_index, num_nodes=600)
    res = train_node_classifier(
        model, d.x, g, d.y, d.train_mask, d.val_mask, epochs=150, patience=30, seed=0
    )
    assert node_accuracy(model, d.x, g, d.y, d.test_mask) > 0.9
    # the restored weights are the best epoch's
    assert node_accuracy(model, d.x, g, d.y, d.val_mask) == res.best_val_accuracy
    assert res.best_val_accuracy == max(res.val_accuracy)
    assert res.epochs_run == len(res.train_loss) == len(res.val_accuracy)
    assert res.epochs_run <= 150 and res.epochs_run - 1 - res.best_epoch <= 30
    assert res.train_loss[-1] < res.train_loss[0]
    assert not model.training
    # the same seeds give the same run
    torch.manual_seed(0)
    again = GCN(d.x.shape[1], 16, 3)
    res2 = train_node_classifier(
        again, d.x, g, d.y, d.train_mask, d.val_mask, epochs=150, patience=30, seed=0
    )
    assert res2.val_accuracy == res.val_accuracy


def test_early_stopping_and_no_validation():
    d = contextual_sbm(200, 2, 8.0, 0.9, 4, 1.0, 0, 0.2, 0.2, seed=1)
    torch.manual_seed(0)
    model = GCN(4, 8, 2)
    res = train_node_classifier(
        model, d.x, d.edge_index, d.y, d.train_mask, d.val_mask, epochs=500, patience=3
    )
    assert res.epochs_run < 500
    res = train_node_classifier(model, d.x, d.edge_index, d.y, d.train_mask, epochs=7)
    assert res.epochs_run == 7 and res.best_epoch == 6 and np.isnan(res.best_val_accuracy)


def test_bad_input():
    x = np.random.default_rng(0).standard_normal((5, 3))
    y = np.array([0, 1, 0, 1, 0])
    m = np.array([1, 1, 0, 0, 0], dtype=bool)
    model = GCN(3, 4, 2)
    with pytest.raises(ValueError, match="NaN"):
        train_node_classifier(model, np.where(x > 1, np.nan, x), EDGES, y, m, ~m)
    with pytest.raises(ValueError, match="boolean"):
        train_node_classifier(model, x, EDGES, y, m.astype(int), ~m)
    with pytest.raises(ValueError, match=r"shape \(5,\)"):
        train_node_classifier(model, x, EDGES, y, m[:4], ~m)
    with pytest.raises(ValueError, match="selects no node"):
        train_node_classifier(model, x, EDGES, y, np.zeros(5, dtype=bool), ~m)
    with pytest.raises(ValueError, match=r"in \[0, 2\)"):
        train_node_classifier(model, x, EDGES, y + 1, m, ~m)
    with pytest.raises(ValueError, match="integer labels"):
        train_node_classifier(model, x, EDGES, y.astype(float), m, ~m)
    with pytest.raises(ValueError, match=r"in \[0, num_nodes = 3\)"):
        model(torch.zeros(3, 3), EDGES)
    with pytest.raises(ValueError, match=r"shape \(n, 3\)"):
        model(torch.zeros(5, 2), EDGES)
    with pytest.raises(ValueError, match="expected num_nodes"):
        gcn_adjacency(Graph.from_edge_index(EDGES, num_nodes=5), 6)
    with pytest.raises(ValueError, match=r"\(4, 4\)"):
        model.prepare_graph(gcn_adjacency(EDGES, 5), 4)
    with pytest.raises(ValueError, match="dropout"):
        GCN(3, 4, 2, dropout=1.0)
    with pytest.raises(ValueError, match="layers"):
        GCN(3, 4, 2, layers=0)
