"""GCN, GraphSAGE, GIN and GAT: GCN's propagation matrix, every layer against dense formulas
(float64) and against PyTorch Geometric's layers with the same weights (where torch_geometric
is installed), gradcheck, the segment softmax, the graph input forms; neighbour sampling
(all neighbours: the full-batch outputs; sampled sums unbiased; one batch of every training
node trains as full batch); training every model full batch and in mini-batches on an easy
block model with early stopping and restored weights; bad input."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from sciml.data.graphs import contextual_sbm
from sciml.graph import Graph
from sciml.graph.gnn import (
    GAT,
    GCN,
    GIN,
    GATConv,
    GCNConv,
    GINConv,
    GraphSAGE,
    NeighborSampler,
    SAGEConv,
    gcn_adjacency,
    minibatch_logits,
    node_accuracy,
    segment_softmax,
    train_node_classifier,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")


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


# --- GraphSAGE, GIN, GAT; mini-batches ---------------------------------------------------------


def _random_edges(n: int, e: int, seed: int, self_loops: bool = True) -> np.ndarray:
    """A random directed multigraph (repeated edges likely; self-loops unless excluded)."""
    rng = np.random.default_rng(seed)
    ei = rng.integers(0, n, size=(2, e))
    if not self_loops:
        ei = ei[:, ei[0] != ei[1]]
    return ei


def _counts(ei: np.ndarray, n: int) -> np.ndarray:
    """C[j, i]: how many times the edge j -> i occurs."""
    c = np.zeros((n, n))
    np.add.at(c, (ei[0], ei[1]), 1.0)
    return c


def _dense_sage(conv: SAGEConv, x: torch.Tensor, c: np.ndarray) -> torch.Tensor:
    ct = torch.from_numpy(c.T)
    deg = ct.sum(1, keepdim=True)
    mean = torch.where(deg > 0, ct @ x / deg.clamp(min=1), 0.0)
    lin = conv.lin_neighbors
    return mean @ lin.weight.T + lin.bias + x @ conv.lin_root.weight.T


def _dense_gin(conv: GINConv, x: torch.Tensor, c: np.ndarray) -> torch.Tensor:
    return conv.mlp((1 + conv.eps) * x + torch.from_numpy(c.T) @ x)


def _dense_gat(conv: GATConv, x: torch.Tensor, c: np.ndarray) -> torch.Tensor:
    n, heads, d = x.shape[0], conv.heads, conv.out_dim
    k = c.T.copy()  # k[i, j]: multiplicity of j -> i; self-loops replaced by one
    np.fill_diagonal(k, 1.0)
    k = torch.from_numpy(k)
    h = (x @ conv.linear.weight.T).view(n, heads, d)
    s_src = (h * conv.att_src).sum(-1)  # (n, heads)
    s_dst = (h * conv.att_dst).sum(-1)
    out = []
    for a in range(heads):
        e = torch.nn.functional.leaky_relu(s_dst[:, a, None] + s_src[None, :, a], 0.2)
        w = k * torch.exp(e - e.max())
        out.append((w / w.sum(1, keepdim=True)) @ h[:, a])
    o = torch.stack(out, 1)
    o = o.reshape(n, heads * d) if conv.concat else o.mean(1)
    return o + conv.bias


def _layer(name: str, in_dim: int = 5) -> torch.nn.Module:
    torch.manual_seed(3)
    layer = {
        "gcn": lambda: GCNConv(in_dim, 4),
        "sage": lambda: SAGEConv(in_dim, 4),
        "sage_wide": lambda: SAGEConv(in_dim, 9),  # aggregation before the linear map
        "gin": lambda: GINConv(in_dim, 4, hidden=6, eps=0.25, train_eps=True),
        "gat": lambda: GATConv(in_dim, 3, heads=4),
        "gat_mean": lambda: GATConv(in_dim, 3, heads=2, concat=False),
    }[name]().double()
    with torch.no_grad():
        for p in layer.parameters():  # non-zero biases
            if p.ndim == 1:
                p.normal_()
    return layer.eval()


@pytest.mark.parametrize("name", ["sage", "sage_wide", "gin", "gat", "gat_mean"])
def test_layers_match_dense_formulas_float64(name):
    n = 12
    ei = _random_edges(n, 50, seed=4)  # repeated edges, self-loops, isolated nodes likely
    layer = _layer(name)
    x = torch.randn(n, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    dense = {"sage": _dense_sage, "sage_wide": _dense_sage, "gin": _dense_gin}.get(name, _dense_gat)
    ref = dense(layer, x, _counts(ei, n))
    torch.testing.assert_close(layer(x, ei), ref, rtol=1e-12, atol=1e-12)
    # a Graph with the repeats as weights gives the same, and so does the prepared graph
    g = Graph.from_edge_index(ei, num_nodes=n)
    torch.testing.assert_close(layer(x, g), ref, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(layer(x, layer.prepare_graph(g, n)), ref, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", ["gcn", "sage", "sage_wide", "gin", "gat", "gat_mean"])
def test_layers_match_pytorch_geometric(name):
    pyg = pytest.importorskip("torch_geometric.nn")
    n = 40
    # PyG's GCN adds a self-loop only where none is; here every node gets one: no self-loops
    ei = torch.from_numpy(_random_edges(n, 200, seed=5, self_loops=name != "gcn"))
    layer = _layer(name)
    x = torch.randn(n, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        if name == "gcn":
            ref = pyg.GCNConv(5, 4).double()
            ref.lin.weight.copy_(layer.linear.weight)
            ref.bias.copy_(layer.bias)
        elif name.startswith("sage"):
            ref = pyg.SAGEConv(5, layer.lin_root.out_features).double()
            ref.lin_l.weight.copy_(layer.lin_neighbors.weight)
            ref.lin_l.bias.copy_(layer.lin_neighbors.bias)
            ref.lin_r.weight.copy_(layer.lin_root.weight)
        elif name == "gin":
            ref = pyg.GINConv(layer.mlp, eps=0.25, train_eps=True).double()
        else:
            ref = pyg.GATConv(5, 3, heads=layer.heads, concat=layer.concat).double()
            ref.lin.weight.copy_(layer.linear.weight)
            ref.att_src.copy_(layer.att_src)
            ref.att_dst.copy_(layer.att_dst)
            ref.bias.copy_(layer.bias)
    torch.testing.assert_close(layer(x, ei), ref.eval()(x, ei), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", ["gcn", "sage", "sage_wide", "gin", "gat", "gat_mean"])
def test_layer_gradcheck(name):
    from torch.func import functional_call

    layer = _layer(name, in_dim=3)
    ei = _random_edges(6, 16, seed=6)
    op = layer.prepare_graph(ei, 6)
    names = [k for k, _ in layer.named_parameters()]
    params = [p.detach().clone().requires_grad_() for _, p in layer.named_parameters()]
    x = torch.randn(6, 3, dtype=torch.float64, requires_grad=True)

    def f(x, *ps):
        return functional_call(layer, dict(zip(names, ps, strict=True)), (x, op))

    assert torch.autograd.gradcheck(f, (x, *params))


def test_segment_softmax_is_stable_and_weighted():
    scores = torch.tensor([[1000.0, -3.0], [999.0, -1.0], [5.0, 2.0], [-800.0, 0.0]])
    index = torch.tensor([0, 0, 2, 2])
    weight = torch.tensor([1.0, 2.0, 1.0, 3.0])
    out = segment_softmax(scores, index, 3, weight)
    assert torch.isfinite(out).all()
    torch.testing.assert_close(out[:2].sum(0), torch.ones(2))
    s = scores[:2, 0].double()
    expect = torch.tensor([1.0, 2.0]).double() * torch.exp(s - s.max())
    torch.testing.assert_close(out[:2, 0].double(), expect / expect.sum(), rtol=1e-6, atol=0)
    assert out[2, 0] == 1.0 and out[3, 0] == 0.0  # exp(-805) underflows to exactly 0


def test_gat_self_loops_replaced_and_attention_normalised():
    layer = _layer("gat")
    x = torch.randn(12, 5, dtype=torch.float64)
    ei = _random_edges(12, 50, seed=7, self_loops=False)
    loops = np.vstack([np.arange(12)] * 2)
    with_loops = np.hstack([ei, loops, loops[:, :3]])
    torch.testing.assert_close(layer(x, with_loops), layer(x, ei), rtol=1e-12, atol=1e-12)
    op = layer.prepare_graph(ei, 12)
    layer(x, op)
    sums = torch.zeros(12, layer.heads, dtype=torch.float64).index_add(0, op.dst, layer.attention)
    torch.testing.assert_close(sums, torch.ones_like(sums))


MODELS = {
    "gcn": lambda f, c, layers=2, **kw: GCN(f, 16, c, layers=layers, **kw),
    "sage": lambda f, c, layers=2, **kw: GraphSAGE(f, 16, c, layers=layers, **kw),
    "gin": lambda f, c, layers=2, **kw: GIN(f, 16, c, layers=layers, train_eps=True, **kw),
    "gat": lambda f, c, layers=2, **kw: GAT(f, 4, c, layers=layers, heads=4, **kw),
}


@pytest.mark.parametrize("name", list(MODELS))
def test_minibatch_with_all_neighbours_equals_full_batch(name):
    n = 150
    ei = _random_edges(n, 700, seed=8)
    g = Graph.from_edge_index(ei, num_nodes=n)
    max_degree = int(np.diff(g.csc.indptr).max())
    torch.manual_seed(0)
    model = MODELS[name](6, 3, layers=3).double().eval()
    x = torch.randn(n, 6, dtype=torch.float64)
    full = model(x, g)
    seeds = np.array([7, 0, 149, 42, 43, 88])
    for fanouts in ([max_degree] * 3, [-1, max_degree, -1]):
        blocks = NeighborSampler(g, fanouts, seed=1).sample(seeds)
        assert len(blocks) == 3 and blocks[-1].n_dst == seeds.size
        np.testing.assert_array_equal(blocks[-1].nodes[: seeds.size].numpy(), seeds)
        for lower, upper in itertools.pairwise(blocks):
            assert torch.equal(lower.nodes[: lower.n_dst], upper.nodes)
        out = model(x[blocks[0].nodes], blocks)
        torch.testing.assert_close(out, full[seeds], rtol=1e-12, atol=1e-12)
    # a sampled neighbourhood differs, is seeded, and keeps at most the fan-out per node
    sampler = NeighborSampler(g, [2, 2, 2], seed=3)
    blocks = sampler.sample(seeds)
    again = NeighborSampler(g, [2, 2, 2], seed=3).sample(seeds)
    for a, b in zip(blocks, again, strict=True):
        assert torch.equal(a.nodes, b.nodes) and torch.equal(a.src, b.src)
        assert torch.bincount(a.dst, minlength=a.n_dst).max() <= 2
    assert not torch.allclose(model(x[blocks[0].nodes], blocks), full[seeds])


def test_sampled_sums_are_unbiased():
    # a one-layer GIN without MLP is (1 + eps) x_i + sum_j x_j; the sampled sum is rescaled
    n = 30
    ei = _random_edges(n, 300, seed=9)
    g = Graph.from_edge_index(ei, num_nodes=n)
    layer = GINConv(2, 2, mlp=torch.nn.Identity()).double()
    x = torch.randn(n, 2, dtype=torch.float64)
    full = layer(x, g)
    sampler = NeighborSampler(g, [3], seed=0)
    seeds = np.arange(n)
    draws = torch.stack(
        [layer(x[b.nodes], b) for b in (sampler.sample(seeds)[0] for _ in range(400))]
    )
    err = (draws.mean(0) - full).abs() / (draws.std(0) / 20 + 1e-12)
    assert err.max() < 5  # within 5 standard errors everywhere


def test_minibatch_training_with_one_batch_equals_full_batch():
    d = contextual_sbm(300, 3, 6.0, 0.8, 6, 1.0, 0, 0.1, 0.1, seed=2)
    g = Graph.from_edge_index(d.edge_index, num_nodes=300)
    results = []
    for batch_size in (None, 1000):
        torch.manual_seed(0)
        model = GraphSAGE(6, 8, 3, dropout=0.0).double()
        res = train_node_classifier(
            model, d.x, g, d.y, d.train_mask, d.val_mask, epochs=20, batch_size=batch_size
        )
        results.append((res, model(torch.from_numpy(d.x), g)))
    (a, out_a), (b, out_b) = results
    np.testing.assert_allclose(a.train_loss, b.train_loss, rtol=1e-10)
    assert a.val_accuracy == b.val_accuracy
    torch.testing.assert_close(out_a, out_b, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("name", list(MODELS))
def test_models_train_full_batch_and_minibatch(name):
    d = contextual_sbm(600, 3, 10.0, 0.9, 8, 1.0, 4, 0.1, 0.1, seed=0)
    g = Graph.from_edge_index(d.edge_index, num_nodes=600)
    for kwargs in ({}, {"batch_size": 32, "fanouts": [5, 5]}):
        torch.manual_seed(0)
        model = MODELS[name](d.x.shape[1], 3)
        res = train_node_classifier(
            model, d.x, g, d.y, d.train_mask, d.val_mask, epochs=60, patience=20, **kwargs
        )
        assert res.train_loss[-1] < res.train_loss[0]
        assert node_accuracy(model, d.x, g, d.y, d.test_mask) > 0.85, kwargs
    # the mini-batch path is reproducible
    torch.manual_seed(0)
    again = MODELS[name](d.x.shape[1], 3)
    res2 = train_node_classifier(
        again, d.x, g, d.y, d.train_mask, d.val_mask, epochs=60, patience=20, **kwargs
    )
    assert res2.train_loss == res.train_loss
    acc = node_accuracy(again, d.x, g, d.y, d.test_mask, batch_size=100, fanouts=[5, 5])
    assert acc > 0.8
    logits = minibatch_logits(again, d.x, g, np.array([3, 1]), batch_size=1)
    torch.testing.assert_close(logits, again(torch.from_numpy(d.x).float(), g)[[3, 1]])


@pytest.mark.parametrize("name", list(MODELS))
def test_models_bad_input(name):
    model = MODELS[name](3, 2)
    x = torch.randn(5, 3)
    with pytest.raises(ValueError, match=r"in \[0, num_nodes = 5\)"):
        model(x, np.array([[0, 1], [1, 5]]))
    with pytest.raises(ValueError, match=r"in \[0, num_nodes = 5\)"):
        model(x, np.array([[0, -1], [1, 2]]))
    with pytest.raises(TypeError, match="integers"):
        model(x, EDGES.astype(float))
    with pytest.raises(ValueError, match="NaN"):
        model(torch.where(x == x[2, 1], torch.nan, x), EDGES)
    with pytest.raises(ValueError, match="expected num_nodes = 4"):
        model(x[:4], Graph.from_edge_index(EDGES, num_nodes=5))
    with pytest.raises(ValueError, match=r"shape \(n, 3\)"):
        model(torch.randn(5, 4), EDGES)
    with pytest.raises(TypeError, match="floating"):
        model(torch.ones(5, 3, dtype=torch.int64), EDGES)
    with pytest.raises(TypeError, match="float64"):
        model(x.double(), EDGES)
    with pytest.raises(TypeError, match="torch tensor"):
        model(x.numpy(), EDGES)
    with pytest.raises(TypeError, match="graph must be"):
        model(x, "edges")
    blocks = NeighborSampler(EDGES, [-1, -1], num_nodes=5).sample([0, 2])
    with pytest.raises(ValueError, match="3 blocks for 2 layers"):
        model(x[blocks[0].nodes], [blocks[0], *blocks])
    with pytest.raises(ValueError, match="x has 5 rows"):
        model(x, blocks)
    y, m = np.zeros(5, dtype=int), np.array([True, True, False, False, False])
    with pytest.raises(ValueError, match="fanouts has 3 entries"):
        train_node_classifier(model, x, EDGES, y, m, batch_size=2, fanouts=[2, 2, 2])
    with pytest.raises(ValueError, match="need batch_size"):
        train_node_classifier(model, x, EDGES, y, m, fanouts=[2, 2])


def test_layer_and_sampler_bad_input():
    x = torch.randn(5, 3)
    sage, gin = SAGEConv(3, 2), GINConv(3, 2)
    with pytest.raises(ValueError, match="prepared for a sage layer"):
        gin(x, sage.prepare_graph(EDGES, 5))
    with pytest.raises(TypeError, match="GCN's"):
        sage(x, gcn_adjacency(EDGES, 5))
    with pytest.raises(ValueError, match="not a list"):
        sage(x, NeighborSampler(EDGES, [1, 1], num_nodes=5).sample([0]))
    with pytest.raises(ValueError, match=r"in \[0, num_nodes = 5\)"):
        GATConv(3, 2)(x, np.array([[0, 9], [1, 2]]))
    with pytest.raises(ValueError, match="heads"):
        GATConv(3, 2, heads=0)
    with pytest.raises(ValueError, match="attention_dropout"):
        GAT(3, 2, 2, attention_dropout=1.5)
    with pytest.raises(ValueError, match="fan-outs"):
        NeighborSampler(EDGES, [2, 0], num_nodes=5)
    with pytest.raises(TypeError, match="sequence"):
        NeighborSampler(EDGES, 2, num_nodes=5)
    with pytest.raises(ValueError, match="num_nodes is required"):
        NeighborSampler(EDGES, [2])
    sampler = NeighborSampler(EDGES, [2], num_nodes=5)
    with pytest.raises(ValueError, match="distinct"):
        sampler.sample([1, 1])
    with pytest.raises(ValueError, match=r"in \[0, 5\)"):
        sampler.sample([5])
    with pytest.raises(TypeError, match="integers"):
        sampler.sample([0.5])
    # a block of a layer: n_dst rows out
    block = sampler.sample([4, 2])[0]
    assert block.n_dst == 2 and block.nodes[:2].tolist() == [4, 2]
    assert sage(x[block.nodes], block).shape == (2, 2)
