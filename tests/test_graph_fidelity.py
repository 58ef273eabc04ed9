"""Robust fidelity (sciml.graph.fidelity) and the BA-shapes generator (sciml.data.ba_shapes).

A plain-loop Monte-Carlo reference agrees with robust_fidelity within 0.01 at 2,000 samples
on a tiny GCN, and an exact enumeration of Fid+ agrees with both; hand-checkable models
(one ignoring edges: every fidelity 0; one reading only the explanation edges: Fid− = 0 and
Fid+ = 1 − (1 − α1)^K; one telling an edge's two directions apart: the undirected pairing);
α1 = 1, α2 = 0 gives the plain fidelity; batching, subgraphs and torch/numpy inputs do not
change results; the explainers (weighted-GCN adapter, saliency, GNNExplainer); bad input.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from torch import nn

from sciml.data.ba_shapes import ba_shapes, barabasi_albert_edges
from sciml.graph.fidelity import (
    KEYS,
    EdgeWeightGCN,
    edge_groups,
    gnnexplainer_explanation,
    plain_fidelity,
    robust_fidelity,
    saliency_explanation,
    top_k_edges,
)
from sciml.graph.gnn import GCN

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def tiny_graph(seed: int = 0, n: int = 9, p: float = 0.35):
    """A random undirected graph (both directions), features, labels, explanation."""
    rng = np.random.default_rng(seed)
    pairs = [(i, j) for i in range(n) for j in range(i + 1, n) if rng.random() < p]
    und = np.array(pairs, dtype=np.int64).T
    ei = np.hstack([und, und[::-1]])
    x = rng.standard_normal((n, 4)).astype(np.float32)
    y = rng.integers(0, 3, n)
    expl_und = rng.random(und.shape[1]) < 0.3
    mask = np.concatenate([expl_und, expl_und])
    return ei, x, y, mask


def tiny_model(seed: int = 0) -> EdgeWeightGCN:
    torch.manual_seed(seed)
    gcn = GCN(4, 8, 3, layers=2, dropout=0.0)
    with torch.no_grad():
        for p in gcn.parameters():
            p.mul_(3.0)  # sharper outputs: edges matter more
    return EdgeWeightGCN(gcn).eval()


def reference_fidelity(model, x, ei, y, targets, mask, alpha1, alpha2, samples, seed):
    """Straightforward Monte Carlo: loops over targets, samples and undirected edges."""
    rng = np.random.default_rng(seed)
    xt = torch.as_tensor(x)
    pairs: dict[tuple[int, int], list[int]] = {}
    for col in range(ei.shape[1]):
        u, v = int(ei[0, col]), int(ei[1, col])
        pairs.setdefault((min(u, v), max(u, v)), []).append(col)
    expl = {pair: bool(mask[cols[0]]) for pair, cols in pairs.items()}

    def probs(columns: list[int], node: int) -> np.ndarray:
        sub = torch.as_tensor(ei[:, sorted(columns)], dtype=torch.int64).reshape(2, -1)
        with torch.no_grad():
            return torch.softmax(model(sub, xt)[node].double(), 0).numpy()

    out = {k: [] for k in KEYS}
    for t in targets:
        p0 = probs(list(range(ei.shape[1])), t)
        label = y[t]
        sums = {"plus": [0.0, 0.0], "minus": [0.0, 0.0]}
        for _ in range(samples):
            for kind in ("plus", "minus"):
                kept = []
                for pair, cols in pairs.items():
                    if kind == "plus":
                        drop = expl[pair] and rng.random() < alpha1
                    else:
                        drop = (not expl[pair]) and rng.random() >= alpha2
                    if not drop:
                        kept.extend(cols)
                p = probs(kept, t)
                sums[kind][0] += p[label]
                sums[kind][1] += float(np.argmax(p) == label)
        hit0 = float(np.argmax(p0) == label)
        for kind in ("plus", "minus"):
            out[f"fid_{kind}"].append(p0[label] - sums[kind][0] / samples)
            out[f"fid_{kind}_acc"].append(hit0 - sums[kind][1] / samples)
    res = {k: float(np.mean(v)) for k, v in out.items() if v}
    res["fid_delta"] = res["fid_plus"] - res["fid_minus"]
    res["fid_delta_acc"] = res["fid_plus_acc"] - res["fid_minus_acc"]
    return res


def test_agrees_with_monte_carlo_reference_at_2000_samples():
    ei, x, y, mask = tiny_graph(6, p=0.5)
    model = tiny_model(2)
    targets = [0, 2, 4]
    data = {"x": x, "edge_index": ei, "y": y, "index": np.array(targets)}
    ours = robust_fidelity(model, data, mask, samples=2000, seed=0, alpha1=0.3, alpha2=0.7)
    ref = reference_fidelity(model, x, ei, y, targets, mask, 0.3, 0.7, 2000, seed=123)
    for k in KEYS:
        assert abs(ours[k] - ref[k]) < 0.01, (k, ours[k], ref[k])
    # not a trivially zero case
    assert abs(ours["fid_minus"]) > 0.05 and abs(ours["fid_delta_acc"]) > 0.1

    # exact Fid+ by enumerating the subsets of removed explanation edges
    groups = edge_groups(ei)
    units = np.unique(groups[mask])
    xt = torch.as_tensor(x)
    exact = []
    for t in targets:
        with torch.no_grad():
            p0 = torch.softmax(model(torch.as_tensor(ei), xt)[t].double(), 0).numpy()
        expected = 0.0
        for removed in itertools.product([False, True], repeat=units.size):
            prob = np.prod([0.3 if r else 0.7 for r in removed])
            gone = units[np.array(removed, dtype=bool)]
            keep = ~np.isin(groups, gone)
            with torch.no_grad():
                p = torch.softmax(model(torch.as_tensor(ei[:, keep]), xt)[t].double(), 0)
            expected += prob * float(p[y[t]])
        exact.append(p0[y[t]] - expected)
    assert abs(ours["fid_plus"] - np.mean(exact)) < 0.01
    assert abs(ref["fid_plus"] - np.mean(exact)) < 0.01


class IgnoresEdges(nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.lin = nn.Linear(4, 3)

    def forward(self, edge_index, x, edge_weight=None):
        return self.lin(x)


def test_model_ignoring_edges_has_zero_fidelity():
    ei, x, y, mask = tiny_graph(2)
    data = {"x": x, "edge_index": ei, "y": y, "index": np.arange(9)}
    res = robust_fidelity(IgnoresEdges(), data, mask, samples=20, seed=0)
    for k in KEYS:
        assert res[k] == 0.0
        assert res["plain"][k] == 0.0
    sal = saliency_explanation(IgnoresEdges(), data)
    assert np.all(sal == 0)


class ExplanationReader(nn.Module):
    """Class 1 at a node iff all its incoming explanation edges are present (weight 1)."""

    def __init__(self, expl_pairs: set[tuple[int, int]], n: int):
        super().__init__()
        self.pairs = expl_pairs
        self.full = np.zeros(n)
        for _, v in expl_pairs:
            self.full[v] += 1

    def forward(self, edge_index, x, edge_weight=None):
        ei = edge_index.numpy()
        w = torch.ones(ei.shape[1], dtype=x.dtype) if edge_weight is None else edge_weight
        n0 = self.full.size  # stacked copies: ids offset by multiples of n0
        is_expl = torch.tensor(
            [(int(a) % n0, int(b) % n0) in self.pairs for a, b in ei.T], dtype=x.dtype
        )
        n = x.shape[0]
        count = torch.zeros(n, dtype=x.dtype).index_add(0, edge_index[1], w * is_expl)
        full = torch.as_tensor(np.tile(self.full, n // self.full.size), dtype=x.dtype)
        score = 10.0 * (count - full + 0.5)
        return torch.stack([torch.zeros_like(score), score], dim=1)


def test_model_reading_only_the_explanation():
    ei, x, _, mask = tiny_graph(3)
    n = x.shape[0]
    pairs = {(int(a), int(b)) for a, b in ei[:, mask].T}
    model = ExplanationReader(pairs, n)
    k_in = np.bincount(ei[1, mask], minlength=n)
    targets = np.nonzero(k_in >= 2)[0]
    assert targets.size
    y = np.ones(n, dtype=np.int64)
    data = {"x": x, "edge_index": ei, "y": y, "index": targets}
    res = robust_fidelity(model, data, mask, alpha1=0.2, samples=2000, seed=1)
    assert abs(res["fid_minus"]) < 1e-12 and res["fid_minus_acc"] == 0.0
    expected = np.mean(1 - 0.8 ** k_in[targets])  # any incoming explanation edge removed
    se = np.sqrt(0.25 / 2000 / targets.size)
    assert abs(res["fid_plus_acc"] - expected) < 4 * se
    plain = res["plain"]
    assert plain["fid_plus_acc"] == 1.0 and plain["fid_minus_acc"] == 0.0
    # alpha1 = 1, alpha2 = 0: the plain fidelity, exactly
    full = robust_fidelity(model, data, mask, alpha1=1.0, alpha2=0.0, samples=3, seed=0)
    for k in KEYS:
        assert full[k] == pytest.approx(plain[k], abs=1e-12)
    # alpha1 = 0, alpha2 = 1: nothing removed
    none = robust_fidelity(model, data, mask, alpha1=0.0, alpha2=1.0, samples=3, seed=0)
    assert all(abs(none[k]) < 1e-12 for k in KEYS)
    # GNNExplainer recovers the explanation edges of the targets (a size penalty strong
    # enough for this tiny graph: the entropy term alone pushes unused edges up from 0.73)
    masks = gnnexplainer_explanation(model, data, epochs=200, lr=0.1, size_coef=0.2, seed=0)
    for row, t in zip(masks, targets, strict=True):
        incoming = mask & (ei[1] == t)
        assert row[incoming].min() > 0.5
        assert row[~mask].max() < 0.5


class DirectionDetector(nn.Module):
    """Class 0 at node 0 when exactly one direction of edge {0, 1} is present, else 1."""

    def forward(self, edge_index, x, edge_weight=None):
        ei = edge_index.numpy()
        n = x.shape[0]
        copies = n // 2
        logits = torch.zeros(n, 2, dtype=x.dtype)
        for c in range(copies):
            a, b = 2 * c, 2 * c + 1
            fwd = bool(np.any((ei[0] == a) & (ei[1] == b)))
            bwd = bool(np.any((ei[0] == b) & (ei[1] == a)))
            logits[a, 1] = 0.0 if fwd != bwd else 5.0
        return logits


def test_two_directions_dropped_together():
    ei = np.array([[0, 1], [1, 0]])
    data = {"x": np.zeros((2, 1)), "edge_index": ei, "y": np.array([1, 1]), "index": 0}
    mask = np.array([True, True])
    together = robust_fidelity(DirectionDetector(), data, mask, alpha1=0.5, samples=400, seed=0)
    assert together["fid_plus_acc"] == 0.0
    apart = robust_fidelity(
        DirectionDetector(), data, mask, alpha1=0.5, samples=4000, seed=0, undirected=False
    )
    assert abs(apart["fid_plus_acc"] - 0.5) < 0.04  # P(exactly one of two removed)


def test_batching_subgraphs_and_input_types_do_not_change_results():
    d = ba_shapes(n_base=40, n_houses=6, m=2, seed=3)
    model = tiny_gcn_ba()
    idx = np.nonzero(d.y > 0)[0][:8]
    data = {"x": d.x, "edge_index": d.edge_index, "y": d.y, "index": idx}
    a = robust_fidelity(model, data, d.edge_mask, samples=30, seed=5)
    b = robust_fidelity(model, data, d.edge_mask, samples=30, seed=5, max_batch_nodes=100)
    tdata = {k: torch.as_tensor(v) for k, v in data.items()}
    c = robust_fidelity(model, tdata, torch.as_tensor(d.edge_mask), samples=30, seed=5)
    for k in KEYS:
        assert a[k] == pytest.approx(b[k], abs=1e-9)
        assert a[k] == pytest.approx(c[k], abs=1e-9)
    # a 2-layer GCN depends only on the 3-hop subgraph: plain fidelity identical
    p_full = plain_fidelity(model, data, d.edge_mask)
    p_hops = plain_fidelity(model, data, d.edge_mask, num_hops=3)
    for k in KEYS:
        assert p_full[k] == pytest.approx(p_hops[k], abs=1e-6)
    s_full = saliency_explanation(model, data)
    s_hops = saliency_explanation(model, data, num_hops=3, max_batch_nodes=50)
    np.testing.assert_allclose(s_full, s_hops, atol=1e-6)
    # per-target masks: one row per target
    rows = np.stack([d.motif_edge_mask(d.motif[t]) for t in idx])
    r = robust_fidelity(model, data, rows, samples=10, seed=0)
    assert r["per_node"]["fid_plus"].shape == (idx.size,)


def tiny_gcn_ba() -> EdgeWeightGCN:
    torch.manual_seed(0)
    return EdgeWeightGCN(GCN(10, 8, 4, layers=2, dropout=0.0)).eval()


def test_edge_weight_gcn_matches_gcn_and_gradients():
    ei, x, _, _ = tiny_graph(4)
    torch.manual_seed(0)
    gcn = GCN(4, 6, 3, layers=3, dropout=0.0).eval()
    model = EdgeWeightGCN(gcn)
    xt = torch.as_tensor(x)
    with torch.no_grad():
        torch.testing.assert_close(model(torch.as_tensor(ei), xt), gcn(xt, ei))
    gcn64 = GCN(4, 6, 3, layers=2, dropout=0.0).double().eval()
    m64 = EdgeWeightGCN(gcn64)
    w = torch.rand(ei.shape[1], dtype=torch.float64, requires_grad=True)
    eit = torch.as_tensor(ei)
    assert torch.autograd.gradcheck(lambda w: m64(eit, xt.double(), edge_weight=w), (w,))
    # zero weight = edge removed
    w0 = torch.ones(ei.shape[1], dtype=torch.float64)
    w0[0] = 0.0
    with torch.no_grad():
        torch.testing.assert_close(
            m64(eit, xt.double(), edge_weight=w0), m64(eit[:, 1:], xt.double())
        )


def test_saliency_is_zero_outside_the_receptive_field_and_top_k():
    d = ba_shapes(n_base=40, n_houses=6, m=2, seed=3)
    model = tiny_gcn_ba()
    t = int(np.nonzero(d.y == 3)[0][0])
    data = {"x": d.x, "edge_index": d.edge_index, "y": d.y, "index": t}
    s = saliency_explanation(model, data)[0]
    # a 2-layer GCN: edges with both ends more than 2 hops away have no effect
    a = np.zeros((d.num_nodes, d.num_nodes), bool)
    a[d.edge_index[0], d.edge_index[1]] = True
    dist = np.full(d.num_nodes, 99)
    dist[t] = 0
    for h in range(1, 4):
        dist[(a[dist == h - 1].any(0)) & (dist == 99)] = h
    far = (dist[d.edge_index[0]] > 2) & (dist[d.edge_index[1]] > 2)
    assert np.all(s[far] == 0) and s[~far].max() > 0
    # symmetric over the two directions
    g = edge_groups(d.edge_index)
    for u in np.unique(g)[:20]:
        assert np.ptp(s[g == u]) == 0
    k = top_k_edges(s, d.edge_index, 4)
    assert k.sum() == 8 and np.all(np.isin(g[k], g[k]))
    chosen = np.unique(g[k])
    assert chosen.size == 4 and s[k].min() >= s[~k].max()


def test_ba_shapes_properties():
    d = ba_shapes(seed=0)
    n = 300 + 5 * 80
    assert d.num_nodes == n and d.x.shape == (n, 10)
    assert np.bincount(d.y).tolist() == [300, 160, 160, 80]
    ei = d.edge_index
    e = ei.shape[1] // 2
    np.testing.assert_array_equal(ei[:, e:], ei[::-1, :e])  # both directions
    assert np.all(ei[0, :e] < ei[1, :e])  # no self-loops
    assert np.unique(ei[0] * n + ei[1]).size == ei.shape[1]  # no duplicates
    base_edges = 5 * (300 - 5)
    assert e == base_edges + 6 * 80 + 80 + round(0.1 * base_edges)
    assert d.edge_mask.sum() == 2 * 6 * 80
    np.testing.assert_array_equal(d.edge_mask[:e], d.edge_mask[e:])
    # every house: 6 internal edges, the roles' degrees inside it 3, 3, 2, 2, 2
    src, dst = ei[:, d.edge_mask]
    assert np.all(d.motif[src] == d.motif[dst]) and np.all(d.motif[src] >= 0)
    for h in (0, 41, 79):
        m = d.motif_edge_mask(h)
        assert m.sum() == 12
        nodes = 300 + 5 * h + np.arange(5)
        deg = np.bincount(ei[0, m] - nodes[0], minlength=5)
        assert deg.tolist() == [3, 3, 2, 2, 2]
        assert d.y[nodes].tolist() == [1, 1, 2, 2, 3]
        # node 0 of the house has one edge to the base graph
        out = ei[1, (ei[0] == nodes[0]) & ~d.edge_mask]
        assert np.any(out < 300)
    assert not (d.train_mask & d.val_mask).any() and (d.train_mask | d.val_mask | d.test_mask).all()
    again = ba_shapes(seed=0)
    np.testing.assert_array_equal(again.edge_index, d.edge_index)
    assert not np.array_equal(ba_shapes(seed=1).edge_index, d.edge_index)
    r = ba_shapes(n_base=50, n_houses=4, random_edge_fraction=0.0, features="random", seed=0)
    assert r.edge_index.shape[1] == 2 * (5 * 45 + 6 * 4 + 4) and r.x.std() > 0.5
    ba = barabasi_albert_edges(100, 3, np.random.default_rng(0))
    deg = np.bincount(ba.ravel(), minlength=100)
    assert ba.shape == (2, 3 * 97) and deg.min() >= 3 and deg.max() > 15  # hubs


def test_bad_input():
    ei, x, y, mask = tiny_graph(5)
    model = tiny_model(0)
    data = {"x": x, "edge_index": ei, "y": y, "index": np.array([0, 1])}
    with pytest.raises(ValueError, match="shape"):
        robust_fidelity(model, data, mask[:-1])
    with pytest.raises(ValueError, match="empty explanation"):
        robust_fidelity(model, data, np.zeros_like(mask))
    with pytest.raises(ValueError, match="boolean"):
        robust_fidelity(model, data, mask * 0.7)
    half = mask.copy()
    half[np.nonzero(mask)[0][0]] = False
    with pytest.raises(ValueError, match="both directions"):
        robust_fidelity(model, data, half)
    bad = dict(data, edge_index=np.hstack([ei, [[0], [99]]]))
    with pytest.raises(ValueError, match="edge_index ids"):
        robust_fidelity(model, bad, np.concatenate([mask, [False]]))
    with pytest.raises(ValueError, match="index ids"):
        robust_fidelity(model, dict(data, index=np.array([0, 50])), mask)
    with pytest.raises(ValueError, match="index selects no"):
        robust_fidelity(model, dict(data, index=np.array([], dtype=int)), mask)
    xn = x.copy()
    xn[2, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        robust_fidelity(model, dict(data, x=xn), mask)
    with pytest.raises(ValueError, match="alpha1"):
        robust_fidelity(model, data, mask, alpha1=1.5)
    with pytest.raises(ValueError, match="no 'y'"):
        robust_fidelity(model, {k: v for k, v in data.items() if k != "y"}, mask)
    with pytest.raises(ValueError, match="target"):
        plain_fidelity(model, data, mask, target="nope")
    with pytest.raises(ValueError, match="shape"):
        top_k_edges(np.ones(3), ei, 2)
    with pytest.raises(ValueError, match="random_edge_fraction"):
        ba_shapes(random_edge_fraction=-1)
    with pytest.raises(ValueError, match="features"):
        ba_shapes(features="onehot")
