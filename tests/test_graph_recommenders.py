"""LightGCN and SheafRec (networks against dense formulas, BPR sampling, training, ranking,
checkpoints, errors) and the differentiable edge product under SheafRec."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from sciml._checks import NotFittedError
from sciml.data import implicit_feedback, split_per_user
from sciml.graph import LightGCN, SheafRec, recall_at_k
from sciml.graph.bpr import NegativeSampler, bipartite_graph, rank_items
from sciml.graph.lightgcn import LightGCNNetwork
from sciml.graph.sheafrec import SheafLayer, SheafRecNetwork, reverse_edges
from sciml.graph.sparse_ops import EdgeProduct

# 3 users x 4 items: u0 {0, 1}, u1 {1, 2}, u2 {3}
TINY = sp.csr_array(np.array([[1, 1, 0, 0], [0, 1, 1, 0], [0, 0, 0, 1]], dtype=np.float64))
FAST = {"epochs": 3, "batch_size": 64, "progress": False, "validate_every": 1}


@pytest.fixture(scope="module")
def small_split():
    r = implicit_feedback(200, 120, 2400, n_communities=4, seed=1)
    return split_per_user(r, 0.2, seed=0)


def _dense_sym(graph) -> torch.Tensor:
    a = torch.from_numpy(graph.adjacency.toarray())
    d = a.sum(1)
    inv = torch.where(d > 0, d.rsqrt(), torch.zeros_like(d))
    return inv[:, None] * a * inv[None, :]


# --- the edge product ---------------------------------------------------------------------


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 6), m=st.integers(1, 6), e=st.integers(0, 15), seed=st.integers(0, 99))
def test_edge_product_matches_dense_and_gradcheck(n, m, e, seed):
    g = torch.Generator().manual_seed(seed)
    src = torch.randint(n, (e,), generator=g)
    dst = torch.randint(m, (e,), generator=g)
    w = torch.randn(e, generator=g, dtype=torch.float64, requires_grad=True)
    x = torch.randn(m, 3, generator=g, dtype=torch.float64, requires_grad=True)
    product = EdgeProduct(src, dst, n, m)
    dense = torch.zeros(n, m, dtype=torch.float64).index_put((src, dst), w, accumulate=True)
    torch.testing.assert_close(product(w, x), dense @ x, rtol=0, atol=1e-12)
    if e:
        assert torch.autograd.gradcheck(lambda w, x: product(w, x), (w, x))


def test_edge_product_errors():
    with pytest.raises(ValueError, match="must lie in"):
        EdgeProduct(torch.tensor([0, 3]), torch.tensor([0, 1]), 3)
    product = EdgeProduct(torch.tensor([0, 1]), torch.tensor([1, 0]), 2)
    with pytest.raises(ValueError, match="weight must be"):
        product(torch.ones(3), torch.ones(2, 1))
    with pytest.raises(ValueError, match="x must be"):
        product(torch.ones(2), torch.ones(3, 1))


# --- networks against dense formulas ------------------------------------------------------


def test_lightgcn_network_is_the_layer_mean_of_normalised_propagation():
    graph = bipartite_graph(TINY)
    torch.manual_seed(0)
    net = LightGCNNetwork(graph, dim=5, layers=3).double()
    net.set_graph(graph)
    a = _dense_sym(graph)
    e0 = net.embedding.detach()
    expected = (e0 + a @ e0 + a @ a @ e0 + a @ a @ a @ e0) / 4
    ego, out = net()
    torch.testing.assert_close(out.detach(), expected, rtol=0, atol=1e-12)
    assert ego is net.embedding


def test_bipartite_graph_layout():
    a = bipartite_graph(TINY).adjacency.toarray()
    assert a.shape == (7, 7)
    np.testing.assert_array_equal(a[:3, 3:], TINY.toarray())
    np.testing.assert_array_equal(a[3:, :3], TINY.toarray().T)
    assert not a[:3, :3].any() and not a[3:, 3:].any()


def test_reverse_edges_and_directed_refusal():
    a = bipartite_graph(TINY).adjacency
    rev = reverse_edges(a)
    src = np.repeat(np.arange(a.shape[0]), np.diff(a.indptr))
    np.testing.assert_array_equal(src[rev], a.indices)
    np.testing.assert_array_equal(a.indices[rev], src)
    with pytest.raises(ValueError, match="undirected"):
        reverse_edges(sp.csr_array(np.array([[0, 1.0], [0, 0]])))


def test_sheaf_layer_matches_the_dense_normalised_sheaf_laplacian():
    graph = bipartite_graph(TINY)
    torch.manual_seed(1)
    net = SheafRecNetwork(graph, dim=4, layers=1).double()
    net.set_graph(graph)
    layer: SheafLayer = net.layers[0]
    x = torch.randn(graph.num_nodes, 4, dtype=torch.float64)
    n = graph.num_nodes
    ws = layer.map_source.weight.detach()[0]
    wt = layer.map_target.weight.detach()[0]
    f = torch.zeros(n, n, dtype=torch.float64)  # F[i, j]: the map of edge i -> j
    adj = graph.adjacency.toarray() > 0
    for i in range(n):
        for j in range(n):
            if adj[i, j]:
                f[i, j] = torch.tanh(ws @ x[i] + wt @ x[j])
    degree = (f**2).sum(1)
    lap = torch.diag(degree) - f * f.T
    norm = (degree + 1).rsqrt()
    lap = norm[:, None] * lap * norm[None, :]
    expected = x - lap @ layer.linear(x).detach()
    out = layer(x, net.edges, net.product)
    torch.testing.assert_close(out.detach(), expected, rtol=0, atol=1e-12)
    # gradients reach the maps, the linear map and x
    x.requires_grad_(True)
    layer(x, net.edges, net.product).square().sum().backward()
    assert x.grad is not None and layer.map_source.weight.grad.abs().sum() > 0


# --- sampling -----------------------------------------------------------------------------


def test_negative_sampler_draws_seen_positives_and_unseen_negatives(small_split):
    train, _ = small_split
    sampler = NegativeSampler(train, batch_size=4096)
    users, pos, neg = sampler(torch.Generator().manual_seed(0))
    n = train.shape[0]
    dense = train.toarray() > 0
    u, p, q = users.numpy(), pos.numpy() - n, neg.numpy() - n
    assert dense[u, p].all() and not dense[u, q].any()
    again = sampler(torch.Generator().manual_seed(0))
    assert all(torch.equal(a, b) for a, b in zip(again, (users, pos, neg), strict=True))
    # a user who misses a single item always gets it as the negative
    dense_r = np.ones((3, 50))
    dense_r[0, 17] = 0
    dense_r[1:, 20:] = 0
    users, _, neg = NegativeSampler(sp.csr_array(dense_r), 256)(torch.Generator().manual_seed(1))
    assert (neg.numpy()[users.numpy() == 0] - 3 == 17).all()
    # users come uniformly from those with items
    assert set(np.unique(u)) <= set(np.flatnonzero(np.diff(train.indptr)))


# --- training and ranking -----------------------------------------------------------------


@pytest.mark.parametrize("cls", [LightGCN, SheafRec])
def test_fit_learns_beyond_random_and_ranks_unseen_items(cls, small_split):
    train, test = small_split
    kwargs = {"layers": 2} if cls is SheafRec else {}
    model = cls(embedding_dim=16, **kwargs, **{**FAST, "epochs": 20, "lr": 1e-2}).fit(train)
    rec = model.recommend(k=10)
    assert rec.shape == (train.shape[0], 10) and rec.dtype == np.int64
    seen = train.toarray() > 0
    assert not seen[np.arange(rec.shape[0])[:, None], rec].any()
    random_recall = 10 / train.shape[1]
    assert recall_at_k(rec, test) > 2 * random_recall
    losses = [h["loss"] for h in model.result_.history]
    assert losses[-1] < losses[0]
    scores = model.scores([3, 4])
    assert scores.shape == (2, train.shape[1]) and np.isfinite(scores).all()
    # the lists follow the scores: ties by lower id, seen items last
    np.testing.assert_array_equal(
        model.recommend([3], k=5, exclude_seen=False)[0],
        np.lexsort((np.arange(scores.shape[1]), -scores[0]))[:5],
    )


def test_fit_is_reproducible_and_resumes_from_a_checkpoint(tmp_path, small_split):
    train, _ = small_split
    a = LightGCN(embedding_dim=8, **FAST).fit(train, random_state=3)
    b = LightGCN(embedding_dim=8, **FAST).fit(train, random_state=3)
    np.testing.assert_array_equal(a.user_embeddings_, b.user_embeddings_)
    # a finished run in a checkpoint folder comes back as it ended (best weights included)
    LightGCN(embedding_dim=8, **FAST).fit(train, random_state=3, checkpoint_dir=tmp_path)
    assert (tmp_path / "checkpoint.pt").is_file()
    c = LightGCN(embedding_dim=8, **FAST).fit(train, random_state=3, checkpoint_dir=tmp_path)
    np.testing.assert_array_equal(c.user_embeddings_, a.user_embeddings_)
    assert c.result_.best_step == a.result_.best_step


def test_early_stopping_keeps_the_best_validation(small_split):
    train, _ = small_split
    model = LightGCN(embedding_dim=8, **{**FAST, "epochs": 60, "patience": 1, "lr": 0.05})
    model.fit(train)
    r = model.result_
    scores = [v["score"] for v in r.validations]
    assert r.best_score == max(scores)
    assert r.stopped_early and r.step < 60 * -(-int(train.nnz * 0.9) // 64) + 64


def test_cold_users_and_short_lists(small_split):
    train, _ = small_split
    r = sp.lil_array(train)
    r[0, :] = 0  # a user without interactions
    r = sp.csr_array(r)
    r.eliminate_zeros()
    model = LightGCN(embedding_dim=8, **FAST).fit(r)
    assert np.isfinite(model.scores([0])).all()
    # k above a user's unseen items: the seen ones come last, in id order
    tiny = LightGCN(embedding_dim=4, **{**FAST, "validation_fraction": 0.0}).fit(TINY)
    rec = tiny.recommend([0], k=4)
    assert set(rec[0, :2]) == {2, 3}
    np.testing.assert_array_equal(rec[0, 2:], [0, 1])


def test_rank_items_breaks_ties_by_item_id():
    users = torch.ones(2, 1)
    items = torch.tensor([[1.0], [2.0], [2.0], [1.0]])
    seen = sp.csr_array(np.array([[0, 1, 0, 0], [0, 0, 0, 0]]))
    np.testing.assert_array_equal(rank_items(users, items, seen, 4), [[2, 0, 3, 1], [1, 2, 0, 3]])


# --- errors -------------------------------------------------------------------------------


def test_bad_input_raises_clear_errors(small_split):
    train, _ = small_split
    with pytest.raises(TypeError, match="scipy\\.sparse"):
        LightGCN(**FAST).fit(train.toarray())
    bad = train.copy()
    bad.data[0] = np.nan
    with pytest.raises(ValueError, match="finite"):
        LightGCN(**FAST).fit(bad)
    with pytest.raises(ValueError, match="empty"):
        LightGCN(**FAST).fit(sp.csr_array((3, 4)))
    with pytest.raises(ValueError, match="all 4 items"):
        LightGCN(**FAST).fit(sp.csr_array(np.array([[1, 1, 1, 1], [1, 0, 0, 0.0]])))
    with pytest.raises(TypeError, match="unknown settings"):
        LightGCN(epoch=3)
    with pytest.raises(ValueError, match="validation_fraction"):
        SheafRec(validation_fraction=1.0)
    with pytest.raises(NotFittedError):
        SheafRec().recommend([0])
    model = LightGCN(embedding_dim=4, **FAST).fit(train)
    with pytest.raises(ValueError, match="k must be <="):
        model.recommend([0], k=train.shape[1] + 1)
    with pytest.raises(ValueError, match="users must be in"):
        model.recommend([train.shape[0]])
    with pytest.raises(TypeError, match="integer"):
        model.scores([0.5])
